"""Figures for reports: matplotlib (Agg), readable in print, each drawing on an ``ax`` it is given or makes.

Every ``plot_*`` function takes ``ax=None`` (a new figure is made when None) and returns the axes it drew
on; :func:`save_figure` writes a figure as PNG and SVG atomically and returns the PNG bytes, so an HTML
report can embed them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from wekawbc._io import atomic_write_bytes

__all__ = ["plot_confusion_matrix", "plot_roc_curves", "plot_pr_curves", "plot_class_metrics",
           "plot_class_distribution", "plot_image_gallery", "save_figure"]

# SVG text stays text (editable, sharp in print); a fixed hash salt keeps the SVG bytes reproducible.
_LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))
_SVG_STYLE = {"svg.fonttype": "none", "svg.hashsalt": "wekawbc"}


def _axes(ax, figsize: tuple[float, float]):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    if ax is not None:
        return ax
    # A bare Figure (not pyplot): nothing global, no window, freed with the object.
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[str], *, normalize: bool = False, ax=None,
                          title: str | None = None):
    """Confusion matrix, rows actual and columns predicted (Weka's layout); ``normalize`` divides each row
    by its total so the diagonal reads as recall."""
    matrix = np.asarray(matrix, dtype=float)
    ax = _axes(ax, (1.2 + 0.75 * len(labels), 1.0 + 0.65 * len(labels)))
    shown = matrix / np.where(matrix.sum(axis=1, keepdims=True) == 0, 1, matrix.sum(axis=1, keepdims=True)) \
        if normalize else matrix
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else max(shown.max(), 1))
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    limit = (shown.max() if shown.size else 1) / 2
    for (i, j), value in np.ndenumerate(shown):
        text = f"{value:.2f}" if normalize else (f"{value:g}" if value == int(value) else f"{value:.2f}")
        ax.text(j, i, text, ha="center", va="center", color="white" if value > limit else "black", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("actual class")
    ax.set_title(title or ("Confusion matrix (row-normalised)" if normalize else "Confusion matrix (counts)"))
    return ax


def _plot_curves(ax, result, areas: np.ndarray, points, xlabel: str, ylabel: str, title: str, legend: str):
    """One curve per class with a finite area; ``points(k)`` gives the class's (x, y)."""
    ax = _axes(ax, (4.6, 4.0))
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.grid(True, linewidth=0.4, alpha=0.5)
    for k, label in enumerate(result.labels):
        if np.isfinite(areas[k]):
            x, y = points(k)
            finite = np.isfinite(x) & np.isfinite(y)
            # Line styles as well as colours, so the classes stay apart in a grey-scale print.
            ax.plot(x[finite], y[finite], linewidth=1.3, linestyle=_LINE_STYLES[k % len(_LINE_STYLES)],
                    label=f"{label} ({areas[k]:.3f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc=legend)
    return ax


def plot_roc_curves(result, *, ax=None):
    """Weka's per-class ROC curves (one-vs-rest, pooled predictions) with Weka's ROC Area in the legend."""
    ax = _plot_curves(ax, result, result.roc_area, lambda k: result.roc_curve(k)[:2], "false positive rate",
                      "true positive rate", "ROC curves (ROC Area)", "lower right")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.6, linestyle=":")
    return ax


def plot_pr_curves(result, *, ax=None):
    """Weka's per-class precision-recall curves with Weka's PRC Area in the legend."""
    return _plot_curves(ax, result, result.prc_area, lambda k: result.pr_curve(k)[1::-1], "recall", "precision",
                        "Precision-recall curves (PRC Area)", "lower left")


def plot_class_metrics(labels: Sequence[str], values: dict[str, Sequence[float]],
                       intervals: dict[str, tuple[Sequence[float], Sequence[float]]] | None = None, *, ax=None):
    """Grouped bars of per-class statistics (e.g. recall, precision, F-measure) with optional intervals.

    ``values`` maps a statistic's name to one value per class; ``intervals`` maps it to (low, high) arrays,
    drawn as error bars (a bootstrap confidence interval, say). NaN values leave a gap.
    """
    ax = _axes(ax, (2.5 + 1.1 * len(labels), 3.4))
    width = 0.8 / max(len(values), 1)
    x = np.arange(len(labels))
    hatches = ("", "//", ".."," xx")
    for s, (name, series) in enumerate(values.items()):
        series = np.asarray(series, dtype=float)
        offset = x - 0.4 + width * (s + 0.5)
        error = None
        if intervals and name in intervals:
            low, high = (np.asarray(b, dtype=float) for b in intervals[name])
            error = np.vstack([np.clip(series - low, 0, None), np.clip(high - series, 0, None)])
            error = np.where(np.isfinite(error), error, 0)
        ax.bar(offset, np.nan_to_num(series), width, yerr=error, capsize=2, label=name, hatch=hatches[s % 4],
               edgecolor="black", linewidth=0.4, error_kw={"linewidth": 0.8})
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("value")
    ax.set_title("Per-class statistics" + (f" (error bars: {', '.join(intervals)} interval)" if intervals else ""))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(True, axis="y", linewidth=0.4, alpha=0.5)
    return ax


def plot_class_distribution(labels: Sequence[str], counts: Sequence[float], *, ax=None, title: str | None = None):
    """Bar chart of the number of instances per class, each bar labelled with its count and share."""
    counts = np.asarray(counts, dtype=float)
    ax = _axes(ax, (1.5 + 0.8 * len(labels), 3.0))
    bars = ax.bar(range(len(labels)), counts, color="#4c72b0", edgecolor="black", linewidth=0.4)
    total = counts.sum() or 1
    for bar, count in zip(bars, counts):
        ax.annotate(f"{count:g} ({count / total:.0%})", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel("instances")
    ax.set_ylim(0, counts.max() * 1.15 if counts.size and counts.max() > 0 else 1)
    ax.set_title(title or "Class distribution")
    return ax


def plot_image_gallery(images: Sequence[np.ndarray], titles: Sequence[str], *, columns: int = 6,
                       masks: Sequence[np.ndarray | None] | None = None, fig=None, title: str | None = None):
    """A grid of images (cells, say misclassified ones) with a title each; a mask's outlines are drawn over
    its image (segmentation overlay: the boundary of "mask >= v" for each non-zero value v, so a 0/128/255
    mask shows the cell and its nucleus). Returns the figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    n = len(images)
    rows = max(1, -(-n // columns))
    if fig is None:
        fig = Figure(figsize=(1.6 * columns, 1.8 * rows + 0.3), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index >= n:
            continue
        ax.imshow(images[index])
        mask = masks[index] if masks is not None else None
        if mask is not None:
            # Nested regions (0 background < cytoplasm < nucleus): outline each "at least this level".
            for n, level in enumerate(np.unique(mask[mask > 0])):
                ax.contour(mask >= level, levels=[0.5], linewidths=0.9, colors=[("cyan", "yellow", "red")[n % 3]])
        ax.set_title(titles[index], fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def save_figure(fig, stem: str | os.PathLike) -> bytes:
    """Write ``fig`` as ``<stem>.png`` (150 dpi) and ``<stem>.svg``, atomically; return the PNG bytes."""
    stem = Path(stem)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=150)
    atomic_write_bytes(stem.with_suffix(".png"), png.getvalue())
    import matplotlib

    svg = io.BytesIO()
    with matplotlib.rc_context(_SVG_STYLE):
        fig.savefig(svg, format="svg", metadata={"Date": None})
    atomic_write_bytes(stem.with_suffix(".svg"), svg.getvalue())
    return png.getvalue()

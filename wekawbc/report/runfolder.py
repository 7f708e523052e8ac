"""Run folders: everything one evaluation produced, written atomically, readable by people and machines.

A run folder holds::

    report.json        every number of the evaluation (EvaluationResult.to_dict(): summary, per class,
                       weighted and macro averages, confusion matrix, imbalance metrics), bootstrap
                       intervals, the settings, seed, data-set fingerprint, library versions, command
    report.md          the same for people (Markdown, plots linked)
    report.html        the same, self-contained (plots embedded as data URIs; opens offline)
    weka.txt           Weka's text (Weka's own when the caller passes it, else the engine's identical text)
    predictions.csv    per-instance predictions (wekawbc.predictions interchange CSV)
    train_counts.csv   per-fold training class weights, when the predictions carry them
    plots/*.png|svg    confusion matrices, ROC and PR curves, per-class bars, class distribution, galleries

Writers of runs (the Weka bridge, the CNN, the experiment runner) call :func:`write_run_folder`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from wekawbc._io import WekawbcError, atomic_write_text
from wekawbc._json import json_ready
from wekawbc.predictions import (Predictions, predicted_classes, read_predictions, write_predictions_csv,
                                 write_train_counts_csv)

__all__ = ["RUN_FORMAT", "RUN_FORMAT_VERSION", "Run", "write_run_folder", "load_run", "render_run_folder",
           "fingerprint_path", "fingerprint_predictions"]

RUN_FORMAT = "wekawbc.run"
RUN_FORMAT_VERSION = 1
_REQUIRED_EVALUATION_KEYS = ("labels", "summary", "classes", "weighted_avg", "confusion_matrix")

# What a report.json holds, for the parts wekawbc reads back (JSON Schema, checked by jsonschema): a
# tampered or damaged file is refused with one line naming the file and the field, before any use.
_NUMBER = {"type": ["number", "null"]}
_NUMBERS = {"type": "object", "additionalProperties": _NUMBER}
_TEXT = {"type": ["string", "null"]}
_INTERVAL = {"type": "object", "required": ["estimate", "low", "high"],
             "properties": {key: _NUMBER for key in ("estimate", "low", "high", "std")}}
_LABELS = {"type": "array", "items": {"type": "string"}, "minItems": 1}
RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "format_version", "evaluation", "settings", "versions", "dataset", "files"],
    "properties": {
        "title": _TEXT, "created": _TEXT, "command": _TEXT, "weka_text_source": _TEXT,
        "seed": {"type": ["integer", "null"]},
        "settings": {"type": "object"},
        "versions": {"type": "object", "additionalProperties": _TEXT},
        "dataset": {"type": "object", "properties": {
            "source": _TEXT, "fingerprint": _TEXT, "predictions_fingerprint": _TEXT,
            "n_instances": {"type": ["integer", "null"]}, "class_counts": _NUMBERS}},
        "evaluation": {"type": "object", "required": list(_REQUIRED_EVALUATION_KEYS), "properties": {
            "labels": _LABELS,
            "summary": _NUMBERS,
            "classes": {"type": "array", "items": {"type": "object",
                                                   "required": ["class", "tp_rate", "fp_rate", "precision", "recall",
                                                                "f_measure", "mcc", "roc_area", "prc_area"],
                                                   "properties": {"class": {"type": "string"}},
                                                   "additionalProperties": _NUMBER}},
            "weighted_avg": _NUMBERS, "macro_avg": _NUMBERS, "micro_f_measure": _NUMBER,
            "confusion_matrix": {"type": "object", "required": ["labels", "matrix"], "properties": {
                "labels": _LABELS, "matrix": {"type": "array", "items": {"type": "array", "items": _NUMBER}}}},
            "has_priors": {"type": "boolean"},
            "imbalance": {"type": "object", "additionalProperties": {"anyOf": [_NUMBER, _NUMBERS]}}}},
        "bootstrap": {"anyOf": [{"type": "null"}, {
            "type": "object", "required": ["n_resamples", "seed", "confidence", "method", "metrics"],
            "properties": {"n_resamples": {"type": "integer"}, "seed": {"type": ["integer", "null"]},
                           "confidence": {"type": "number"}, "method": {"type": "string"},
                           "metrics": {"type": "object", "additionalProperties": _INTERVAL,
                                       "properties": {"recall": {"type": "object",
                                                                 "additionalProperties": _INTERVAL}}}}}]},
        "files": {"type": "object", "additionalProperties": {"type": "string"},
                  "properties": {"plots": {"type": "array", "items": {"type": "string"}}}},
        "mask_paths": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def fingerprint_path(path: str | os.PathLike) -> str:
    """``sha256:<hex>`` of a data file, or of a data-set folder's index (``labels.csv``) or file listing."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    elif (path / "labels.csv").is_file():
        digest.update((path / "labels.csv").read_bytes())
    elif path.is_dir():
        for item in sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()):
            digest.update(item.encode() + b"\n")
    else:
        raise WekawbcError(f"{path}: data set not found, cannot fingerprint it")
    return "sha256:" + digest.hexdigest()


def fingerprint_predictions(predictions: Predictions) -> str:
    """``sha256:<hex>`` of what identifies the evaluated instances: labels, actual classes, weights, folds, ids."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(predictions.labels).encode())
    for array in (predictions.actual, predictions.weight, predictions.fold):
        digest.update(np.ascontiguousarray(array).tobytes())
    if predictions.ids is not None:
        digest.update("\x1f".join(predictions.ids).encode())
    return "sha256:" + digest.hexdigest()


@dataclass(frozen=True)
class Run:
    """A run folder read back: its ``report.json`` and, where present, its predictions."""

    path: Path
    report: dict[str, Any]
    predictions: Predictions | None

    @property
    def name(self) -> str:
        return str(self.report.get("title") or self.path.name)

    @property
    def evaluation(self) -> dict[str, Any]:
        return self.report["evaluation"]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.evaluation["labels"])

    def result(self):
        """The evaluation re-computed from the stored predictions (curves need it), or None without them."""
        from wekawbc.evaluation import evaluate

        return None if self.predictions is None else evaluate(self.predictions)


def _is_image(name: str) -> bool:
    return Path(name).suffix.lower() in _IMAGE_SUFFIXES and Path(name).is_file()


def write_run_folder(out_dir: str | os.PathLike, result, predictions: Predictions | None = None,
                     settings: Mapping[str, Any] | None = None, weka_text: str | None = None, *,
                     seed: int | None = None, dataset: str | os.PathLike | None = None, title: str | None = None,
                     command: str | None = None, n_bootstrap: int = 1000, plots: bool = True,
                     masks: Mapping[str, str | os.PathLike] | None = None) -> Path:
    """Write a complete run folder for one evaluation and return its path.

    Parameters
    ----------
    out_dir : path
        The folder (created if needed; files in it are replaced one by one, each atomically).
    result : EvaluationResult
        From :func:`wekawbc.evaluation.evaluate` (or a WekaRun's ``.evaluation``).
    predictions : Predictions, optional
        The predictions evaluated; default ``result.predictions``.
    settings : mapping, optional
        The run's parameters (classifier and options, split or folds, features...), JSON-able.
    weka_text : str, optional
        Weka's own output text; without it the engine's (identical) text is written.
    seed : int, optional
        The run's seed; default ``settings["seed"]``.
    dataset : path, optional
        The data set (file or folder) the run used; recorded with its fingerprint.
    title, command : str, optional
        A name for the run (default: the folder's name) and the command that made it (default: this
        process's command line).
    n_bootstrap : int
        Bootstrap resamples for the confidence intervals (0 to skip).
    plots : bool
        Draw the figures (PNG and SVG in ``plots/``, embedded in the HTML).
    masks : mapping, optional
        Image id (as in ``predictions.ids``) -> segmentation mask image (0 background, other values
        regions, as ``wekawbc extract --masks-out`` writes): adds a gallery of segmentation overlays and
        outlines the misclassified cells. Only the masks shown are recorded (``mask_paths``).
    """
    from wekawbc.provenance import command_line, library_versions
    from wekawbc.report.render import render_run_html, render_run_markdown

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    predictions = predictions if predictions is not None else result.predictions
    settings = dict(settings or {})
    seed = seed if seed is not None else settings.get("seed")
    files = {"weka_text": "weka.txt", "predictions": "predictions.csv", "markdown": "report.md", "html": "report.html"}
    text = weka_text if weka_text is not None else result.weka_text()
    atomic_write_text(out / "weka.txt", text)
    write_predictions_csv(predictions, out / "predictions.csv")
    if predictions.train_counts is not None:
        write_train_counts_csv(predictions.labels, predictions.train_counts, out / "train_counts.csv")
        files["train_counts"] = "train_counts.csv"
    counts = np.bincount(predictions.actual[predictions.actual >= 0], minlength=predictions.n_classes)
    report: dict[str, Any] = {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
        "title": title or out.resolve().name,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command or command_line(),
        "seed": seed,
        "settings": json_ready(settings),
        "dataset": {
            "source": None if dataset is None else str(dataset),
            "fingerprint": None if dataset is None else fingerprint_path(dataset),
            "predictions_fingerprint": fingerprint_predictions(predictions),
            "n_instances": predictions.n_instances,
            "class_counts": dict(zip(predictions.labels, counts.tolist())),
        },
        "versions": library_versions(),
        "weka_text_source": "weka" if weka_text is not None else "wekawbc.evaluation",
        "evaluation": result.to_dict(extras=True),
        "bootstrap": json_ready(result.bootstrap(n_resamples=n_bootstrap, seed=seed if seed is not None else 1))
        if n_bootstrap else None,
        "files": files,
    }
    if masks and predictions.ids is not None:
        report["mask_paths"] = _shown_masks(predictions, {str(k): str(v) for k, v in masks.items()})
    images = _draw_plots(out, report, result, predictions) if plots else {}
    report["files"]["plots"] = [f"plots/{name}.{ext}" for name in images for ext in ("png", "svg")]
    atomic_write_text(out / "report.json", json.dumps(report, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    atomic_write_text(out / "report.md", render_run_markdown(report, list(images), text))
    atomic_write_text(out / "report.html", render_run_html(report, images, text))
    return out


def render_run_folder(run: Run, plots: bool = True) -> Path:
    """Re-write ``report.md`` and ``report.html`` of a run folder from its data, re-drawing the figures
    (or, with ``plots=False``, embedding those already in ``plots/``).

    Curves need the stored predictions; without them the report holds the figures the numbers allow.
    """
    from wekawbc.report.render import render_run_html, render_run_markdown

    if plots:
        images = _draw_plots(run.path, run.report, run.result(), run.predictions)
    else:  # keep the figures already drawn
        images = {Path(name).stem: (run.path / name).read_bytes() for name in run.report["files"].get("plots", [])
                  if name.endswith(".png") and (run.path / name).is_file()}
    text_path = run.path / run.report["files"].get("weka_text", "weka.txt")
    text = text_path.read_text(encoding="utf-8") if text_path.is_file() else None
    atomic_write_text(run.path / "report.md", render_run_markdown(run.report, list(images), text))
    atomic_write_text(run.path / "report.html", render_run_html(run.report, images, text))
    return run.path


def _draw_plots(out: Path, report: dict[str, Any], result, predictions: Predictions | None) -> dict[str, bytes]:
    """Draw every figure the data allow; return ``{name: png bytes}`` in display order."""
    from wekawbc.report import plots

    evaluation = report["evaluation"]
    labels = evaluation["labels"]
    matrix = np.array([[np.nan if v is None else v for v in row] for row in evaluation["confusion_matrix"]["matrix"]])
    drawn: dict[str, bytes] = {}

    def keep(name: str, ax_or_fig) -> None:
        fig = getattr(ax_or_fig, "figure", ax_or_fig)
        drawn[name] = plots.save_figure(fig, out / "plots" / name)

    keep("confusion_counts", plots.plot_confusion_matrix(matrix, labels))
    keep("confusion_normalised", plots.plot_confusion_matrix(matrix, labels, normalize=True))
    if result is not None:
        keep("roc_curves", plots.plot_roc_curves(result))
        keep("pr_curves", plots.plot_pr_curves(result))
    classes = evaluation["classes"]
    values = {name: [np.nan if c[key] is None else c[key] for c in classes]
              for name, key in (("recall", "recall"), ("precision", "precision"), ("F-measure", "f_measure"))}
    intervals = None
    boot = report.get("bootstrap")
    if boot:
        recall = boot["metrics"]["recall"]
        intervals = {"recall": ([np.nan if recall[label]["low"] is None else recall[label]["low"] for label in labels],
                                [np.nan if recall[label]["high"] is None else recall[label]["high"] for label in labels])}
    keep("class_metrics", plots.plot_class_metrics(labels, values, intervals))
    counts = report["dataset"]["class_counts"]
    keep("class_distribution", plots.plot_class_distribution(labels, [counts[label] for label in labels]))
    if predictions is not None and predictions.ids is not None:
        masks = report.get("mask_paths") or {}
        for name, gallery in (("segmentation", _segmentation_gallery(predictions, masks)),
                              ("misclassified", _misclassified_gallery(predictions, masks))):
            if gallery is not None:
                keep(name, gallery)
    return drawn


def _shown_masks(predictions: Predictions, masks: dict[str, str]) -> dict[str, str]:
    """The masks of the images the galleries can show (a few per class and the misclassified ones)."""
    predicted = predicted_classes(predictions.distribution)
    keep = {predictions.ids[i] for i in np.flatnonzero((predictions.actual >= 0) & (predicted != predictions.actual))}
    keep.update(predictions.ids[i] for i in _segmentation_indices(predictions, masks))
    return {name: path for name, path in masks.items() if name in keep}


def _segmentation_indices(predictions: Predictions, masks: Mapping[str, str], per_class: int = 4) -> list[int]:
    """The first few instances of each class whose id is an image with a mask."""
    return [i for k in range(predictions.n_classes)
            for i in [j for j in np.flatnonzero(predictions.actual == k)
                      if predictions.ids[j] in masks and _is_image(predictions.ids[j])][:per_class]]


def _gallery(predictions: Predictions, indices: list[int], titles: list[str], masks: Mapping[str, str], title: str):
    from PIL import Image

    from wekawbc.cells.dataset import read_image
    from wekawbc.report.plots import plot_image_gallery

    ids = [predictions.ids[i] for i in indices]
    images = [read_image(name) for name in ids]
    overlays = []
    for name in ids:
        path = masks.get(name)
        if path is None or not Path(path).is_file():
            overlays.append(None)
            continue
        with Image.open(path) as mask:
            overlays.append(np.asarray(mask.convert("L")))
    return plot_image_gallery(images, titles, masks=overlays, title=title)


def _segmentation_gallery(predictions: Predictions, masks: Mapping[str, str]):
    """A few cells of each class with their segmentation outlines, when masks are known (else None)."""
    chosen = _segmentation_indices(predictions, masks)
    if not chosen:
        return None
    titles = [predictions.labels[predictions.actual[i]] for i in chosen]
    return _gallery(predictions, chosen, titles, masks, "Segmentation (outlines: cytoplasm and nucleus)")


def _misclassified_gallery(predictions: Predictions, masks: Mapping[str, str], limit: int = 24):
    """Misclassified cells (Weka's predicted class) when the predictions' ids are image paths (else None)."""
    predicted = predicted_classes(predictions.distribution)
    wrong = np.flatnonzero((predictions.actual >= 0) & (predicted >= 0) & (predicted != predictions.actual))
    by_class = [[i for i in wrong if predictions.actual[i] == k and _is_image(predictions.ids[i])]
                for k in range(predictions.n_classes)]
    # Taken in turn from each actual class, so a frequent class does not fill the gallery alone.
    wrong = [group[r] for r in range(max(map(len, by_class), default=0)) for group in by_class if r < len(group)][:limit]
    if not wrong:
        return None
    titles = [f"{predictions.labels[predictions.actual[i]]} → {predictions.labels[predicted[i]]}" for i in wrong]
    return _gallery(predictions, wrong, titles, masks, "Misclassified cells (actual → predicted)")


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows (undefined statistics are null)")


def _check_report(report: dict, report_path: Path) -> None:
    """Refuse a report.json that does not follow :data:`RUN_SCHEMA` or whose parts disagree."""
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(RUN_SCHEMA).iter_errors(report))
    if error is not None:
        where = "".join(f"[{p!r}]" for p in error.absolute_path) or "the document"
        raise WekawbcError(f"{report_path}: damaged run report: {where}: {' '.join(error.message.split())[:200]}")
    evaluation = report["evaluation"]
    labels = evaluation["labels"]
    matrix = evaluation["confusion_matrix"]
    problems = []
    if matrix["labels"] != labels or len(matrix["matrix"]) != len(labels) or \
            any(len(row) != len(labels) for row in matrix["matrix"]):
        problems.append("the confusion matrix is not one row and column per label")
    if [row["class"] for row in evaluation["classes"]] != labels:
        problems.append("'classes' are not the labels in order")
    if not set(labels) <= set(report["dataset"].get("class_counts", labels)):
        problems.append("'dataset.class_counts' lacks a label")
    outside = [name for name in report.get("files", {}).values() if isinstance(name, str)
               and not (report_path.parent / name).resolve().is_relative_to(report_path.parent.resolve())]
    if outside:
        problems.append(f"'files' names {outside[0]!r}, outside the run folder")
    if problems:
        raise WekawbcError(f"{report_path}: damaged run report: {'; '.join(problems)}")


def load_run(run_dir: str | os.PathLike) -> Run:
    """Read a run folder back, checking it is complete.

    Raises
    ------
    WekawbcError
        The folder or its ``report.json`` is missing or unreadable, it was written by another format or
        version, or a part of the evaluation is missing (the message names what is missing).
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise WekawbcError(f"{path}: not a run folder (no such directory)")
    report_path = path / "report.json"
    if not report_path.is_file():
        names = sorted(p.name for p in path.iterdir())
        present = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "") or "nothing"
        raise WekawbcError(f"{path}: incomplete run folder: report.json is missing (found: {present})")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise WekawbcError(f"{report_path}: cannot read: {error}") from None
    if not isinstance(report, dict) or report.get("format") != RUN_FORMAT:
        raise WekawbcError(f"{report_path}: not a wekawbc run report (field 'format' is "
                           f"{report.get('format') if isinstance(report, dict) else None!r}, expected '{RUN_FORMAT}')")
    version = report.get("format_version")
    if version != RUN_FORMAT_VERSION:
        raise WekawbcError(f"{report_path}: run format version {version!r}; this wekawbc reads version "
                           f"{RUN_FORMAT_VERSION} (re-run the evaluation or use the wekawbc that wrote it)")
    missing = [key for key in ("evaluation", "settings", "versions", "dataset") if key not in report]
    missing += [f"evaluation.{key}" for key in _REQUIRED_EVALUATION_KEYS
                if isinstance(report.get("evaluation"), dict) and key not in report["evaluation"]]
    files = report.get("files", {}) if isinstance(report.get("files"), dict) else {}
    missing += [f"{name} file {files[key]}" for key, name in (("predictions", "predictions"),
                                                               ("train_counts", "training counts"),
                                                               ("weka_text", "Weka text"))
                if isinstance(files.get(key), str) and not (path / files[key]).is_file()]
    if missing:
        raise WekawbcError(f"{path}: incomplete run folder (older wekawbc or interrupted run): missing "
                           + ", ".join(missing))
    _check_report(report, report_path)
    predictions = (read_predictions(path / files["predictions"],
                                    path / files["train_counts"] if "train_counts" in files else None)
                   if "predictions" in files else None)
    return Run(path, report, predictions)

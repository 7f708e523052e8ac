"""Markdown and self-contained HTML for one run folder's report, and for several runs side by side.

Rendering works on the JSON-able report (``report.json``'s content), so a run folder re-renders without
re-running anything. Plots are linked from Markdown (``plots/NAME.png``) and embedded in HTML as base64
data URIs; the HTML needs no network and no other file.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

import jinja2

from wekawbc._io import WekawbcError, atomic_write_text
from wekawbc.evaluation.metrics import IMBALANCE_METRICS, METRICS, class_metrics

__all__ = ["render_run_markdown", "render_run_html", "compare_runs", "render_runs_markdown", "render_runs_html",
           "markdown_code", "markdown_fence", "markdown_table", "markdown_text", "Cell", "render_html", "format_number",
           "write_report_files", "RUN_METRICS"]

_PLOT_TITLES = {
    "confusion_counts": "Confusion matrix (counts)",
    "confusion_normalised": "Confusion matrix (row-normalised: the diagonal is each class's recall)",
    "roc_curves": "ROC curves per class (one-vs-rest, Weka's ROC Area)",
    "pr_curves": "Precision-recall curves per class (Weka's PRC Area)",
    "class_metrics": "Recall, precision and F-measure per class (recall with its bootstrap interval)",
    "class_distribution": "Class distribution of the evaluated instances",
    "segmentation": "Segmentation overlays: a few cells of each class with the outlines of their masks",
    "misclassified": "Misclassified cells (actual → predicted)",
}
_WIDE_PLOTS = {"class_metrics", "segmentation", "misclassified"}
# Labels of Weka's numbers come from the metric registry (one vocabulary for every report).
_CLASS_COLUMNS = tuple((m.text_key, m.label) for m in class_metrics() if m.text_key)
_SUMMARY_ROWS = tuple((METRICS[name].text_key, METRICS[name].label) for name in (
    "correct", "pct_correct", "incorrect", "pct_incorrect", "kappa", "mean_absolute_error", "root_mean_squared_error",
    "relative_absolute_error", "root_relative_squared_error", "unclassified", "total_instances"))
_IMBALANCE_ROWS = tuple((str(m.text_key), m.label) for m in IMBALANCE_METRICS.values())

#: Metrics of the side-by-side table: (key, label, higher is better), read by :func:`_run_value`;
#: labels and directions from the metric registry.
RUN_METRICS: tuple[tuple[str, str, bool], ...] = tuple(
    (path, m.label, bool(m.higher_is_better)) for path, m in (
        ("summary.correct_pct", METRICS["pct_correct"]), ("summary.kappa", METRICS["kappa"]),
        *((f"weighted_avg.{name}", METRICS[f"weighted_{name}"]) for name in ("precision", "recall", "f_measure", "mcc",
                                                                             "roc_area", "prc_area")),
        ("macro_avg.f_measure", METRICS["unweighted_macro_f_measure"]),
        *((f"imbalance.{name}", IMBALANCE_METRICS[name]) for name in ("balanced_accuracy", "g_mean_multiclass",
                                                                      "mcc_multiclass")),
        ("summary.mean_absolute_error", METRICS["mean_absolute_error"]),
        ("summary.root_mean_squared_error", METRICS["root_mean_squared_error"])))


def format_number(value: Any, digits: int = 4) -> str:
    """A number as reports print it: ``?`` for missing/NaN (as Weka), integers without decimals."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return "?"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _count(value: Any) -> Any:
    """A weight sum printed as a whole number when it is one (instance counts)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|])")


def _one_line(value: Any) -> str:
    return " ".join(str(value).splitlines())


def markdown_text(value: Any) -> str:
    """User text (a class name, a title, a path) as inert Markdown: one line, shown as written.

    ``<``, ``>`` and ``&`` become HTML entities, so no tag reaches a renderer that passes raw HTML
    through; Markdown's emphasis, code, link and table characters are backslash-escaped.
    """
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(_one_line(value), quote=False))


def markdown_code(value: Any) -> str:
    """User text as one inline code span, fenced by more backticks than it holds (CommonMark)."""
    text = _one_line(value)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_fence(text: str) -> str:
    """A fenced code block holding ``text`` verbatim, its fence longer than any backtick run inside."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence}\n{text}{'' if text.endswith(chr(10)) else chr(10)}{fence}\n"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, raw_cells: bool = False) -> str:
    """A Markdown table; text cells are escaped (:func:`markdown_text`) unless ``raw_cells`` (cells the
    caller built as Markdown, escaping the user text in them)."""
    def cell(value: Any) -> str:
        if not isinstance(value, str):
            return format_number(value)
        return _one_line(value) if raw_cells else markdown_text(value)

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Cell:
    """A table cell that carries presentation: its text, a CSS class (``best``: highlighted), bold, and a
    tooltip (``title``) that explains it."""

    text: str
    css: str = ""
    bold: bool = False
    title: str = ""


def _as_cell(value: Any) -> Cell:
    """A plain value as a cell: numbers right-aligned (the decimal points line up), words left."""
    if isinstance(value, Cell):
        return value
    text = value if isinstance(value, str) else format_number(value)
    plain = text.strip().rstrip("%").replace("\u2212", "-")
    try:
        float(plain)
    except ValueError:
        return Cell(text, "" if plain in ("?", "") else "t")
    return Cell(text)


@functools.cache
def _templates() -> jinja2.Environment:
    # Autoescaping on: every value a template shows is user text (class names, titles, commands).
    environment = jinja2.Environment(loader=jinja2.PackageLoader("wekawbc.report", "templates"), autoescape=True,
                                     trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["as_cell"] = _as_cell
    return environment


def render_html(template: str, **context: Any) -> str:
    """A page of ``wekawbc/report/templates`` rendered with ``context`` (every value escaped)."""
    return _templates().get_template(template).render(**context)


def _summary_rows(evaluation: Mapping[str, Any]) -> list[list[Any]]:
    summary = evaluation["summary"]
    counts = {"correct", "incorrect", "unclassified", "total_instances"}
    return [[label, _count(summary[key]) if key in counts else summary[key]] for key, label in _SUMMARY_ROWS
            if key in summary and summary[key] is not None and not (key == "unclassified" and not summary[key])]


def _class_rows(evaluation: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    imbalance = evaluation.get("imbalance") or {}
    extra = [(name, title) for name, title in (("specificity", "Specificity"), ("g_mean", "G-mean"))
             if isinstance(imbalance.get(name), dict)]
    header = ["Class", *(title for _, title in _CLASS_COLUMNS), *(title for _, title in extra)]
    rows = [[row["class"], *(row[key] for key, _ in _CLASS_COLUMNS),
             *(imbalance[name].get(row["class"]) for name, _ in extra)] for row in evaluation["classes"]]
    weighted = evaluation["weighted_avg"]
    rows.append(["Weighted Avg.", *(weighted.get(key) for key, _ in _CLASS_COLUMNS), *("" for _ in extra)])
    return header, rows


def _matrix_rows(evaluation: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    labels = evaluation["confusion_matrix"]["labels"]
    matrix = evaluation["confusion_matrix"]["matrix"]
    header = ["actual \\ predicted", *labels, "Total"]
    rows = [[label, *map(_count, row), _count(sum(v or 0 for v in row))] for label, row in zip(labels, matrix)]
    rows.append(["Total", *(_count(sum(row[j] or 0 for row in matrix)) for j in range(len(labels))),
                 _count(sum(v or 0 for row in matrix for v in row))])
    return header, rows


def _imbalance_rows(evaluation: Mapping[str, Any]) -> list[list[Any]]:
    imbalance = evaluation.get("imbalance") or {}
    return [[label, imbalance[key]] for key, label in _IMBALANCE_ROWS if key in imbalance]


def _bootstrap_rows(report: Mapping[str, Any]) -> tuple[str, list[list[Any]]]:
    boot = report.get("bootstrap")
    if not boot:
        return "", []
    metrics = boot["metrics"]
    rows = [[name, m["estimate"], m["low"], m["high"]] for name, m in metrics.items() if "estimate" in m]
    rows += [[f"recall {label}", m["estimate"], m["low"], m["high"]] for label, m in metrics.get("recall", {}).items()]
    caption = (f"{boot['confidence']:.0%} intervals, {boot['n_resamples']} resamples, seed {boot['seed']} "
               f"({boot['method']})")
    return caption, rows


def _provenance_rows(report: Mapping[str, Any]) -> list[list[Any]]:
    dataset = report.get("dataset", {})
    rows = [["Title", report.get("title", "")], ["Created (UTC)", report.get("created", "")],
            ["Command", report.get("command", "")], ["Seed", str(report.get("seed"))],
            ["Data set", str(dataset.get("source"))], ["Data-set fingerprint", str(dataset.get("fingerprint"))],
            ["Predictions fingerprint", str(dataset.get("predictions_fingerprint"))],
            ["Instances", str(dataset.get("n_instances"))],
            ["Weka text from", report.get("weka_text_source", "")]]
    rows += [[f"setting: {key}", json.dumps(value) if not isinstance(value, str) else value]
             for key, value in report.get("settings", {}).items()]
    return rows


def _version_rows(report: Mapping[str, Any]) -> list[list[str]]:
    return [[name, str(version)] for name, version in report.get("versions", {}).items()]


def _sections(report: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[Any]], str]]:
    """(title, header, rows, caption) of every table of a run report, in display order."""
    evaluation = report["evaluation"]
    class_header, class_rows = _class_rows(evaluation)
    matrix_header, matrix_rows = _matrix_rows(evaluation)
    boot_caption, boot_rows = _bootstrap_rows(report)
    sections = [("Summary (as Weka prints it)", ["Statistic", "Value"], _summary_rows(evaluation), ""),
                ("Detailed accuracy by class", class_header, class_rows, ""),
                ("Confusion matrix", matrix_header, matrix_rows, "rows: actual class; columns: predicted class")]
    if _imbalance_rows(evaluation):
        sections.append(("Metrics for imbalanced data", ["Metric", "Value"], _imbalance_rows(evaluation), ""))
    if boot_rows:
        sections.append(("Bootstrap confidence intervals", ["Metric", "Estimate", "Low", "High"], boot_rows,
                         boot_caption))
    sections.append(("Run, data and settings", ["Item", "Value"], _provenance_rows(report), ""))
    sections.append(("Software versions", ["Software", "Version"], _version_rows(report), ""))
    return sections


def render_run_markdown(report: Mapping[str, Any], plot_names: Sequence[str] = (), weka_text: str | None = None) -> str:
    """The run report in Markdown; plots are linked as ``plots/<name>.png`` (SVG beside them)."""
    versions = report.get("versions", {})
    lines = [f"# {markdown_text(report.get('title', 'wekawbc run'))}\n",
             f"Reproduce with: {markdown_code(report.get('command', ''))} (seed {markdown_text(report.get('seed'))}); "
             f"wekawbc {markdown_text(versions.get('wekawbc', '?'))}, Weka {markdown_text(versions.get('weka', '?'))}, "
             f"Python {markdown_text(versions.get('python', '?'))}"
             + (f", torch {markdown_text(versions['torch'])}" if "torch" in versions else "") + ".\n"]
    for title, header, rows, caption in _sections(report):
        lines.append(f"## {title}\n")
        if caption:
            lines.append(f"{markdown_text(caption)}\n")
        lines.append(markdown_table(header, rows))
    if plot_names:
        lines.append("## Figures\n")
        for name in plot_names:
            lines.append(f"![{_PLOT_TITLES.get(name, name)}](plots/{name}.png)  \n"
                         f"*{_PLOT_TITLES.get(name, name)}* ([SVG](plots/{name}.svg))\n")
    lines.append("## Weka output\n")
    weka_file = str(report.get("files", {}).get("weka_text", "weka.txt"))
    lines.append(f"See [{markdown_text(weka_file)}](<{quote(weka_file)}>).\n" if weka_text is None
                 else markdown_fence(weka_text))
    return "\n".join(lines)


def render_run_html(report: Mapping[str, Any], images: Mapping[str, bytes], weka_text: str | None = None) -> str:
    """The run report as one self-contained HTML page; ``images`` maps plot names to PNG bytes."""
    sections = [{"title": title, "header": header, "rows": rows, "caption": caption or None}
                for title, header, rows, caption in _sections(report)]
    figures = [{"name": name, "title": _PLOT_TITLES.get(name, name), "wide": name in _WIDE_PLOTS,
                "data": base64.b64encode(png).decode("ascii")} for name, png in images.items()]
    return render_html("run.html.j2", title=str(report.get("title", "wekawbc run")), command=report.get("command", ""),
                       seed=report.get("seed"), versions=report.get("versions", {}), sections=sections,
                       figures=figures, weka_text=weka_text)


def _run_value(evaluation: Mapping[str, Any], key: str) -> float | None:
    node: Any = evaluation
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, (int, float)) and not isinstance(node, bool) else None


def compare_runs(runs: Sequence) -> dict[str, Any]:
    """Several runs side by side: ``{"runs": [...], "labels": [...], "rows": [{"metric", "values", "best"}]}``.

    Runs must be on the same class set (any order). ``best`` holds the indices of the best run(s) per
    metric (highest, or lowest for errors).

    Raises
    ------
    WekawbcError
        When the runs' class sets differ (naming the runs and their classes).
    """
    if not runs:
        raise WekawbcError("no runs to compare")
    first = runs[0]
    for run in runs[1:]:
        if set(run.labels) != set(first.labels):
            raise WekawbcError(f"cannot compare runs on different class sets: {first.path} has "
                               f"{', '.join(first.labels)}; {run.path} has {', '.join(run.labels)}")
    labels = first.labels
    rows = []
    metrics = list(RUN_METRICS)
    for label in labels:
        metrics += [(f"class:{label}:recall", f"Recall {label}", True), (f"class:{label}:f_measure", f"F-measure {label}", True)]
    for key, name, higher in metrics:
        values = []
        for run in runs:
            if key.startswith("class:"):
                label, stat = key[len("class:"):].rsplit(":", 1)  # a label may hold ':'
                row = next(c for c in run.evaluation["classes"] if c["class"] == label)
                values.append(row.get(stat))
            else:
                values.append(_run_value(run.evaluation, key))
        known = [v for v in values if v is not None and not math.isnan(v)]
        target = (max if higher else min)(known) if known else None
        best = [i for i, v in enumerate(values) if target is not None and v is not None and math.isclose(v, target)]
        rows.append({"metric": name, "key": key, "higher_is_better": higher, "values": values,
                     "best": best if len(known) > 1 else []})
    return {"runs": [{"name": run.name, "path": str(run.path), "command": run.report.get("command"),
                      "settings": run.report.get("settings"), "seed": run.report.get("seed")} for run in runs],
            "labels": list(labels), "rows": rows}


def render_runs_markdown(table: Mapping[str, Any]) -> str:
    """The side-by-side table in Markdown, best value(s) per metric in bold."""
    header = ["Metric", *(markdown_text(run["name"]) for run in table["runs"])]
    rows = [[markdown_text(row["metric"]), *(f"**{format_number(v)}**" if i in row["best"] else format_number(v)
                                             for i, v in enumerate(row["values"]))] for row in table["rows"]]
    runs = "\n".join(f"- **{markdown_text(run['name'])}**: {markdown_code(run['path'])}, seed "
                     f"{markdown_text(run['seed'])}, command {markdown_code(run['command'])}" for run in table["runs"])
    return (f"# Runs compared\n\nClasses: {markdown_text(', '.join(table['labels']))}. Best value per metric in bold "
            f"(lowest for errors).\n\n{markdown_table(header, rows, raw_cells=True)}\n{runs}\n")


def render_runs_html(table: Mapping[str, Any]) -> str:
    """The side-by-side table as a self-contained HTML page, best value(s) per metric highlighted."""
    header = ["Metric", *(run["name"] for run in table["runs"])]
    rows = [[row["metric"], *(Cell(format_number(v), "best") if i in row["best"] else v
                              for i, v in enumerate(row["values"]))] for row in table["rows"]]
    runs = [{"label": run["name"], "path": run["path"], "seed": run["seed"], "command": run["command"]}
            for run in table["runs"]]
    return render_html("runs.html.j2", title="Runs compared", labels=table["labels"], header=header, rows=rows,
                       runs=runs)


def write_report_files(stem: str | os.PathLike, markdown: str, page: str, data: Mapping[str, Any]) -> Path:
    """Write one table as ``<stem>.md``, ``<stem>.html`` and ``<stem>.json`` (each atomically); the HTML's path."""
    stem = Path(stem)
    atomic_write_text(stem.parent / f"{stem.name}.md", markdown)
    atomic_write_text(stem.parent / f"{stem.name}.html", page)
    atomic_write_text(stem.parent / f"{stem.name}.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return stem.parent / f"{stem.name}.html"

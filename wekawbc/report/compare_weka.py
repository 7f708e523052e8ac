"""A published Weka output beside run folders: ``wekawbc compare WEKA_OUTPUT.txt RUN_DIR ...``.

One evaluation block of the Weka text (by default the last one with a summary: the cross-validation or
test-set block after the training error) is set beside each run's ``report.json``, metric by metric:
every summary line both have, every class-details cell and weighted average, and the confusion matrix
as row shares (a run and the text may differ in size). Classes are matched by name as
:func:`wekawbc.report.compare.canonical_label` spells them. The table has the shape of
:func:`wekawbc.report.compare.compare_with_paper`'s, so it renders through the same Markdown and HTML.
"""

from __future__ import annotations

from typing import Any, Sequence

from wekawbc._io import WekawbcError
from wekawbc.evaluation._text import DETAIL_COLUMNS
from wekawbc.evaluation.metrics import METRICS
from wekawbc.report.compare import canonical_label, run_entries, run_matrix
from wekawbc.report.runfolder import Run

__all__ = ["choose_block", "compare_with_weka_text"]

# (text key, percent): the summary lines both a Weka text and a run have, and the class-details
# columns (Weka's); keys and labels from the metric registry.
_SUMMARY = tuple((str(m.text_key), m.unit == "percent") for m in (METRICS[name] for name in (
    "pct_correct", "kappa", "mean_absolute_error", "root_mean_squared_error", "relative_absolute_error",
    "root_relative_squared_error", "total_instances")))
_COLUMNS = tuple(key for key, _, _ in DETAIL_COLUMNS)
_LABELS = {metric.text_key: metric.label for metric in METRICS.values() if metric.text_key and metric.scope != "weighted"}


def choose_block(parsed: dict[str, Any], number: int | None, source: str) -> tuple[int, dict[str, Any]]:
    """The evaluation block to compare: ``number`` (1-based) or the last block with a summary."""
    blocks = parsed["evaluations"]
    if number is not None:
        if not 1 <= number <= len(blocks):
            raise WekawbcError(f"{source}: no evaluation #{number} (the text has {len(blocks)})")
        return number, blocks[number - 1]
    candidates = [i for i, block in enumerate(blocks, start=1) if block["summary"] is not None]
    if not candidates:
        raise WekawbcError(f"{source}: no evaluation with a summary to compare (use --block N)")
    return candidates[-1], blocks[candidates[-1] - 1]


def _label_map(block: dict[str, Any], run: Run, source: str) -> dict[str, str]:
    labels = [row["class"] for row in block["classes"] or []] or (block["confusion_matrix"] or {}).get("labels", [])
    by_name = {canonical_label(label): label for label in run.labels}
    mapping = {label: by_name.get(canonical_label(label)) for label in labels}
    if any(v is None for v in mapping.values()) or len(mapping) != len(run.labels):
        raise WekawbcError(f"{run.path}: the run's classes ({', '.join(run.labels)}) are not those of {source} "
                           f"({', '.join(labels)})")
    return mapping  # type: ignore[return-value]


def _fraction(value: float | None, percent: bool) -> float | None:
    return None if value is None else value / 100 if percent else float(value)


def _row_share(matrix: dict[str, Any], actual: str, predicted: str) -> float | None:
    labels = matrix["labels"]
    row = matrix["matrix"][labels.index(actual)]
    if any(v is None for v in row) or not sum(row):
        return None
    return row[labels.index(predicted)] / sum(row)


def compare_with_weka_text(block: dict[str, Any], number: int, source: str, runs: Sequence[Run]) -> dict[str, Any]:
    """Rows of the Weka text's values beside each run's (percentages as fractions), as ``compare_with_paper``."""
    if not runs:
        raise WekawbcError("no runs to compare")
    if block["class_type"] == "numeric":
        raise WekawbcError(f"{source}: evaluation #{number} is of a numeric class; runs are classifications")
    maps = [_label_map(block, run, source) for run in runs]
    title = f"#{number} {block['title'] or '(untitled)'}"
    rows: list[dict[str, Any]] = []

    def add(quantity: str, published: float | None, printed: str, values: list[float | None], note: str = "",
            unit: str = "fraction") -> None:
        if published is None and all(v is None for v in values):
            return
        rows.append({"table": title, "id": f"{title}:{quantity}", "task": "weka", "quantity": quantity,
                     "reading": "Weka's own", "primary": True, "published": printed, "published_value": published,
                     "values": values, "differences": [None if v is None or published is None else v - published
                                                       for v in values], "unit": unit, "note": note})

    summary = block["summary"] or {}
    for key, percent in _SUMMARY:
        if key in summary:
            add(_LABELS[key], _fraction(summary[key], percent), _printed(summary[key]) + (" %" if percent else ""),
                [_fraction(run.evaluation["summary"].get(key), percent) for run in runs],
                unit="percent" if percent else "count" if key == "total_instances" else "fraction")
    for row in block["classes"] or []:
        for key in _COLUMNS:
            name = _LABELS[key]
            if key in row:
                values = []
                for run, mapping in zip(runs, maps):
                    run_row = next(r for r in run.evaluation["classes"] if r["class"] == mapping[row["class"]])
                    values.append(run_row.get(key))
                add(f"{row['class']} {name}", row[key], _printed(row[key]), values)
    for key in _COLUMNS:
        if key in (block["weighted_avg"] or {}):
            add(f"Weighted Avg. {_LABELS[key]}", block["weighted_avg"][key], _printed(block["weighted_avg"][key]),
                [run.evaluation["weighted_avg"].get(key) for run in runs])
    matrix = block["confusion_matrix"]
    if matrix and len(matrix["matrix"]) == len(matrix["labels"]):
        for actual in matrix["labels"]:
            for predicted in matrix["labels"]:
                add(f"{actual} → {predicted}", _row_share(matrix, actual, predicted),
                    _printed(matrix["matrix"][matrix["labels"].index(actual)][matrix["labels"].index(predicted)]),
                    [_row_share(run.evaluation["confusion_matrix"], mapping[actual], mapping[predicted])
                     for run, mapping in zip(runs, maps)], "share of the actual class's row", unit="percent")
    matrices = None
    if matrix and len(matrix["matrix"]) == len(matrix["labels"]):
        matrices = {"labels": list(matrix["labels"]), "published": {"title": f"{source} {title}",
                                                                    "counts": matrix["matrix"]},
                    "runs": [run_matrix(run, [mapping[label] for label in matrix["labels"]])
                             for run, mapping in zip(runs, maps)]}
    return {"paper": f"{source} {title}", "task": "weka", "rows": rows, "runs": run_entries(runs),
            "matrices": matrices}


def _printed(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"

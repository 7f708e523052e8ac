"""Weka's three text blocks rendered from plain numbers (shared by the engine and the parser).

Each renderer takes the numbers as the parser returns them (``None`` for Weka's ``?``/NaN), so a
parsed block renders back to the text it came from, and the engine renders through the same code.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from wekawbc.evaluation._format import double_to_string, java_fixed, num_to_short_id
from wekawbc.evaluation.metrics import METRICS, class_metrics

__all__ = ["SUMMARY_LINES", "DETAIL_COLUMNS", "COVERAGE_LEVEL", "render_summary", "render_class_details", "render_matrix"]

# Weka's summary lines (Evaluation.toSummaryString), in its order: (kind, label width, metric names).
# The label and the keys come from the metric registry; the layout (kind, padding) is Weka's. Kinds:
#   "pair": value and percentage; "value": one value; "pct": one value + " %";
#   "bits": total bits and bits/instance; "coverage": level, then a percentage.
_SUMMARY_LAYOUT: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("pair", 35, ("correct", "pct_correct")),
    ("pair", 35, ("incorrect", "pct_incorrect")),
    ("value", 35, ("kappa",)),
    ("value", 35, ("total_cost",)),
    ("value", 35, ("avg_cost",)),
    ("pct", 35, ("kb_relative_information",)),
    ("bits", 35, ("kb_information", "kb_mean_information")),
    ("value", 35, ("correlation_coefficient",)),
    ("bits", 35, ("prior_entropy", "mean_prior_entropy")),
    ("bits", 35, ("scheme_entropy", "mean_scheme_entropy")),
    ("bits", 35, ("entropy_gain", "mean_entropy_gain")),
    ("value", 35, ("mean_absolute_error",)),
    ("value", 35, ("root_mean_squared_error",)),
    ("pct", 35, ("relative_absolute_error",)),
    ("pct", 35, ("root_relative_squared_error",)),
    ("coverage", 35, ("coverage_of_test_cases_by_predicted_regions",)),
    ("coverage", 35, ("size_of_predicted_regions",)),
    ("pair", 35, ("unclassified", "pct_unclassified")),
    ("value", 35, ("total_instances",)),
    ("value", 43, ("ignored_class_unknown",)),
)
#: The coverage lines' first key: the level (Weka's ``-x`` confidence level), a parameter, not a metric.
COVERAGE_LEVEL = "coverage_level"


def _summary_line(kind: str, width: int, names: tuple[str, ...]) -> tuple[str, str, tuple[str, ...]]:
    text = str(METRICS[names[0]].weka_text)
    keys = tuple(str(METRICS[name].text_key) for name in names)
    if kind == "coverage":
        # the padding is counted on the line as printed at Weka's 0.95 level
        return kind, text + " " * (width - len(text.format(level="0.95"))), (COVERAGE_LEVEL, *keys)
    return kind, text.ljust(width), keys


#: (kind, label as printed, keys) of every summary line, in Weka's order.
SUMMARY_LINES: tuple[tuple[str, str, tuple[str, ...]], ...] = tuple(
    _summary_line(*line) for line in _SUMMARY_LAYOUT)

# Widths of the class-details columns (Evaluation.toClassDetailsString), in the registry's column order.
_DETAIL_WIDTHS = {"tp_rate": 9, "fp_rate": 9, "precision": 11, "recall": 9, "f_measure": 11, "mcc": 9,
                  "roc_area": 10, "prc_area": 10}
#: (key, header as printed, width) of the class-details table's columns.
DETAIL_COLUMNS: tuple[tuple[str, str, int], ...] = tuple(
    (str(m.text_key), str(m.weka_text).ljust(_DETAIL_WIDTHS[m.name]), _DETAIL_WIDTHS[m.name])
    for m in class_metrics() if m.text_key)
_INDENT = " " * 17


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _dts(value: float | None) -> str:
    return double_to_string(_num(value), 12, 4)


def render_summary(summary: Mapping[str, float | None], title: str = "=== Summary ===\n") -> str:
    """``toSummaryString(title, ...)``: the lines whose keys are present in ``summary``, in Weka's order.

    The line for a key is printed when the key is present (``None`` prints as Weka's ``NaN``); which
    lines Weka shows (priors, unclassified > 0, complexity) is the caller's decision.
    """
    lines = [title, "\n"]
    for kind, label, keys in SUMMARY_LINES:
        if keys[-1] not in summary:
            continue
        if kind == "pair":
            lines.append(f"{label}{_dts(summary[keys[0]])}     {_dts(summary[keys[1]])} %\n")
        elif kind == "value":
            lines.append(f"{label}{_dts(summary[keys[0]])}\n")
        elif kind == "pct":
            lines.append(f"{label}{_dts(summary[keys[0]])} %\n")
        elif kind == "bits":
            lines.append(f"{label}{_dts(summary[keys[0]])} bits{_dts(summary[keys[1]])} bits/instance\n")
        else:
            level = double_to_string(_num(summary[keys[0]]), 4, 2)
            lines.append(f"{label.format(level=level)}{_dts(summary[keys[1]])} %\n")
    return "".join(lines)


def _detail_cells(row: Mapping[str, float | None], columns: Sequence[str] | None = None) -> str:
    cells = []
    for key, _, width in DETAIL_COLUMNS:
        if columns is not None and key not in columns:
            continue
        value = row[key]
        if value is None or math.isnan(value):
            cells.append("?".ljust(width))
        else:
            cells.append(java_fixed(value, 3, width))
    return "".join(cells)


def render_class_details(classes: Sequence[Mapping[str, float | None]], weighted: Mapping[str, float | None],
                         title: str = "=== Detailed Accuracy By Class ===\n",
                         columns: Sequence[str] | None = None) -> str:
    """``toClassDetailsString(title)``: one row per class (``row["class"]`` names it) and the weighted row.

    ``columns`` (keys of :data:`DETAIL_COLUMNS`) keeps only those columns, as Weka's ``-toggle`` does.
    """
    header = "".join(name for key, name, _ in DETAIL_COLUMNS if columns is None or key in columns)
    lines = [f"{title}\n{_INDENT}{header}Class\n"]
    for row in classes:
        lines.append(f"{_INDENT}{_detail_cells(row, columns)}{row['class']}\n")
    lines.append(f"Weighted Avg.    {_detail_cells(weighted, columns)}\n")
    return "".join(lines)


def _java_int(value: float) -> int:
    # Java's (int) cast: NaN -> 0, saturating at the int range, truncation toward zero.
    if math.isnan(value):
        return 0
    if math.isinf(value):
        return 2**31 - 1 if value > 0 else -(2**31)
    return int(value)


def _java_log(value: float) -> float:
    if value > 0:
        return math.log(value)
    return -math.inf if value == 0 else math.nan


def _matrix_layout(matrix: Sequence[Sequence[float]]) -> tuple[int, bool]:
    """Weka's cell width and whether the matrix prints with two decimals (``toMatrixString``)."""
    n_classes = len(matrix)
    maxval = 0.0
    fractional = False
    for row in matrix:
        for cell in row:
            current = float(cell)
            if current < 0:
                current *= -10
            if current > maxval:
                maxval = current
            # Java: log(fract)/log(10) >= -2 is false for fract <= 0 (NaN or -inf).
            fract = current - _rint(current)
            if not fractional and fract > 0 and math.log(fract) / math.log(10) >= -2:
                fractional = True
    magnitude = _java_int(_java_log(maxval) / math.log(10) + (3 if fractional else 0))
    letters = _java_int(_java_log(n_classes) / math.log(26))
    return 1 + max(magnitude, letters), fractional


def _rint(value: float) -> float:
    """Java's ``Math.rint`` (round half to even)."""
    if math.isnan(value) or math.isinf(value):
        return value
    return float(round(value))


def render_matrix(labels: Sequence[str], matrix: Sequence[Sequence[float]],
                  title: str = "=== Confusion Matrix ===\n") -> str:
    """``toMatrixString(title)``: letter header, then one row per actual class (columns = predicted)."""
    width, fractional = _matrix_layout(matrix)
    parts = [title, "\n"]
    for i in range(len(labels)):
        parts.append(f" {num_to_short_id(i, width - 3)}   " if fractional else f" {num_to_short_id(i, width)}")
    parts.append("   <-- classified as\n")
    digits = 2 if fractional else 0
    for i, label in enumerate(labels):
        parts.extend(f" {double_to_string(float(cell), width, digits)}" for cell in matrix[i])
        parts.append(f" | {num_to_short_id(i, width)} = {label}\n")
    return "".join(parts)

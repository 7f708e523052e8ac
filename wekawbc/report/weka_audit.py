"""Audit of a Weka evaluation text against itself: ``wekawbc audit WEKA_OUTPUT.txt``.

Every number the confusion matrix determines is recomputed from it by the evaluation engine (one
instance per matrix cell, weighted by the cell's count) and compared with the printed one: the
summary's counts, percentages, kappa and total, and every class-details cell up to MCC with the
weighted averages. Numbers that need the classifier's scores are checked where the text allows: the
weighted ROC and PRC areas against the per-class ones (weighted by the matrix's class counts), the
average cost against the total cost, the K&B and complexity lines against each other (per-instance =
total / N, relative score = K&B information / order-0 bits, improvement = order 0 - scheme), and printed
predictions against the matrix and their own error flags. The rest (MAE, RMSE, relative errors,
correlation, coverage, a lone class's ROC/PRC) is listed as not checkable.

A printed value agrees when it lies within half a unit of its last printed decimal (4 in the summary,
3 in the class details) of the recomputed value, widened by how far the recomputed value can move
when the matrix's own cells (printed with 2 decimals when fractional) move within their rounding.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from wekawbc.evaluation._text import DETAIL_COLUMNS, SUMMARY_LINES
from wekawbc.papers.audit import Finding

__all__ = ["audit_weka_text"]

SUMMARY_HALF = 0.5e-4
DETAILS_HALF = 0.5e-3
_MATRIX_KEYS = ("correct", "correct_pct", "incorrect", "incorrect_pct", "kappa", "total_instances")
_CLASS_KEYS = ("tp_rate", "fp_rate", "precision", "recall", "f_measure", "mcc")
# How findings name a summary number: Weka's label of its line (from the metric registry), with the
# unit where the line prints two numbers ("Correctly Classified Instances %", "... bits/instance").
_SUFFIXES = {"pair": ("", " %"), "bits": (" bits", " bits/instance")}
_SUMMARY_NAMES = {key: " ".join(label.split()) + _SUFFIXES.get(kind, ("", ""))[i]
                  for kind, label, keys in SUMMARY_LINES if kind != "coverage" for i, key in enumerate(keys)}
_NOT_CHECKABLE = ("mean_absolute_error", "root_mean_squared_error", "relative_absolute_error_pct",
                  "root_relative_squared_error_pct", "correlation_coefficient", "coverage_pct", "mean_region_size_pct")
_COLUMN_NAMES = {key: header.strip() for key, header, _ in DETAIL_COLUMNS}


def _matrix_values(labels: list[str], matrix: np.ndarray, total: float) -> dict[tuple, float]:
    """Everything the matrix determines, keyed ('summary', key) / ('class', i, key) / ('weighted', key)."""
    from wekawbc.evaluation import evaluate
    from wekawbc.predictions import Predictions

    cells = [(i, j) for i, j in np.ndindex(matrix.shape) if matrix[i, j] > 0]
    k = len(labels)
    actual = np.array([i for i, _ in cells], dtype=np.int64)
    distribution = np.eye(k)[np.array([j for _, j in cells], dtype=np.int64)] if cells else np.zeros((0, k))
    result = evaluate(Predictions(tuple(labels), actual, distribution, np.array([matrix[c] for c in cells], dtype=float)))
    correct = float(np.trace(matrix))
    incorrect = float(matrix.sum()) - correct
    values: dict[tuple, float] = {
        ("summary", "correct"): correct, ("summary", "incorrect"): incorrect,
        ("summary", "correct_pct"): 100 * correct / total if total else math.nan,
        ("summary", "incorrect_pct"): 100 * incorrect / total if total else math.nan,
        ("summary", "kappa"): float(result.kappa),
    }
    for i in range(k):
        for key in _CLASS_KEYS:
            values[("class", i, key)] = float(getattr(result, key)[i])
    for key in _CLASS_KEYS:
        values[("weighted", key)] = float(result.weighted[key])
    return values


def _with_rounding(labels: list[str], matrix: np.ndarray, total: float) -> tuple[dict, dict]:
    """The matrix's values and, for a fractional matrix, how far each moves within the cells' rounding."""
    values = _matrix_values(labels, matrix, total)
    spread = dict.fromkeys(values, 0.0)
    if np.all(matrix == np.round(matrix)):
        return values, spread
    step = 0.005  # the cells are printed with two decimals
    for cell in np.ndindex(matrix.shape):
        moved = matrix.copy()
        moved[cell] += step
        other = _matrix_values(labels, moved, total + step)
        for key, value in other.items():
            if not (math.isnan(value) or math.isnan(values[key])):
                spread[key] += abs(value - values[key])
    return values, spread


class _BlockAudit:
    def __init__(self, block: dict[str, Any], number: int) -> None:
        self.block = block
        self.table = f"#{number} {block['title'] or '(untitled)'} (line {block['line']})"
        self.findings: list[Finding] = []

    def add(self, quantity: str, published: float | None, recomputed: float | None, half: float,
            note: str = "", spread: float = 0.0) -> None:
        ident = f"{self.table}:{quantity}"
        if published is None or recomputed is None or math.isnan(recomputed):
            both_missing = published is None and (recomputed is None or math.isnan(recomputed))
            self.findings.append(Finding(ident, "recompute", self.table, quantity, _text(published),
                                         None if recomputed is None or math.isnan(recomputed) else recomputed,
                                         True if both_missing else False,
                                         note or ("both undefined" if both_missing else "one side undefined (?)")))
            return
        recomputed = float(recomputed)
        consistent = bool(abs(published - recomputed) <= half * (1 + 1e-9) + spread + 1e-12)
        self.findings.append(Finding(ident, "recompute", self.table, quantity, _text(published), recomputed,
                                     consistent, note))

    def not_checkable(self, quantity: str, published: float | None, why: str) -> None:
        self.findings.append(Finding(f"{self.table}:{quantity}", "none", self.table, quantity, _text(published),
                                     None, None, why))

    def run(self) -> list[Finding]:
        block = self.block
        summary = block["summary"] or {}
        matrix_part = block["confusion_matrix"]
        matrix = None
        if matrix_part and matrix_part["matrix"] and len(matrix_part["matrix"]) == len(matrix_part["labels"]) and \
                all(len(row) == len(matrix_part["labels"]) and None not in row for row in matrix_part["matrix"]):
            matrix = np.array(matrix_part["matrix"], dtype=float)
        self._summary_relations(summary)
        if matrix is not None:
            self._from_matrix(summary, matrix_part["labels"], matrix)
        else:
            for key in _MATRIX_KEYS:
                if summary.get(key) is not None:
                    self.not_checkable(_SUMMARY_NAMES[key], summary[key], "no complete confusion matrix printed")
        self._area_averages(matrix)
        self._predictions(matrix)
        for key in _NOT_CHECKABLE:
            if key in summary:
                self.not_checkable(key.replace("_", " "), summary[key], "needs the classifier's scores")
        return self.findings

    def _summary_relations(self, summary: dict[str, Any]) -> None:
        n = summary.get("total_instances")
        known = (n or 0) - (summary.get("unclassified") or 0)
        if summary.get("unclassified") is not None and n:
            self.add(_SUMMARY_NAMES["unclassified_pct"], summary.get("unclassified_pct"),
                     100 * summary["unclassified"] / n, SUMMARY_HALF, "UnClassified / Total")
        relations: list[tuple[str, Callable[[], float], float, str]] = [
            ("average_cost", lambda: summary["total_cost"] / known, 0.5 / known if known else 0, "Total Cost / N"),
            ("kb_information_bits_per_instance", lambda: summary["kb_information_bits"] / known,
             SUMMARY_HALF / known if known else 0, "K&B Information bits / N"),
            ("kb_relative_info_score_pct",
             lambda: 100 * summary["kb_information_bits"] / summary["class_complexity_order0_bits"],
             _ratio_spread(summary.get("kb_information_bits"), summary.get("class_complexity_order0_bits")),
             "100 x K&B Information bits / Class complexity order 0 bits (Weka 3.7+)"),
            ("class_complexity_order0_bits_per_instance", lambda: summary["class_complexity_order0_bits"] / known,
             SUMMARY_HALF / known if known else 0, "order 0 bits / N"),
            ("class_complexity_scheme_bits_per_instance", lambda: summary["class_complexity_scheme_bits"] / known,
             SUMMARY_HALF / known if known else 0, "scheme bits / N"),
            ("complexity_improvement_bits",
             lambda: summary["class_complexity_order0_bits"] - summary["class_complexity_scheme_bits"],
             2 * SUMMARY_HALF, "order 0 bits - scheme bits"),
            ("complexity_improvement_bits_per_instance", lambda: summary["complexity_improvement_bits"] / known,
             SUMMARY_HALF / known if known else 0, "improvement bits / N"),
        ]
        for key, compute, spread, note in relations:
            if key not in summary:
                continue
            if key == "kb_relative_info_score_pct" and (self.block["layout"] or {}).get("details") == "3.6":
                self.not_checkable(_SUMMARY_NAMES[key], summary[key], "Weka 3.6 scales this score differently")
                continue
            try:
                value = compute()
            except (KeyError, TypeError, ZeroDivisionError):
                self.not_checkable(_SUMMARY_NAMES[key], summary[key], f"the other numbers of '{note}' are missing")
                continue
            self.add(_SUMMARY_NAMES[key], summary[key], value, SUMMARY_HALF, note, spread)

    def _from_matrix(self, summary: dict[str, Any], labels: list[str], matrix: np.ndarray) -> None:
        n = summary.get("total_instances")
        unclassified = summary.get("unclassified") or 0.0
        total = n if n is not None else float(matrix.sum()) + unclassified
        values, spread = _with_rounding(labels, matrix, total)
        if n is not None:
            self.add(_SUMMARY_NAMES["total_instances"], n, float(matrix.sum()) + unclassified, SUMMARY_HALF,
                     "matrix sum + unclassified", _matrix_rounding(matrix))
        for key in _MATRIX_KEYS[:-1]:
            if key in summary:
                self.add(_SUMMARY_NAMES[key], summary[key], values[("summary", key)], SUMMARY_HALF,
                         "from the confusion matrix", spread[("summary", key)])
        rows = self.block["classes"] or []
        for i, row in enumerate(rows):
            if i >= len(labels):
                break
            for key in _CLASS_KEYS:
                if key in row:
                    self.add(f"{row['class']} {_COLUMN_NAMES[key]}", row[key], values[("class", i, key)],
                             DETAILS_HALF, "from the confusion matrix", spread[("class", i, key)])
        weighted = self.block["weighted_avg"] or {}
        for key in _CLASS_KEYS:
            if key in weighted:
                self.add(f"Weighted Avg. {_COLUMN_NAMES[key]}", weighted[key], values[("weighted", key)],
                         DETAILS_HALF, "from the confusion matrix", spread[("weighted", key)])

    def _area_averages(self, matrix: np.ndarray | None) -> None:
        rows, weighted = self.block["classes"] or [], self.block["weighted_avg"] or {}
        for key in ("roc_area", "prc_area"):
            for row in rows:
                if key in row:
                    self.not_checkable(f"{row['class']} {_COLUMN_NAMES[key]}", row[key],
                                       "needs the scores (checked through the weighted average)")
            if key not in weighted:
                continue
            if matrix is None or len(rows) != len(matrix):
                self.not_checkable(f"Weighted Avg. {_COLUMN_NAMES[key]}", weighted[key], "no class counts")
                continue
            counts = matrix.sum(axis=1)
            pairs = [(c, row[key]) for c, row in zip(counts, rows) if c > 0]
            if any(value is None for _, value in pairs) or not pairs:
                self.add(f"Weighted Avg. {_COLUMN_NAMES[key]}", weighted[key], None, DETAILS_HALF,
                         "a present class's area is undefined")
                continue
            average = sum(c * v for c, v in pairs) / sum(c for c, _ in pairs)
            self.add(f"Weighted Avg. {_COLUMN_NAMES[key]}", weighted[key], average, DETAILS_HALF,
                     "class-count-weighted mean of the per-class areas", DETAILS_HALF)

    def _rows_finding(self, quantity: str, bad: list[int], total: int, note: str) -> None:
        """One finding over all printed prediction rows: which rows (by inst#) disagree."""
        listed = ", ".join(map(str, bad[:10])) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        self.findings.append(Finding(f"{self.table}:{quantity}", "recompute", self.table, quantity,
                                     f"{total} rows", f"{len(bad)} disagree" + (f" (inst# {listed})" if bad else ""),
                                     not bad, note))

    def _predictions(self, matrix: np.ndarray | None) -> None:
        predictions = self.block["predictions"] or []
        numeric = [row for row in predictions if "actual_index" not in row]
        nominal = [row for row in predictions if "actual_index" in row]
        rows = [row for row in numeric if None not in (row["actual"], row["predicted"], row["error"])]
        if rows:  # Weka prints the three with 3 decimals: predicted - actual within 1.5 units
            bad = [row["inst"] for row in rows if abs(row["predicted"] - row["actual"] - row["error"]) > 1.5e-3 + 1e-12]
            self._rows_finding("prediction errors", bad, len(rows), "error = predicted - actual")
        if not nominal:
            return
        bad = [row["inst"] for row in nominal if row["error"] != (
            row["actual_index"] is not None and row["predicted_index"] is not None
            and row["actual_index"] != row["predicted_index"])]
        self._rows_finding("prediction error flags", bad, len(nominal), "'+' exactly where actual != predicted")
        scored = [row for row in nominal if row.get("distribution") and row["predicted_index"] is not None
                  and row["predicted_index"] < len(row["distribution"]) and None not in row["distribution"]]
        if scored:  # the predicted class has the largest printed probability (3 decimals)
            bad = [row["inst"] for row in scored
                   if row["distribution"][row["predicted_index"]] < max(row["distribution"]) - 1e-3]
            self._rows_finding("predicted class is the most probable", bad, len(scored),
                               "distribution printed with 3 decimals")
        if matrix is not None and np.all(matrix == np.round(matrix)):
            counted = np.zeros_like(matrix)
            for row in nominal:
                if row["actual_index"] is not None and row["predicted_index"] is not None and \
                        max(row["actual_index"], row["predicted_index"]) < len(matrix):
                    counted[row["actual_index"], row["predicted_index"]] += 1
            self.findings.append(Finding(f"{self.table}:matrix from predictions", "recompute", self.table,
                                         "confusion matrix", str(matrix.tolist()), str(counted.tolist()),
                                         bool(np.array_equal(counted, matrix)),
                                         "counted from the printed predictions (which carry no instance weights)"))


def _ratio_spread(numerator: float | None, denominator: float | None) -> float:
    if not numerator or not denominator:
        return 0.0
    return 100 * SUMMARY_HALF * (1 / abs(denominator) + abs(numerator) / denominator ** 2)


def _matrix_rounding(matrix: np.ndarray) -> float:
    return 0.0 if np.all(matrix == np.round(matrix)) else 0.005 * matrix.size


def _text(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def audit_weka_text(parsed: dict[str, Any]) -> list[Finding]:
    """One finding per check of every evaluation block of a parsed Weka text (see the module docstring)."""
    findings = []
    for number, block in enumerate(parsed["evaluations"], start=1):
        findings.extend(_BlockAudit(block, number).run())
    return findings

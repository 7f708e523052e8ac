"""The one result object of an evaluation: Weka's numbers, its text, curves and imbalance extras."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wekawbc._json import json_number, json_ready
from wekawbc.evaluation import _text
from wekawbc.evaluation._curves import ThresholdCurve, threshold_curve
from wekawbc.evaluation._engine import PER_CLASS, compute_statistics
from wekawbc.evaluation._imbalance import bootstrap, imbalance_metrics
from wekawbc.evaluation.metrics import summary_metrics
from wekawbc.predictions import Predictions

__all__ = ["EvaluationResult", "evaluate"]


# Summary keys (as the parser names Weka's lines, in Weka's order) -> result attributes.
# Text/JSON key → attribute, for the summary numbers the engine computes (from the metric registry).
_SUMMARY_ATTRIBUTES = {m.text_key: m.name for m in summary_metrics(engine=True) if m.text_key}
_COMPLEXITY_KEYS = tuple(key for key in _SUMMARY_ATTRIBUTES
                         if key.startswith(("kb_", "class_complexity", "complexity")))


@dataclass(frozen=True)
class EvaluationResult:
    """Everything Weka's ``Evaluation`` computes for a nominal class, from :func:`evaluate`.

    Counts are weight sums, as in Weka. Per-class arrays have one entry per label (NaN where Weka
    prints ``?``); ``weighted_*`` are Weka's "Weighted Avg." row (NaN if a present class is NaN).
    Relative errors, K&B and entropy scores are NaN when there are no priors (``has_priors``).
    """

    labels: tuple[str, ...]
    confusion_matrix: np.ndarray
    total_instances: float
    correct: float
    incorrect: float
    unclassified: float
    ignored_class_unknown: float
    pct_correct: float
    pct_incorrect: float
    pct_unclassified: float
    kappa: float
    mean_absolute_error: float
    root_mean_squared_error: float
    relative_absolute_error: float
    root_relative_squared_error: float
    mean_prior_absolute_error: float
    root_mean_prior_squared_error: float
    has_priors: bool
    kb_information: float
    kb_mean_information: float
    kb_relative_information: float
    prior_entropy: float
    mean_prior_entropy: float
    scheme_entropy: float
    mean_scheme_entropy: float
    entropy_gain: float
    mean_entropy_gain: float
    tp_rate: np.ndarray
    fp_rate: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f_measure: np.ndarray
    mcc: np.ndarray
    roc_area: np.ndarray
    prc_area: np.ndarray
    tn_rate: np.ndarray
    fn_rate: np.ndarray
    true_positives: np.ndarray
    false_positives: np.ndarray
    true_negatives: np.ndarray
    false_negatives: np.ndarray
    coverage_of_test_cases_by_predicted_regions: float
    size_of_predicted_regions: float
    weighted_tp_rate: float
    weighted_fp_rate: float
    weighted_precision: float
    weighted_recall: float
    weighted_f_measure: float
    weighted_mcc: float
    weighted_roc_area: float
    weighted_prc_area: float
    unweighted_macro_f_measure: float
    unweighted_micro_f_measure: float
    predictions: Predictions = field(repr=False, compare=False)

    # ----- grouped views -------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        return len(self.labels)

    @property
    def weighted(self) -> dict[str, float]:
        """The "Weighted Avg." row as ``{statistic: value}`` (keys as the per-class arrays)."""
        return {name: getattr(self, f"weighted_{name}") for name in PER_CLASS}

    @property
    def macro(self) -> dict[str, float]:
        """Unweighted mean of each per-class statistic over the classes present in the test data.

        As Weka's ``unweightedMacroFmeasure``: NaN when a present class's value is NaN.
        """
        present = self.true_positives + self.false_negatives > 0
        return {name: float(np.mean(getattr(self, name)[present])) if present.any() else float("nan")
                for name in PER_CLASS}

    def class_rows(self) -> list[dict[str, Any]]:
        """One dict per class: ``{"class": label, "tp_rate": ..., ..., "prc_area": ...}``."""
        return [{"class": label, **{name: float(getattr(self, name)[i]) for name in PER_CLASS}}
                for i, label in enumerate(self.labels)]

    def summary(self, complexity: bool = False) -> dict[str, float]:
        """The summary lines Weka prints, keyed as the parser keys them, in Weka's order and choice.

        Lines appear as in ``toSummaryString``: nothing but the total when no instance has a known
        class; relative errors (and the complexity lines, with ``complexity=True``) only with priors;
        unclassified only when their weight exceeds 1e-6; the ignored line only when some class is unknown.
        """
        shown = {"total_instances"}
        if self.total_instances > 0:
            shown |= {"correct", "correct_pct", "incorrect", "incorrect_pct", "kappa",
                      "mean_absolute_error", "root_mean_squared_error"}
            if self.has_priors:
                shown |= {"relative_absolute_error_pct", "root_relative_squared_error_pct"}
                if complexity:
                    shown |= set(_COMPLEXITY_KEYS)
        if self.unclassified > 1e-6:  # Weka: Utils.gr(unclassified, 0), i.e. more than Utils.SMALL
            shown |= {"unclassified", "unclassified_pct"}
        if self.ignored_class_unknown > 0:
            shown.add("ignored_class_unknown")
        return {key: getattr(self, name) for key, name in _SUMMARY_ATTRIBUTES.items() if key in shown}

    # ----- Weka's text ---------------------------------------------------------------------
    def summary_text(self, title: str = "=== Summary ===\n", complexity: bool = False) -> str:
        """``toSummaryString(title, complexity)``, byte for byte."""
        return _text.render_summary(self.summary(complexity), title)

    def class_details_text(self, title: str = "=== Detailed Accuracy By Class ===\n") -> str:
        """``toClassDetailsString(title)``, byte for byte."""
        return _text.render_class_details(self.class_rows(), self.weighted, title)

    def matrix_text(self, title: str = "=== Confusion Matrix ===\n") -> str:
        """``toMatrixString(title)``, byte for byte."""
        return _text.render_matrix(self.labels, self.confusion_matrix.tolist(), title)

    def weka_text(self, complexity: bool = False) -> str:
        """The Explorer's block: summary, blank line, class details, blank line, confusion matrix."""
        return f"{self.summary_text(complexity=complexity)}\n{self.class_details_text()}\n{self.matrix_text()}"

    # ----- curves ----------------------------------------------------------------------------
    def _class_index(self, cls: int | str) -> int:
        if isinstance(cls, str):
            if cls not in self.labels:
                raise ValueError(f"class {cls!r} is not among the labels {list(self.labels)}")
            return self.labels.index(cls)
        if not 0 <= int(cls) < self.n_classes:
            raise ValueError(f"class index {cls} is outside 0..{self.n_classes - 1}")
        return int(cls)

    def threshold_curve(self, cls: int | str) -> ThresholdCurve:
        """Weka's ``ThresholdCurve`` points for one class (index or label), lowest threshold first."""
        j = self._class_index(cls)
        p = self.predictions
        if p.n_instances == 0:
            raise ValueError("no predictions, so no threshold curve")
        order = np.argsort(p.fold, kind="stable")
        actual, weight = p.actual[order], p.weight[order]
        return threshold_curve(p.distribution[order, j], actual == j, weight, weight >= 0)

    def roc_curve(self, cls: int | str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(fpr, tpr, thresholds)`` of Weka's ROC curve for one class (lowest threshold first)."""
        curve = self.threshold_curve(cls)
        return curve.fp_rate, curve.tp_rate, curve.threshold

    def pr_curve(self, cls: int | str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(precision, recall, thresholds)`` of Weka's precision-recall curve for one class."""
        curve = self.threshold_curve(cls)
        return curve.precision, curve.recall, curve.threshold

    # ----- beyond Weka -----------------------------------------------------------------------
    def imbalance_metrics(self) -> dict[str, Any]:
        """Metrics for imbalanced data (see :func:`wekawbc.evaluation.imbalance_metrics`)."""
        return imbalance_metrics(self)

    def bootstrap(self, n_resamples: int = 1000, seed: int = 1, confidence: float = 0.95) -> dict[str, Any]:
        """Stratified, seeded bootstrap intervals (see :func:`wekawbc.evaluation.bootstrap`)."""
        return bootstrap(self.predictions, n_resamples=n_resamples, seed=seed, confidence=confidence)

    def to_dict(self, extras: bool = True) -> dict[str, Any]:
        """Every number as JSON-able data (NaN as None): summary, classes, weighted, macro, matrix, extras."""
        summary = {key: json_number(getattr(self, name)) for key, name in _SUMMARY_ATTRIBUTES.items()}
        classes = []
        for i, row in enumerate(self.class_rows()):
            row = {key: (value if key == "class" else json_number(value)) for key, value in row.items()}
            for name in ("tn_rate", "fn_rate", "true_positives", "false_positives", "true_negatives",
                         "false_negatives"):
                row[name] = json_number(getattr(self, name)[i])
            classes.append(row)
        out: dict[str, Any] = {
            "labels": list(self.labels),
            "summary": summary,
            "classes": classes,
            "weighted_avg": {key: json_number(value) for key, value in self.weighted.items()},
            "macro_avg": {key: json_number(value) for key, value in self.macro.items()},
            "micro_f_measure": json_number(self.unweighted_micro_f_measure),
            "confusion_matrix": {"labels": list(self.labels),
                                 "matrix": [[json_number(v) for v in row] for row in self.confusion_matrix]},
            "has_priors": self.has_priors,
        }
        if extras:
            out["imbalance"] = json_ready(self.imbalance_metrics())
        return out


def evaluate(predictions: Predictions) -> EvaluationResult:
    """Evaluate predictions exactly as Weka's ``Evaluation`` does (nominal class), without a JVM.

    Parameters
    ----------
    predictions : Predictions
        Actual classes, full predicted distributions, weights, folds and (for Weka's priors) the
        per-fold training class counts. Without ``train_counts``, a cross-validation takes each
        fold's training counts from the other folds; a single fold then has no priors, so the
        relative errors are NaN and their lines are left out, as with Weka's ``useNoPriors``.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    ValueError
        If a probability is NaN (Weka's arithmetic on NaN is meaningless; fix the classifier).

    Notes
    -----
    The predicted class is the first index with the strictly largest probability above 0; an
    all-zero distribution is "unclassified" and counts only in the total, the percentages'
    denominator and the ROC/PRC curves. Weka's priors are Laplace: ``(count_k + 1) / (sum + K)``.
    """
    nan_rows = np.flatnonzero(np.isnan(predictions.distribution).any(axis=1))
    if nan_rows.size:
        raise ValueError(f"predicted distribution is NaN in rows {nan_rows[:10].tolist()}"
                         f"{' ...' if nan_rows.size > 10 else ''} (0-based)")
    stats = compute_statistics(predictions)
    return EvaluationResult(labels=predictions.labels, predictions=predictions, **stats)

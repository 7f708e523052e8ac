"""The metric registry: one entry per number Weka's ``Evaluation`` reports, in one vocabulary.

Each :class:`Metric` names a quantity once (``name``: the attribute of
:class:`~wekawbc.evaluation.EvaluationResult`, the key of :attr:`wekawbc.weka.WekaRun.statistics`
and of the experiment tables) and says where else it appears: Weka's getter on
``weka.classifiers.Evaluation``, the label of Weka's text line or column, the key the text parser
and the run folder's ``report.json`` use for it, whether higher is better, and its unit. The Weka
bridge, the engine's JSON, the reports, the experiment tables and the tests against Weka read this
table; adding a metric is one entry here plus its computation in the engine.

>>> from wekawbc.evaluation.metrics import METRICS
>>> METRICS["pct_correct"].weka_getter, METRICS["pct_correct"].text_key
('pctCorrect', 'correct_pct')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Metric", "METRICS", "IMBALANCE_METRICS", "summary_metrics", "class_metrics", "weighted_metrics", "metric"]

Unit = Literal["count", "percent", "fraction", "bits", "bits/instance", "error", "cost"]
Scope = Literal["summary", "class", "weighted", "imbalance"]


@dataclass(frozen=True)
class Metric:
    """One number of Weka's evaluation.

    Attributes
    ----------
    name : str
        The one name of the quantity (snake case of Weka's getter where that is unambiguous).
    label : str
        How people read it in reports and tables.
    weka_getter : str or None
        The ``weka.classifiers.Evaluation`` method that returns it (with a class index for a
        ``class`` metric); None where Weka has no getter.
    text_key : str or None
        The key of Weka's printed line (summary) or column (class details) in parsed text and in
        ``report.json``; None where Weka does not print it.
    higher_is_better : bool or None
        The direction of "better"; None for counts that have none (instances, unclassified).
    unit : str
        ``count`` (summed instance weights), ``percent`` (0-100), ``fraction`` (0-1), ``bits``,
        ``bits/instance``, ``error`` (a mean error of probabilities) or ``cost``.
    scope : str
        ``summary`` (one number), ``class`` (one per class) or ``weighted`` (Weka's "Weighted Avg."
        of a ``class`` metric); ``imbalance`` for the engine's scikit-learn/imbalanced-learn extras
        (:data:`IMBALANCE_METRICS`, keys of ``report.json``'s ``imbalance``), which Weka does not print.
    engine : bool
        Whether the evaluation engine computes it from predictions (False: only Weka's bridge
        reports it, e.g. costs, which need a cost matrix).
    weka_text : str or None
        Weka's printed label of its summary line (both numbers of a line share it, e.g. the count
        and the percentage of "Correctly Classified Instances"; ``{level}`` stands for the coverage
        level) or of its class-details column, without the padding; the text renderer and the
        parser read it. None where Weka does not print it.
    nominal : bool
        Whether Weka computes it for a nominal class (False: numeric class only, the correlation).
    """

    name: str
    label: str
    weka_getter: str | None
    text_key: str | None
    higher_is_better: bool | None
    unit: Unit
    scope: Scope = "summary"
    engine: bool = True
    weka_text: str | None = None
    nominal: bool = True


def _summary(name: str, label: str, getter: str, key: str | None, higher: bool | None, unit: Unit,
             engine: bool = True, text: str | None = None, nominal: bool = True) -> Metric:
    return Metric(name, label, getter, key, higher, unit, "summary", engine, text, nominal)


_PER_CLASS: tuple[tuple[str, str, str, str | None, bool, Unit], ...] = (
    # name, label, Weka getter (class index), column key, higher is better, unit
    ("tp_rate", "TP Rate", "truePositiveRate", "tp_rate", True, "fraction"),
    ("fp_rate", "FP Rate", "falsePositiveRate", "fp_rate", False, "fraction"),
    ("precision", "Precision", "precision", "precision", True, "fraction"),
    ("recall", "Recall", "recall", "recall", True, "fraction"),
    ("f_measure", "F-Measure", "fMeasure", "f_measure", True, "fraction"),
    ("mcc", "MCC", "matthewsCorrelationCoefficient", "mcc", True, "fraction"),
    ("roc_area", "ROC Area", "areaUnderROC", "roc_area", True, "fraction"),
    ("prc_area", "PRC Area", "areaUnderPRC", "prc_area", True, "fraction"),
    ("tn_rate", "TN Rate", "trueNegativeRate", None, True, "fraction"),
    ("fn_rate", "FN Rate", "falseNegativeRate", None, False, "fraction"),
    ("true_positives", "True positives", "numTruePositives", None, True, "count"),
    ("false_positives", "False positives", "numFalsePositives", None, False, "count"),
    ("true_negatives", "True negatives", "numTrueNegatives", None, True, "count"),
    ("false_negatives", "False negatives", "numFalseNegatives", None, False, "count"),
)
# Weka's weighted averages of the per-class statistics ("Weighted Avg." row), by getter.
_WEIGHTED_GETTERS = {
    "tp_rate": "weightedTruePositiveRate", "fp_rate": "weightedFalsePositiveRate", "precision": "weightedPrecision",
    "recall": "weightedRecall", "f_measure": "weightedFMeasure", "mcc": "weightedMatthewsCorrelation",
    "roc_area": "weightedAreaUnderROC", "prc_area": "weightedAreaUnderPRC",
    "tn_rate": "weightedTrueNegativeRate", "fn_rate": "weightedFalseNegativeRate",
}

_CLASS_ROWS = {row[0]: row for row in _PER_CLASS}

_ENTRIES: tuple[Metric, ...] = (
    # In the order of the run folder's JSON summary (and of Weka's summary where Weka prints them).
    _summary("correct", "Correctly Classified Instances", "correct", "correct", True, "count",
             text="Correctly Classified Instances"),
    _summary("pct_correct", "Correctly Classified (%)", "pctCorrect", "correct_pct", True, "percent",
             text="Correctly Classified Instances"),
    _summary("incorrect", "Incorrectly Classified Instances", "incorrect", "incorrect", False, "count",
             text="Incorrectly Classified Instances"),
    _summary("pct_incorrect", "Incorrectly Classified (%)", "pctIncorrect", "incorrect_pct", False, "percent",
             text="Incorrectly Classified Instances"),
    _summary("kappa", "Kappa statistic", "kappa", "kappa", True, "fraction",
             text="Kappa statistic"),
    _summary("kb_relative_information", "K&B Relative Info Score (%)", "KBRelativeInformation",
             "kb_relative_info_score_pct", True, "percent",
             text="K&B Relative Info Score"),
    _summary("kb_information", "K&B Information Score (bits)", "KBInformation", "kb_information_bits", True, "bits",
             text="K&B Information Score"),
    _summary("kb_mean_information", "K&B Information Score (bits/instance)", "KBMeanInformation",
             "kb_information_bits_per_instance", True, "bits/instance",
             text="K&B Information Score"),
    _summary("prior_entropy", "Class complexity | order 0 (bits)", "SFPriorEntropy",
             "class_complexity_order0_bits", None, "bits",
             text="Class complexity | order 0"),
    _summary("mean_prior_entropy", "Class complexity | order 0 (bits/instance)", "SFMeanPriorEntropy",
             "class_complexity_order0_bits_per_instance", None, "bits/instance",
             text="Class complexity | order 0"),
    _summary("scheme_entropy", "Class complexity | scheme (bits)", "SFSchemeEntropy",
             "class_complexity_scheme_bits", False, "bits",
             text="Class complexity | scheme"),
    _summary("mean_scheme_entropy", "Class complexity | scheme (bits/instance)", "SFMeanSchemeEntropy",
             "class_complexity_scheme_bits_per_instance", False, "bits/instance",
             text="Class complexity | scheme"),
    _summary("entropy_gain", "Complexity improvement (Sf) (bits)", "SFEntropyGain", "complexity_improvement_bits",
             True, "bits",
             text="Complexity improvement     (Sf)"),
    _summary("mean_entropy_gain", "Complexity improvement (Sf) (bits/instance)", "SFMeanEntropyGain",
             "complexity_improvement_bits_per_instance", True, "bits/instance",
             text="Complexity improvement     (Sf)"),
    _summary("mean_absolute_error", "Mean absolute error", "meanAbsoluteError", "mean_absolute_error", False, "error",
             text="Mean absolute error"),
    _summary("root_mean_squared_error", "Root mean squared error", "rootMeanSquaredError", "root_mean_squared_error",
             False, "error",
             text="Root mean squared error"),
    _summary("relative_absolute_error", "Relative absolute error (%)", "relativeAbsoluteError",
             "relative_absolute_error_pct", False, "percent",
             text="Relative absolute error"),
    _summary("root_relative_squared_error", "Root relative squared error (%)", "rootRelativeSquaredError",
             "root_relative_squared_error_pct", False, "percent",
             text="Root relative squared error"),
    _summary("unclassified", "UnClassified Instances", "unclassified", "unclassified", None, "count",
             text="UnClassified Instances"),
    _summary("pct_unclassified", "UnClassified (%)", "pctUnclassified", "unclassified_pct", None, "percent",
             text="UnClassified Instances"),
    _summary("total_instances", "Total Number of Instances", "withClass", "total_instances", None, "count",
             text="Total Number of Instances"),
    _summary("ignored_class_unknown", "Ignored Class Unknown Instances", "missingClass", "ignored_class_unknown",
             None, "count",
             text="Ignored Class Unknown Instances"),
    _summary("coverage_of_test_cases_by_predicted_regions", "Coverage of cases (0.95 level) (%)",
             "coverageOfTestCasesByPredictedRegions", "coverage_pct", True, "percent",
             text="Coverage of cases ({level} level)"),
    _summary("size_of_predicted_regions", "Mean rel. region size (0.95 level) (%)", "sizeOfPredictedRegions",
             "mean_region_size_pct", False, "percent",
             text="Mean rel. region size ({level} level)"),
    _summary("mean_prior_absolute_error", "Mean prior absolute error", "meanPriorAbsoluteError", None, None, "error"),
    _summary("root_mean_prior_squared_error", "Root mean prior squared error", "rootMeanPriorSquaredError", None,
             None, "error"),
    _summary("unweighted_macro_f_measure", "Macro F-measure (Weka)", "unweightedMacroFmeasure", None, True,
             "fraction"),
    _summary("unweighted_micro_f_measure", "Micro F-measure (Weka)", "unweightedMicroFmeasure", None, True,
             "fraction"),
    # Weka's bridge only: costs need a cost matrix, and the error rate and the class prior entropy
    # are other views of numbers above.
    _summary("error_rate", "Error rate", "errorRate", None, False, "fraction", engine=False),
    _summary("class_prior_entropy", "Entropy of the class priors (bits/instance)", "priorEntropy", None, None,
             "bits/instance", engine=False),
    _summary("total_cost", "Total Cost", "totalCost", "total_cost", False, "cost", engine=False,
             text="Total Cost"),
    _summary("avg_cost", "Average Cost", "avgCost", "average_cost", False, "cost", engine=False,
             text="Average Cost"),
    # A numeric class's line (regression); the engine evaluates nominal classes only.
    _summary("correlation_coefficient", "Correlation coefficient", "correlationCoefficient", "correlation_coefficient",
             True, "fraction", engine=False, text="Correlation coefficient", nominal=False),
    # A printed column's label is Weka's header text of it.
    *(Metric(name, label, getter, key, higher, unit, "class", weka_text=label if key else None)
      for name, label, getter, key, higher, unit in _PER_CLASS),
    # The engine averages the printed columns only; the TN and FN rates' averages come from Weka's bridge.
    *(Metric(f"weighted_{name}", f"Weighted {_CLASS_ROWS[name][1]}", getter, _CLASS_ROWS[name][3],
             _CLASS_ROWS[name][4], "fraction", "weighted", engine=_CLASS_ROWS[name][3] is not None,
             weka_text=_CLASS_ROWS[name][1] if _CLASS_ROWS[name][3] else None)
      for name, getter in _WEIGHTED_GETTERS.items()),
)

#: Every metric by name, in the registry's order.
METRICS: dict[str, Metric] = {entry.name: entry for entry in _ENTRIES}


def _imbalance(name: str, label: str, higher: bool, unit: Unit) -> Metric:
    return Metric(name, label, None, name, higher, unit, "imbalance")


#: The engine's imbalance extras (``EvaluationResult.imbalance_metrics()``; Weka prints none of
#: them), one-number ones only, in report order; ``text_key`` is the key in that dict.
IMBALANCE_METRICS: dict[str, Metric] = {m.name: m for m in (
    _imbalance("balanced_accuracy", "Balanced accuracy", True, "fraction"),
    _imbalance("macro_f1", "Macro F1", True, "fraction"),
    _imbalance("micro_f1", "Micro F1", True, "fraction"),
    _imbalance("g_mean_multiclass", "G-mean (multi-class)", True, "fraction"),
    _imbalance("iba_weighted", "IBA (support-weighted)", True, "fraction"),
    _imbalance("mcc_multiclass", "MCC (multi-class)", True, "fraction"),
    _imbalance("roc_auc_ovr_macro", "ROC AUC (one-vs-rest, macro)", True, "fraction"),
    _imbalance("brier_multiclass", "Brier score (multi-class)", False, "error"),
    _imbalance("mse", "MSE (Weka's RMSE squared)", False, "error"),
)}


def metric(name: str) -> Metric:
    """The metric called ``name`` (a ``KeyError`` listing the names otherwise)."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"no metric '{name}'; known: {', '.join(METRICS)}") from None


def summary_metrics(*, engine: bool | None = None, nominal: bool | None = True) -> tuple[Metric, ...]:
    """The one-number metrics (``engine=True``: those the engine computes; False: bridge only).

    ``nominal=True`` (the default) keeps those Weka computes for a nominal class; None keeps all.
    """
    return tuple(m for m in METRICS.values() if m.scope == "summary" and (engine is None or m.engine == engine)
                 and (nominal is None or m.nominal == nominal))



def class_metrics() -> tuple[Metric, ...]:
    """The per-class metrics, in the registry's order (Weka's class-details columns first)."""
    return tuple(m for m in METRICS.values() if m.scope == "class")


def weighted_metrics(*, engine: bool | None = None) -> tuple[Metric, ...]:
    """Weka's "Weighted Avg." of per-class metrics (``engine=True``: those of the printed columns)."""
    return tuple(m for m in METRICS.values() if m.scope == "weighted" and (engine is None or m.engine == engine))

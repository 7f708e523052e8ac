"""Evaluation exactly as Weka computes and prints it, plus the metrics imbalanced data need.

Usage::

    from wekawbc.evaluation import evaluate
    result = evaluate(predictions)          # a wekawbc.predictions.Predictions
    print(result.weka_text())               # Weka's Explorer block, byte for byte
    result.kappa, result.roc_area, result.weighted_f_measure
    result.imbalance_metrics(), result.bootstrap(1000, seed=1), result.to_dict()

The engine is pure numpy (no JVM); Weka through the JVM is the oracle its tests compare against.
:func:`parse_file` reads Weka's own text output back into the same numbers. Names are imported on
first use, so ``wekawbc --help`` (which imports ``wekawbc.evaluation.cli``) does not load numpy.
"""

from __future__ import annotations

from wekawbc._lazy import lazy_exports

_PUBLIC = {
    "wekawbc.evaluation._curves": ("ThresholdCurve",),
    "wekawbc.evaluation._engine": ("training_counts",),
    "wekawbc.evaluation._format": ("decimal_format", "double_to_string", "java_fixed", "num_to_short_id"),
    "wekawbc.evaluation._imbalance": ("bootstrap", "imbalance_metrics"),
    "wekawbc.evaluation._result": ("EvaluationResult", "evaluate"),
    "wekawbc.evaluation._text": ("render_class_details", "render_matrix", "render_summary"),
    "wekawbc.evaluation.parse": ("parse_file", "parse_text", "render_evaluation"),
}
__all__, __getattr__ = lazy_exports(__name__, _PUBLIC)

"""Evaluation exactly as Weka computes and prints it, plus the metrics imbalanced data need.

Usage::

    from wekawbc.evaluation import evaluate
    result = evaluate(predictions)          # a wekawbc.predictions.Predictions
    print(result.weka_text())               # Weka's Explorer block, byte for byte
    result.kappa, result.roc_area, result.weighted_f_measure
    result.imbalance_metrics(), result.bootstrap(1000, seed=1), result.to_dict()

The engine is pure numpy (no JVM); Weka through the JVM is the oracle its tests compare against.
:func:`parse_file` reads Weka's own text output back into the same numbers.
"""

from wekawbc.evaluation._curves import ThresholdCurve
from wekawbc.evaluation._engine import training_counts
from wekawbc.evaluation._format import decimal_format, double_to_string, java_fixed, num_to_short_id
from wekawbc.evaluation._imbalance import bootstrap, imbalance_metrics
from wekawbc.evaluation._result import EvaluationResult, evaluate
from wekawbc.evaluation._text import render_class_details, render_matrix, render_summary
from wekawbc.evaluation.parse import parse_file, parse_text, render_evaluation

__all__ = [
    "evaluate",
    "EvaluationResult",
    "ThresholdCurve",
    "training_counts",
    "imbalance_metrics",
    "bootstrap",
    "parse_file",
    "parse_text",
    "render_evaluation",
    "render_summary",
    "render_class_details",
    "render_matrix",
    "double_to_string",
    "decimal_format",
    "java_fixed",
    "num_to_short_id",
]

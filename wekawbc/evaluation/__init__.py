"""Evaluation exactly as Weka computes and prints it, plus the metrics imbalanced data need.

>>> from wekawbc.evaluation import evaluate
>>> result = evaluate(predictions)          # a wekawbc.predictions.Predictions
>>> print(result.weka_text())               # Weka's Explorer block, byte for byte

The engine is pure numpy (no JVM); Weka through the JVM is the oracle its tests compare against.
"""

from wekawbc.evaluation._curves import ThresholdCurve
from wekawbc.evaluation._engine import training_counts
from wekawbc.evaluation._format import decimal_format, double_to_string, java_fixed, num_to_short_id
from wekawbc.evaluation._result import EvaluationResult, evaluate
from wekawbc.evaluation._text import render_class_details, render_matrix, render_summary

__all__ = [
    "evaluate",
    "EvaluationResult",
    "ThresholdCurve",
    "training_counts",
    "render_summary",
    "render_class_details",
    "render_matrix",
    "double_to_string",
    "decimal_format",
    "java_fixed",
    "num_to_short_id",
]

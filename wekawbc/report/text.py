"""Plain-text tables printed beside Weka's text: the imbalance metrics and the bootstrap intervals.

Every command that prints them (``wekawbc evaluate``, ``wekawbc cnn evaluate``) renders them here,
so they read the same wherever they appear.
"""

from __future__ import annotations

import math
from typing import Any

from wekawbc.evaluation.metrics import IMBALANCE_METRICS

__all__ = ["imbalance_text", "bootstrap_text"]


def _cell(value: float | None, width: int = 9) -> str:
    return ("?" if value is None or math.isnan(value) else f"{value:.4f}").ljust(width)


def imbalance_text(metrics: dict[str, Any], labels: tuple[str, ...]) -> str:
    """A plain-text table of :func:`imbalance_metrics` (not a Weka block; Weka has none)."""
    lines = ["=== Imbalance metrics ===", "",
             " " * 17 + "Specificity  G-mean   IBA      Support  Class"]
    for label in labels:
        lines.append(" " * 17 + _cell(metrics["specificity"][label], 13) + _cell(metrics["g_mean"][label])
                     + _cell(metrics["iba"][label]) + f"{metrics['support'][label]:<9g}" + label)
    lines.append("")
    lines.extend(f"{m.label:<35}{_cell(metrics[str(m.text_key)]).rstrip()}" for m in IMBALANCE_METRICS.values())
    return "\n".join(lines) + "\n"


def bootstrap_text(intervals: dict[str, Any]) -> str:
    """A plain-text table of :func:`bootstrap` intervals."""
    level = f"{intervals['confidence'] * 100:g}%"
    lines = [f"=== Bootstrap {level} intervals ({intervals['n_resamples']} resamples stratified by class, "
             f"seed {intervals['seed']}) ===", "", f"{'':<35}{'Estimate':<10}{'Low':<10}High"]
    metrics = intervals["metrics"]
    rows = [("Accuracy", metrics["accuracy"]), ("Kappa", metrics["kappa"]), ("Macro F1", metrics["macro_f1"])]
    rows += [(f"Recall {label}", values) for label, values in metrics["recall"].items()]
    for name, values in rows:
        lines.append(f"{name:<35}{_cell(values['estimate'], 10)}{_cell(values['low'], 10)}"
                     f"{_cell(values['high'], 10)}".rstrip())
    return "\n".join(lines) + "\n"

"""Weka from Python: the JVM, data loading, classifiers and Weka's own evaluation.

Names are imported on first use, so ``wekawbc --help`` (which imports ``wekawbc.weka.cli``) loads
neither numpy nor JPype.
"""

from __future__ import annotations

from wekawbc._lazy import lazy_exports

_PUBLIC = {
    "wekawbc.weka.data": ("load_instances",),
    "wekawbc.weka.jvm": ("JavaRuntime", "find_java", "is_started", "start", "weka_home"),
    "wekawbc.weka.run": ("SmallClassWarning", "WekaRun", "make_classifier", "run_classifier"),
}
__all__, __getattr__ = lazy_exports(__name__, _PUBLIC)

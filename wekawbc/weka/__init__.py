"""Weka from Python: the JVM, data loading, classifiers and Weka's own evaluation."""

from wekawbc.weka.data import load_instances
from wekawbc.weka.jvm import JavaRuntime, find_java, is_started, start, weka_home
from wekawbc.weka.run import SmallClassWarning, WekaRun, make_classifier, run_classifier

__all__ = ["JavaRuntime", "SmallClassWarning", "WekaRun", "find_java", "is_started", "load_instances",
           "make_classifier", "run_classifier", "start", "weka_home"]

"""Weka from Python: the JVM, data loading, classifiers and Weka's own evaluation."""

from wekawbc.weka.jvm import JavaRuntime, find_java, is_started, start, weka_home

__all__ = ["JavaRuntime", "find_java", "is_started", "start", "weka_home"]

"""Datasets for Weka and pandas: ARFF (numeric features, nominal class last) and CSV."""

from wekawbc.arff.writer import weka_quote, write_arff, write_csv

__all__ = ["weka_quote", "write_arff", "write_csv"]

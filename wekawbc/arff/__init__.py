"""Datasets for Weka and pandas: ARFF (numeric features, nominal class last), Parquet (pyarrow) and CSV."""

from wekawbc.arff.writer import arff_writer, parquet_writer, weka_quote, write_arff, write_csv

__all__ = ["arff_writer", "parquet_writer", "weka_quote", "write_arff", "write_csv"]

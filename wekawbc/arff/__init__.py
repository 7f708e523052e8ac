"""Datasets for Weka and pandas: ARFF (numeric features, nominal class last), Parquet (pyarrow) and CSV."""

from wekawbc.arff.writer import (arff_rows, arff_writer, csv_writer, parquet_writer, prepend_comments, weka_quote,
                                 write_arff, write_csv)

__all__ = ["arff_rows", "arff_writer", "csv_writer", "parquet_writer", "prepend_comments", "weka_quote", "write_arff",
           "write_csv"]

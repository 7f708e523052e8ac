"""Experiments: configured runs of many classifiers over repeated folds, the demo, and Dask scale-out."""

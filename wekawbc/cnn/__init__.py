"""A CNN on cell crops, trained from scratch in PyTorch and scored with Weka's folds and metrics.

The CNN produces the same :class:`~wekawbc.predictions.Predictions` as Weka's classifiers, so one
evaluation engine scores both. Torch is imported only when a torch-backed name is first used:
``wekawbc.cnn.subsample`` (also used by the experiments) and ``wekawbc.cnn.settings`` stay torch-free.
"""

from __future__ import annotations

import importlib
from typing import Any

from wekawbc.cnn.settings import Augmentation, TrainSettings
from wekawbc.cnn.subsample import PAPER_TABLE2_COUNTS, parse_class_counts, subsample_counts

__all__ = [
    "PAPER_TABLE2_COUNTS", "parse_class_counts", "subsample_counts",
    "CropSet", "Preprocessing", "load_crops",
    "Augmentation", "TrainSettings", "TrainedCnn", "train_cnn", "predict_proba", "save_model", "load_model",
    "CnnEvaluation", "cross_validate_cnn", "holdout_cnn",
]

_LAZY = {
    "CropSet": "wekawbc.cnn.images", "Preprocessing": "wekawbc.cnn.images", "load_crops": "wekawbc.cnn.images",
    "TrainedCnn": "wekawbc.cnn.training",
    "train_cnn": "wekawbc.cnn.training", "predict_proba": "wekawbc.cnn.training",
    "save_model": "wekawbc.cnn.model_file", "load_model": "wekawbc.cnn.model_file",
    "CnnEvaluation": "wekawbc.cnn.evaluate", "cross_validate_cnn": "wekawbc.cnn.evaluate",
    "holdout_cnn": "wekawbc.cnn.evaluate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'wekawbc.cnn' has no attribute {name!r}")

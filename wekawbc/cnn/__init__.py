"""A CNN on cell crops, trained from scratch in PyTorch and scored with Weka's folds and metrics.

The CNN produces the same :class:`~wekawbc.predictions.Predictions` as Weka's classifiers, so one
evaluation engine scores both. Torch is imported only when a torch-backed name is first used:
the class-mix subsampling (``wekawbc.protocol.subsample``, shared with the experiments and re-exported
here) and ``wekawbc.cnn.settings`` stay torch-free,
and ``wekawbc --help`` loads neither torch nor numpy.
"""

from __future__ import annotations

import os

from wekawbc._lazy import lazy_exports

# Torch's OpenMP threads wait for each other by spinning unless told otherwise; beside two busy
# processes on 2 cores that made an epoch 29 times its quiet time, against 1.4 times when they wait
# passively (`python3 -m benchmarks cnn_load`, docs/BENCHMARKS.md). Set before any submodule imports torch, since OpenMP reads it
# once, when it loads; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from wekawbc.cnn.settings import Augmentation, TrainSettings

_LAZY = {
    "wekawbc.protocol.subsample": ("PAPER_TABLE2_COUNTS", "parse_class_counts", "subsample_counts"),
    "wekawbc.cnn.images": ("CropSet", "Preprocessing", "load_crops"),
    "wekawbc.cnn.training": ("TrainedCnn", "train_cnn", "predict_proba"),
    "wekawbc.cnn.model_file": ("save_model", "load_model"),
    "wekawbc.cnn.evaluate": ("CnnEvaluation", "cross_validate_cnn", "holdout_cnn"),
}
_lazy_names, __getattr__ = lazy_exports(__name__, _LAZY)
__all__ = ["Augmentation", "TrainSettings", *_lazy_names]

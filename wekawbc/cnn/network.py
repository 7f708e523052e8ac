"""The network: a small VGG-style CNN that trains from scratch in minutes on two CPU cores."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from wekawbc.cnn.settings import NORMS

__all__ = ["CellNet", "norm_layer"]


def norm_layer(kind: str, width: int) -> nn.Module:
    """The normalisation layer ``kind`` for ``width`` channels.

    ``batch`` carries the training set's running statistics into prediction; ``group`` (8 groups),
    ``instance`` and ``layer`` (one group) normalise each image by its own statistics.
    """
    if kind == "batch":
        return nn.BatchNorm2d(width)
    if kind == "group":
        return nn.GroupNorm(min(8, width), width)
    if kind == "instance":
        return nn.GroupNorm(width, width)
    if kind == "layer":
        return nn.GroupNorm(1, width)
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


class CellNet(nn.Module):
    """Stacked ``conv3x3 - norm - ReLU - maxpool`` blocks, global average pooling, dropout, linear.

    Parameters
    ----------
    n_classes : int
        Number of output classes (logits).
    channels : sequence of int, default=(16, 32, 64, 128)
        Output channels of each block; each block halves the resolution.
    dropout : float, default=0.2
        Dropout before the classifier.
    norm : {"batch", "group", "instance", "layer"}, default="batch"
        Normalisation layer of every block (see :func:`norm_layer`).
    """

    def __init__(self, n_classes: int, channels: Sequence[int] = (16, 32, 64, 128), dropout: float = 0.2,
                 norm: str = "batch"):
        super().__init__()
        blocks: list[nn.Module] = []
        previous = 3
        for width in channels:
            blocks += [nn.Conv2d(previous, width, 3, padding=1, bias=False), norm_layer(norm, width),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            previous = width
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                        nn.Linear(previous, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

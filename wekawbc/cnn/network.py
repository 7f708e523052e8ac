"""The network: a small VGG-style CNN that trains from scratch in minutes on two CPU cores."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["CellNet"]


class CellNet(nn.Module):
    """Stacked ``conv3x3 - BatchNorm - ReLU - maxpool`` blocks, global average pooling, dropout, linear.

    Parameters
    ----------
    n_classes : int
        Number of output classes (logits).
    channels : sequence of int, default=(16, 32, 64, 128)
        Output channels of each block; each block halves the resolution.
    dropout : float, default=0.2
        Dropout before the classifier.
    """

    def __init__(self, n_classes: int, channels: Sequence[int] = (16, 32, 64, 128), dropout: float = 0.2):
        super().__init__()
        blocks: list[nn.Module] = []
        previous = 3
        for width in channels:
            blocks += [nn.Conv2d(previous, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            previous = width
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                        nn.Linear(previous, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

"""The CNN's channel statistics, computed a chunk of images at a time, equal those of one float64 copy of all."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wekawbc.cnn import training


@pytest.mark.parametrize("count", [2, 5, 1100])
def test_chunked_channel_stats_equal_the_whole_copy(count, monkeypatch):
    monkeypatch.setattr(training, "_STATS_CHUNK", 256)  # several chunks, the last one short
    images = torch.from_numpy(np.random.default_rng(count).integers(0, 256, (count, 3, 24, 24), dtype=np.uint8))
    data = images.to(torch.float64) / 255.0
    whole = [*data.mean(dim=(0, 2, 3)).tolist(), *data.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()]
    mean, std = training._channel_stats(images)
    assert [*mean, *std] == pytest.approx(whole, rel=1e-12)
    # What the network sees: the float32 normaliser, identical.
    assert np.array_equal(np.float32([*mean, *std]), np.float32(whole))

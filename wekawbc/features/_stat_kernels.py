"""Compiled loops (numba) of the per-compartment colour statistics of :func:`wekawbc.features.compute._intensities`.

Each kernel gives the numbers of the numpy computation it replaces (``tests/test_fast_features.py``
compares them on real cells and on edge cases): float32 sums added in raster order as numpy adds the rows
of ``channels[mask]``, numpy's divisions and numpy's linear-interpolation percentiles.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["compartment_moments", "sorted_quantiles"]


@numba.njit(cache=True)
def compartment_moments(channels: np.ndarray, compartment: np.ndarray, sample: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixel counts, means, standard deviations and regular samples of the channels over three compartments.

    ``compartment``: 1 on the nucleus, 2 on the cytoplasm, 0 outside the cell; rows of the results: the
    nucleus, the cytoplasm and the whole cell (both). For each compartment's pixels ``pixels = channels[mask]``
    (raster order):

    - ``means``: ``pixels.mean(axis=0)`` as float32: the running float32 sums over the count, divided in float64
      (numpy's float32 array over an ``np.intp``) and stored as float32;
    - ``stds``: ``np.sqrt(np.add.reduce((pixels - mean) ** 2, axis=0) / count)`` in float32;
    - ``samples[which, channel]``: ``pixels[::step, channel]`` with ``step = max(count // sample, 1)``, followed by
      +inf up to the common width (so that one sort along the last axis sorts every sample, the padding last);
    - ``lengths``: each sample's length.

    An empty compartment has count 0, zero means and deviations and an empty sample.
    """
    rows, cols, depth = channels.shape
    sums = np.zeros((3, depth), np.float32)
    counts = np.zeros(3, np.int64)
    for row in range(rows):
        for col in range(cols):
            code = compartment[row, col]
            if code == 0:
                continue
            which = code - 1
            counts[which] += 1
            counts[2] += 1
            for channel in range(depth):
                value = channels[row, col, channel]
                sums[which, channel] += value
                sums[2, channel] += value
    means = np.zeros((3, depth), np.float32)
    steps = np.ones(3, np.int64)
    lengths = np.zeros(3, np.int64)
    for which in range(3):
        count = counts[which]
        if count:
            for channel in range(depth):
                means[which, channel] = np.float32(np.float64(sums[which, channel]) / np.float64(count))
            steps[which] = max(count // sample, 1)
            lengths[which] = (count + steps[which] - 1) // steps[which]
    samples = np.full((3, depth, max(lengths.max(), 1)), np.inf, np.float32)
    spreads = np.zeros((3, depth), np.float32)
    written = np.zeros(3, np.int64)  # the samples' lengths so far
    left = np.zeros(3, np.int64)  # pixels until the next sampled one
    for row in range(rows):
        for col in range(cols):
            code = compartment[row, col]
            if code == 0:
                continue
            which = code - 1
            for channel in range(depth):
                value = channels[row, col, channel]
                deviation = value - means[which, channel]
                spreads[which, channel] += deviation * deviation
                deviation = value - means[2, channel]
                spreads[2, channel] += deviation * deviation
            for part in (which, 2):
                if left[part] == 0:
                    at = written[part]
                    for channel in range(depth):
                        samples[part, channel, at] = channels[row, col, channel]
                    written[part] = at + 1
                    left[part] = steps[part]
                left[part] -= 1
    stds = np.zeros((3, depth), np.float32)
    for which in range(3):
        if counts[which]:
            count = np.float32(counts[which])
            for channel in range(depth):
                stds[which, channel] = np.sqrt(spreads[which, channel] / count)
    return counts, means, stds, samples, lengths


@numba.njit(cache=True)
def sorted_quantiles(ordered: np.ndarray, lengths: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """``np.percentile`` (linear method) of sorted samples: ``ordered[which, channel, :lengths[which]]`` is one
    channel's sample of compartment ``which``, sorted; the result's ``[which, k, channel]`` is its
    ``fractions[k]`` quantile (float64; 0 where the sample is empty).

    numpy's steps: the virtual index ``(n - 1) q``, its floor and the next index (kept inside the data), the
    difference of the two values in the data's type and ``a + (b - a) t`` in float64 (from ``b`` where
    ``t >= 0.5``), as :func:`wekawbc.features.compute._quantiles` computes them.
    """
    parts, depth, _ = ordered.shape
    found = np.zeros((parts, len(fractions), depth))
    for which in range(parts):
        count = lengths[which]
        if count == 0:
            continue
        for k in range(len(fractions)):
            position = (count - 1) * fractions[k]
            below = min(max(math.floor(position), 0), count - 1)
            above = min(below + 1, count - 1)
            weight = position - below
            for channel in range(depth):
                low = ordered[which, channel, below]
                high = ordered[which, channel, above]
                difference = np.float64(high - low)
                if weight >= 0.5:
                    found[which, k, channel] = np.float64(high) - difference * (1 - weight)
                else:
                    found[which, k, channel] = np.float64(low) + difference * weight
    return found

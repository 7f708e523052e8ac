"""Compiled loops (numba) of the per-compartment colour statistics of :func:`wekawbc.features.compute._intensities`.

Each kernel gives the numbers of the numpy computation it replaces (``tests/test_fast_features.py``
compares them on real cells and on edge cases): float32 sums added in raster order as numpy adds the rows
of ``channels[mask]``, numpy's divisions and numpy's linear-interpolation percentiles.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["compartment_moments", "lbp_counts", "sorted_quantiles"]


@numba.njit(cache=True, inline="always")
def _add_pixel(sums: np.ndarray, which: int, plane: np.ndarray, row: int, col: int, offset: int) -> None:
    """Add the pixel's channels of one plane to the running sums of compartment ``which`` and of the cell."""
    for k in range(3):
        value = plane[row, col, k]
        sums[which, offset + k] += value
        sums[2, offset + k] += value


@numba.njit(cache=True, inline="always")
def _add_deviations(spreads: np.ndarray, means: np.ndarray, which: int, plane: np.ndarray, row: int, col: int,
                    offset: int) -> None:
    """Add the squared float32 deviations of the pixel's channels of one plane from compartment ``which``'s
    means and from the cell's."""
    for k in range(3):
        value = plane[row, col, k]
        deviation = value - means[which, offset + k]
        spreads[which, offset + k] += deviation * deviation
        deviation = value - means[2, offset + k]
        spreads[2, offset + k] += deviation * deviation


@numba.njit(cache=True, inline="always")
def _copy_pixel(samples: np.ndarray, part: int, at: int, first: np.ndarray, second: np.ndarray, third: np.ndarray,
                row: int, col: int) -> None:
    """Copy the pixel's nine channels into place ``at`` of sample ``part``."""
    for k in range(3):
        samples[part, k, at] = first[row, col, k]
        samples[part, 3 + k, at] = second[row, col, k]
        samples[part, 6 + k, at] = third[row, col, k]


@numba.njit(cache=True)
def compartment_moments(first: np.ndarray, second: np.ndarray, third: np.ndarray, compartment: np.ndarray,
                        sample: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixel counts, means, standard deviations and regular samples of the channels over three compartments.

    ``first``, ``second``, ``third``: float32 arrays of shape (rows, cols, 3) whose channels side by side are the
    ``channels`` below (``np.concatenate([first, second, third], axis=2)``, without building it; read as three
    arrays, not a tuple, so that the loops know each one's type). ``compartment``: 1 on the nucleus, 2 on the
    cytoplasm, 0 outside the cell; rows of the results: the nucleus, the cytoplasm and the whole cell (both).
    For each compartment's pixels ``pixels = channels[mask]`` (raster order):

    - ``means``: ``pixels.mean(axis=0)`` as float32: the running float32 sums over the count, divided in float64
      (numpy's float32 array over an ``np.intp``) and stored as float32;
    - ``stds``: ``np.sqrt(np.add.reduce((pixels - mean) ** 2, axis=0) / count)`` in float32;
    - ``samples[which, channel]``: ``pixels[::step, channel]`` with ``step = max(count // sample, 1)``, followed by
      +inf up to the common width (so that one sort along the last axis sorts every sample, the padding last);
    - ``lengths``: each sample's length.

    An empty compartment has count 0, zero means and deviations and an empty sample.
    """
    rows, cols, _ = first.shape
    one, two = first.shape[2], first.shape[2] + second.shape[2]  # where the second and third planes' channels start
    depth = two + third.shape[2]
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
            _add_pixel(sums, which, first, row, col, 0)
            _add_pixel(sums, which, second, row, col, one)
            _add_pixel(sums, which, third, row, col, two)
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
            _add_deviations(spreads, means, which, first, row, col, 0)
            _add_deviations(spreads, means, which, second, row, col, one)
            _add_deviations(spreads, means, which, third, row, col, two)
            if left[which] == 0:
                _copy_pixel(samples, which, written[which], first, second, third, row, col)
                written[which] += 1
                left[which] = steps[which]
            left[which] -= 1
            if left[2] == 0:
                _copy_pixel(samples, 2, written[2], first, second, third, row, col)
                written[2] += 1
                left[2] = steps[2]
            left[2] -= 1
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


@numba.njit(cache=True)
def lbp_counts(grey: np.ndarray, inside: np.ndarray, steps: np.ndarray, table: np.ndarray, bins: int) -> np.ndarray:
    """The counts of each uniform LBP code (:func:`wekawbc.features.compute.uniform_lbp`) over the ``inside``
    pixels of a 2-D uint8 ``grey``: ``np.bincount(uniform_lbp(grey)[inside])``'s counts.

    ``steps``: each point's (row, column) offset; ``table``: the code of every bit pattern. Each point's value
    is ``uniform_lbp``'s arithmetic, in float64 and in the same order (the interpolation along the row at the
    two rows around the point, then across them; a point on the lattice read as it is), pixels outside the
    image 0. Computed a row at a time, point by point, over every column (loops the compiler vectorises),
    from a copy of ``grey`` framed by a pixel of 0 (no bounds tests), each point's interpolation weights
    computed once per column and per row by the same expressions (``(col + step) - (col + floor(step))``,
    which depends on the column); only the ``inside`` pixels' patterns are counted.
    """
    rows, cols = grey.shape
    points = steps.shape[0]
    framed = np.zeros((rows + 2, cols + 2), np.float64)
    for row in range(rows):
        for col in range(cols):
            framed[row + 1, col + 1] = grey[row, col]
    low_r = np.empty(points, np.int64)
    high_r = np.empty(points, np.int64)
    low_c = np.empty(points, np.int64)
    high_c = np.empty(points, np.int64)
    on_lattice = np.empty(points, np.bool_)
    across = np.empty((points, cols))  # dc: each point's weight of the higher column, per column
    down = np.empty((points, rows))  # dr: each point's weight of the lower row, per row
    for point in range(points):
        low_r[point], high_r[point] = np.floor(steps[point, 0]), np.ceil(steps[point, 0])
        low_c[point], high_c[point] = np.floor(steps[point, 1]), np.ceil(steps[point, 1])
        on_lattice[point] = low_r[point] == high_r[point] and low_c[point] == high_c[point]
        for col in range(cols):
            across[point, col] = (np.float64(col) + steps[point, 1]) - (np.float64(col) + low_c[point])
        for row in range(rows):
            down[point, row] = (np.float64(row) + steps[point, 0]) - (np.float64(row) + low_r[point])
    counts = np.zeros(bins, np.int64)
    pattern = np.zeros(cols, np.int64)  # one row's bit patterns, built point by point (loops without branches)
    for row in range(rows):
        pattern[:] = 0
        for point in range(points):
            top_row, bottom_row = row + 1 + low_r[point], row + 1 + high_r[point]
            left, right = 1 + low_c[point], 1 + high_c[point]
            bit = np.int64(1) << point
            if on_lattice[point]:
                for col in range(cols):
                    if framed[top_row, col + left] - framed[row + 1, col + 1] >= 0:
                        pattern[col] |= bit
                continue
            dr = down[point, row]
            for col in range(cols):
                dc = across[point, col]
                top = (1 - dc) * framed[top_row, col + left] + dc * framed[top_row, col + right]
                bottom = (1 - dc) * framed[bottom_row, col + left] + dc * framed[bottom_row, col + right]
                if ((1 - dr) * top + dr * bottom) - framed[row + 1, col + 1] >= 0:
                    pattern[col] |= bit
        for col in range(cols):
            if inside[row, col]:
                counts[int(table[pattern[col]])] += 1
    return counts

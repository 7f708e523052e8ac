"""Compiled loops (numba) of the per-compartment colour statistics of :func:`wekawbc.features.compute._intensities`.

Each kernel gives the numbers of the numpy computation it replaces (``tests/test_fast_features.py``
compares them on real cells and on edge cases): float32 sums added in raster order as numpy adds the rows
of ``channels[mask]``, numpy's divisions and numpy's linear-interpolation percentiles.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from wekawbc.features._kernels import cooccurrences

__all__ = ["colour_sums", "compartment_moments", "density_spread", "lbp_counts", "quantised_cooccurrences",
           "sorted_quantiles"]


@numba.njit(cache=True, inline="always")
def _pixel(first: np.ndarray, second: np.ndarray, third: np.ndarray, row: int, col: int) -> tuple:
    """The pixel's nine channels (float32)."""
    return (first[row, col, 0], first[row, col, 1], first[row, col, 2], second[row, col, 0], second[row, col, 1],
            second[row, col, 2], third[row, col, 0], third[row, col, 1], third[row, col, 2])


@numba.njit(cache=True, inline="always")
def _plus(sums: tuple, values: tuple) -> tuple:
    """Nine running float32 sums, each plus its value: kept in a tuple (registers), not in an array in memory."""
    return (sums[0] + values[0], sums[1] + values[1], sums[2] + values[2], sums[3] + values[3], sums[4] + values[4],
            sums[5] + values[5], sums[6] + values[6], sums[7] + values[7], sums[8] + values[8])


@numba.njit(cache=True, inline="always")
def _squares(values: tuple, means: tuple) -> tuple:
    """The float32 squared deviations of nine values from their means."""
    return ((values[0] - means[0]) * (values[0] - means[0]), (values[1] - means[1]) * (values[1] - means[1]),
            (values[2] - means[2]) * (values[2] - means[2]), (values[3] - means[3]) * (values[3] - means[3]),
            (values[4] - means[4]) * (values[4] - means[4]), (values[5] - means[5]) * (values[5] - means[5]),
            (values[6] - means[6]) * (values[6] - means[6]), (values[7] - means[7]) * (values[7] - means[7]),
            (values[8] - means[8]) * (values[8] - means[8]))


@numba.njit(cache=True, inline="always")
def _nine(row: np.ndarray) -> tuple:
    """A row of nine values as a tuple."""
    return row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8]


@numba.njit(cache=True, inline="always")
def _row(values: tuple) -> np.ndarray:
    """Nine float32 values as an array."""
    found = np.empty(9, np.float32)
    for channel in range(9):
        found[channel] = values[channel]
    return found


@numba.njit(cache=True)
def compartment_moments(first: np.ndarray, second: np.ndarray, third: np.ndarray, compartment: np.ndarray,
                        sample: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixel counts, means, standard deviations and regular samples of the channels over three compartments.

    ``first``, ``second``, ``third``: float32 arrays of shape (rows, cols, 3) whose nine channels side by side
    are the ``channels`` below (``np.concatenate([first, second, third], axis=2)``, without building it).
    ``compartment``: 1 on the nucleus, 2 on the cytoplasm, 0 outside the cell; rows of the results: the
    nucleus, the cytoplasm and the whole cell (both). For each compartment's pixels ``pixels = channels[mask]``
    (raster order):

    - ``means``: ``pixels.mean(axis=0)`` as float32: the running float32 sums over the count, divided in float64
      (numpy's float32 array over an ``np.intp``) and stored as float32;
    - ``stds``: ``np.sqrt(np.add.reduce((pixels - mean) ** 2, axis=0) / count)`` in float32;
    - ``samples[which, channel]``: ``pixels[::step, channel]`` with ``step = max(count // sample, 1)``, followed by
      +inf up to the common width (so that one sort along the last axis sorts every sample, the padding last);
    - ``lengths``: each sample's length.

    An empty compartment has count 0, zero means and deviations and an empty sample. The running sums are
    tuples of nine float32 (values the compiler keeps in registers), the same adds in the same order.
    """
    rows, cols = compartment.shape
    zero = np.float32(0.0)
    nucleus = cytoplasm = cell = (zero, zero, zero, zero, zero, zero, zero, zero, zero)
    counts = np.zeros(3, np.int64)
    for row in range(rows):
        for col in range(cols):
            code = compartment[row, col]
            if code == 0:
                continue
            values = _pixel(first, second, third, row, col)
            if code == 1:
                nucleus = _plus(nucleus, values)
            else:
                cytoplasm = _plus(cytoplasm, values)
            cell = _plus(cell, values)
            counts[code - 1] += 1
    counts[2] = counts[0] + counts[1]
    sums = np.stack((_row(nucleus), _row(cytoplasm), _row(cell)))
    means = np.zeros((3, 9), np.float32)
    steps = np.ones(3, np.int64)
    lengths = np.zeros(3, np.int64)
    for which in range(3):
        count = counts[which]
        if count:
            for channel in range(9):
                means[which, channel] = np.float32(np.float64(sums[which, channel]) / np.float64(count))
            steps[which] = max(count // sample, 1)
            lengths[which] = (count + steps[which] - 1) // steps[which]
    nucleus_mean, cytoplasm_mean, cell_mean = _nine(means[0]), _nine(means[1]), _nine(means[2])
    nucleus = cytoplasm = cell = (zero, zero, zero, zero, zero, zero, zero, zero, zero)
    samples = np.full((3, 9, max(lengths.max(), 1)), np.inf, np.float32)
    written = np.zeros(3, np.int64)  # the samples' lengths so far
    left = np.zeros(3, np.int64)  # pixels until the next sampled one
    for row in range(rows):
        for col in range(cols):
            code = compartment[row, col]
            if code == 0:
                continue
            values = _pixel(first, second, third, row, col)
            if code == 1:
                nucleus = _plus(nucleus, _squares(values, nucleus_mean))
            else:
                cytoplasm = _plus(cytoplasm, _squares(values, cytoplasm_mean))
            cell = _plus(cell, _squares(values, cell_mean))
            for part in (code - 1, 2):
                if left[part] == 0:
                    for channel in range(9):
                        samples[part, channel, written[part]] = values[channel]
                    written[part] += 1
                    left[part] = steps[part]
                left[part] -= 1
    spreads = np.stack((_row(nucleus), _row(cytoplasm), _row(cell)))
    stds = np.zeros((3, 9), np.float32)
    for which in range(3):
        if counts[which]:
            count = np.float32(counts[which])
            for channel in range(9):
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
    which depends on the column), and the interpolations along the rows once for all the points with the same
    column step (as ``uniform_lbp`` shares them); only the ``inside`` pixels' patterns are counted.
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
    # Each point's interpolation along the row, (1 - dc) level[left] + dc level[right], on every framed row:
    # the same numbers for the points that share a column step (computed once for them).
    source = np.arange(points)  # the point whose along-row values each point reads
    for point in range(points):
        for earlier in range(point):
            if not on_lattice[earlier] and steps[earlier, 1] == steps[point, 1]:
                source[point] = earlier
                break
    along = np.empty((points, rows + 2, cols))
    for point in range(points):
        if on_lattice[point] or source[point] != point:
            continue
        left, right = 1 + low_c[point], 1 + high_c[point]
        for row in range(rows + 2):
            for col in range(cols):
                dc = across[point, col]
                along[point, row, col] = (1 - dc) * framed[row, col + left] + dc * framed[row, col + right]
    counts = np.zeros(bins, np.int64)
    pattern = np.zeros(cols, np.int64)  # one row's bit patterns, built point by point (loops without branches)
    for row in range(rows):
        pattern[:] = 0
        for point in range(points):
            top_row, bottom_row = row + 1 + low_r[point], row + 1 + high_r[point]
            bit = np.int64(1) << point
            if on_lattice[point]:
                left = 1 + low_c[point]
                for col in range(cols):
                    if framed[top_row, col + left] - framed[row + 1, col + 1] >= 0:
                        pattern[col] |= bit
                continue
            dr = down[point, row]
            rows_along = along[source[point]]
            for col in range(cols):
                value = (1 - dr) * rows_along[top_row, col] + dr * rows_along[bottom_row, col]
                if value - framed[row + 1, col + 1] >= 0:
                    pattern[col] |= bit
        for col in range(cols):
            if inside[row, col]:
                counts[int(table[pattern[col]])] += 1
    return counts


@numba.njit(cache=True)
def colour_sums(levels: np.ndarray, densities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The column sums of a compartment's 8-bit levels and of their optical densities, both of shape (n, 3).

    The levels' sums are exact integers (int64); the densities' are running sums in the densities' type, row
    after row: ``np.add.reduce(densities, axis=0)``'s numbers (:func:`wekawbc.cells.granules.column_sums`).
    One pass, the running sums kept in registers.
    """
    red = green = blue = 0
    first = second = third = densities.dtype.type(0)
    for index in range(levels.shape[0]):
        red += levels[index, 0]
        green += levels[index, 1]
        blue += levels[index, 2]
    for index in range(densities.shape[0]):
        first += densities[index, 0]
        second += densities[index, 1]
        third += densities[index, 2]
    found = np.empty(3, densities.dtype)
    found[0], found[1], found[2] = first, second, third
    return np.array([red, green, blue], np.int64), found


@numba.njit(cache=True)
def quantised_cooccurrences(values: np.ndarray, inside: np.ndarray, low: float, high: float, levels: int
                            ) -> np.ndarray | None:
    """:func:`wekawbc.features.compute.quantised_glcm`'s matrices once its percentiles ``low`` and ``high`` are
    known, in one compiled call: each ``inside`` value quantised as numpy quantises it, in float64
    (``clip((value - low) / max(high - low, 1e-6) * levels, 0, levels - 1)``, truncated, plus 1; 0 outside),
    the pairs counted by :func:`wekawbc.features._kernels.cooccurrences`, and each angle's counts over their
    total (a sum of integers, exact in any order); None when an angle has no pair.
    """
    rows, cols = values.shape
    span = max(high - low, 1e-6)
    quantised = np.zeros((rows, cols), np.uint8)
    for row in range(rows):
        for col in range(cols):
            if inside[row, col]:
                level = (np.float64(values[row, col]) - low) / span * levels
                level = min(max(level, 0.0), levels - 1.0)
                quantised[row, col] = np.uint8(int(level) + 1)
    counts = cooccurrences(quantised, levels)
    matrix = np.empty(counts.shape)
    for angle in range(counts.shape[3]):
        total = 0
        for first in range(levels):
            for second in range(levels):
                total += counts[first, second, 0, angle]
        if total == 0:
            return None
        for first in range(levels):
            for second in range(levels):
                matrix[first, second, 0, angle] = counts[first, second, 0, angle] / np.float64(total)
    return matrix


@numba.njit(cache=True)
def _block_sum(values: np.ndarray, start: int, count: int) -> float:
    """numpy's pairwise sum of at most 128 values: under 8 one after the other, else eight running sums combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the rest one after the other."""
    if count < 8:
        total = -0.0
        for index in range(start, start + count):
            total += values[index]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    end = start + count - count % 8
    for index in range(start + 8, end, 8):
        r0 += values[index]
        r1 += values[index + 1]
        r2 += values[index + 2]
        r3 += values[index + 3]
        r4 += values[index + 4]
        r5 += values[index + 5]
        r6 += values[index + 6]
        r7 += values[index + 7]
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for index in range(end, start + count):
        total += values[index]
    return total


@numba.njit(cache=True)
def _pairwise_sum(values: np.ndarray) -> float:
    """numpy's pairwise sum of a contiguous float64 array (``values.sum()``'s number): blocks of at most 128
    values (:func:`_block_sum`); above that the first half (a multiple of 8) and the second summed alike and
    added. numpy's recursion, walked with an explicit stack (numba's cache cannot hold a recursive function)."""
    first = np.empty(64, np.int64)  # each pending node's first value, its count, its left half's count
    counts = np.empty(64, np.int64)
    halves = np.empty(64, np.int64)
    lefts = np.empty(64)  # the left half's sum, once known
    done_left = np.zeros(64, np.bool_)
    depth = 0
    first[0], counts[0], done_left[0] = 0, len(values), False
    while True:
        if counts[depth] <= 128:  # a leaf: its sum goes up until a node still needs its right half
            total = _block_sum(values, first[depth], counts[depth])
            depth -= 1
            while depth >= 0 and done_left[depth]:
                total = lefts[depth] + total
                depth -= 1
            if depth < 0:
                return total
            lefts[depth], done_left[depth] = total, True
            first[depth + 1], counts[depth + 1] = first[depth] + halves[depth], counts[depth] - halves[depth]
        else:  # a node: its left half first
            half = counts[depth] // 2
            halves[depth] = half - half % 8
            first[depth + 1], counts[depth + 1] = first[depth], halves[depth]
        depth += 1
        done_left[depth] = False


@numba.njit(cache=True)
def density_spread(densities: np.ndarray) -> tuple[float, float]:
    """The mean and standard deviation of a compartment's summed optical densities (float64, shape (n, 3), n > 0):
    ``summed = (d[:, 0] + d[:, 1]) + d[:, 2]`` (:func:`wekawbc.cells.granules.pixel_totals`), then
    ``summed.mean()`` and ``summed.std()`` as numpy computes them (pairwise sums, the deviations from the mean
    squared and summed pairwise, over the count), without the intermediate arrays' calls."""
    count = densities.shape[0]
    summed = np.empty(count)
    for index in range(count):
        summed[index] = (densities[index, 0] + densities[index, 1]) + densities[index, 2]
    mean = _pairwise_sum(summed) / count
    for index in range(count):
        deviation = summed[index] - mean
        summed[index] = deviation * deviation
    return mean, np.sqrt(_pairwise_sum(summed) / count)

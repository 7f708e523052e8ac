"""Compiled loops (numba) of the feature computation, where numpy and OpenCV need many small calls.

Each kernel gives the numbers of the plain computation it replaces (``tests/test_fast_features.py``
compares them on real cells): exact integer counts, float32 comparisons made in float32 as numpy makes
them for a float32 array and a Python float.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["chord_share", "component_boxes", "cooccurrences",
           "forest_leaves", "large_components", "level_regions", "opened_pieces"]


@numba.njit(cache=True)
def _root(parent: np.ndarray, node: int) -> int:
    while parent[node] != node:
        parent[node] = parent[parent[node]]  # path halving
        node = parent[node]
    return node


@numba.njit(cache=True)
def _components_above(image: np.ndarray, threshold: float, least: float) -> tuple[int, int]:
    """The number of 4-connected components of the pixels of a 2-D ``image`` above ``threshold`` (compared in the
    image's type, as numpy compares an array with a Python number), and the number of those of at least ``least``
    pixels.

    Row by row, each run of pixels above is joined (union-find, the lower index the root) to the runs of the row
    above whose columns overlap its own (4-connected), and a root holds its component's area.
    """
    rows, cols = image.shape
    level = image.dtype.type(threshold)
    most = rows * ((cols + 1) // 2)  # runs at most (each ends before a pixel not above, or at the row's end)
    starts = np.empty(most, np.int64)
    ends = np.empty(most, np.int64)
    parent = np.empty(most, np.int64)
    area = np.empty(most, np.int64)
    runs, previous = 0, 0
    for row in range(rows):
        current = runs
        col = 0
        while col < cols:
            if not image[row, col] > level:
                col += 1
                continue
            start = col
            while col < cols and image[row, col] > level:
                col += 1
            starts[runs], ends[runs], parent[runs], area[runs] = start, col, runs, col - start
            root = runs
            for other in range(previous, current):
                if starts[other] < col and ends[other] > start:
                    top = other
                    while parent[top] != top:
                        parent[top] = parent[parent[top]]  # path halving
                        top = parent[top]
                    if top != root:
                        if top < root:
                            top, root = root, top
                        parent[top] = root
                        area[root] += area[top]
            runs += 1
        previous = current
    count, large = 0, 0
    for run in range(runs):
        if parent[run] == run:
            count += 1
            if area[run] >= least:
                large += 1
    return count, large


@numba.njit(cache=True)
def large_components(mask: np.ndarray, least: float) -> tuple[int, int]:
    """The number of 4-connected components of a 2-D uint8 mask's nonzero pixels
    (``cv2.connectedComponents(mask, connectivity=4)[0] - 1``) and the number of those of at least ``least``
    pixels (``(np.bincount(labels.ravel())[1:] >= least).sum()``)."""
    return _components_above(mask, 0, least)


@numba.njit(cache=True)
def component_boxes(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The 4-connected components of a 2-D uint8 mask's nonzero pixels: their number, the labels (int32, 1 to the
    number in raster order of each component's first pixel, as ``cv2.connectedComponents`` and
    ``scipy.ndimage.label`` number them; 0 outside), each label's area and bounding box (rows ``[top, bottom)``,
    columns ``[left, right)``; row ``label - 1``, as ``scipy.ndimage.find_objects`` gives the slices).

    Runs joined as in :func:`_components_above` (a component's root is its first run), then painted.
    """
    rows, cols = mask.shape
    most = rows * ((cols + 1) // 2)
    starts = np.empty(most, np.int64)
    ends = np.empty(most, np.int64)
    at_row = np.empty(most, np.int64)
    parent = np.empty(most, np.int64)
    runs, previous = 0, 0
    for row in range(rows):
        current = runs
        col = 0
        while col < cols:
            if mask[row, col] == 0:
                col += 1
                continue
            start = col
            while col < cols and mask[row, col] != 0:
                col += 1
            starts[runs], ends[runs], at_row[runs], parent[runs] = start, col, row, runs
            root = runs
            for other in range(previous, current):
                if starts[other] < col and ends[other] > start:
                    top = other
                    while parent[top] != top:
                        parent[top] = parent[parent[top]]
                        top = parent[top]
                    if top != root:
                        if top < root:
                            top, root = root, top
                        parent[top] = root
            runs += 1
        previous = current
    label = np.zeros(runs, np.int32)
    count = 0
    for run in range(runs):  # roots in raster order of their first pixel
        if parent[run] == run:
            count += 1
            label[run] = count
    labels = np.zeros((rows, cols), np.int32)
    areas = np.zeros(count + 1, np.int64)
    boxes = np.empty((count, 4), np.int64)
    boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3] = rows, -1, cols, -1
    for run in range(runs):
        top = run
        while parent[top] != top:
            top = parent[top]
        which = label[top]
        row, start, end = at_row[run], starts[run], ends[run]
        labels[row, start:end] = which
        areas[which] += end - start
        box = boxes[which - 1]
        box[0], box[1] = min(box[0], row), max(box[1], row + 1)
        box[2], box[3] = min(box[2], start), max(box[3], end)
    return count, labels, areas, boxes


@numba.njit(cache=True)
def _disc_dilation(depth: np.ndarray, size: int, opened: np.ndarray) -> None:
    """Write into ``opened`` (uint8) 1 on the pixels within Euclidean distance ``size`` of a pixel of ``depth > size``
    (the dilation of that erosion by the disc of lattice points within ``size``), 0 elsewhere.

    A pixel is within ``size`` of the erosion when some column ``c'`` has an erosion pixel ``v`` rows away with
    ``v <= size`` and ``|c - c'| <= isqrt(size**2 - v**2)``: each column's nearest erosion pixel above or below
    (``v``, two passes down the columns), then each row's union of the intervals those columns reach (one sweep),
    in integers throughout.
    """
    rows, cols = depth.shape
    level = np.float32(size)
    far = size + 1
    reach = np.empty((rows, cols), np.int64)  # rows to the nearest erosion pixel in the column, ``far`` when more
    last = np.full(cols, -1, np.int64)  # each column's last erosion row so far (row by row: the arrays' own order)
    for row in range(rows):
        for col in range(cols):
            if depth[row, col] > level:
                last[col] = row
            reach[row, col] = min(row - last[col], far) if last[col] >= 0 else far
    last[:] = -1
    for row in range(rows - 1, -1, -1):
        for col in range(cols):
            if depth[row, col] > level:
                last[col] = row
            if last[col] >= 0 and last[col] - row < reach[row, col]:
                reach[row, col] = last[col] - row
    widths = np.empty(far, np.int64)  # isqrt(size**2 - v**2) for each v up to size
    for v in range(far):
        left = size * size - v * v
        width = int(np.sqrt(np.float64(left)))
        while width * width > left:
            width -= 1
        while (width + 1) * (width + 1) <= left:
            width += 1
        widths[v] = width
    ends = np.empty(cols, np.int64)
    for row in range(rows):
        ends[:] = -1
        for col in range(cols):
            v = reach[row, col]
            if v < far:
                start = max(col - widths[v], 0)
                if col + widths[v] > ends[start]:
                    ends[start] = col + widths[v]
        current = -1
        for col in range(cols):
            if ends[col] > current:
                current = ends[col]
            opened[row, col] = 1 if current >= col else 0


@numba.njit(cache=True)
def opened_pieces(depth: np.ndarray, sizes: np.ndarray, least: float) -> np.ndarray:
    """For each disc radius ``k`` of ``sizes`` (int64): the number of pieces of at least ``least`` pixels (at least
    1) of the opening by the disc of the mask whose exact Euclidean distance map (float32, 0 outside) is ``depth``.

    As :func:`wekawbc.cells.lobes._lobe_counts_and_parts` counts them: 1 when the erosion (``depth > k``, in
    float32) is in one 4-connected piece or none; else the opening is the pixels within ``k`` of the erosion
    (:func:`_disc_dilation`: the pixels whose exact distance to the erosion, as
    :func:`wekawbc.cells._kernels.distances_to_outside` gives it in float32, is at most ``k``), and its
    4-connected pieces are counted.
    """
    rows, cols = depth.shape
    counts = np.ones(len(sizes), np.int64)
    opened = np.empty((rows, cols), np.uint8)
    for which in range(len(sizes)):
        size = sizes[which]
        if _components_above(depth, np.float32(size), least)[0] <= 1:
            continue
        _disc_dilation(depth, size, opened)
        counts[which] = max(_components_above(opened, 0, least)[1], 1)
    return counts


@numba.njit(cache=True)
def chord_share(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int, steps: int) -> float:
    """The share of ``mask`` pixels on the chord from ``(x0, y0)`` to ``(x1, y1)`` (columns, rows) sampled at
    ``steps`` points: ``mask[ys, xs].mean()`` for ``xs = np.linspace(x0, x1, steps).round().astype(int)`` and
    ``ys`` likewise, the same samples (numpy's ``start + i * step`` in float64, the last point the end itself,
    rounded half to even)."""
    div = steps - 1
    step_x = (np.float64(x1) - np.float64(x0)) / div if div > 0 else 0.0
    step_y = (np.float64(y1) - np.float64(y0)) / div if div > 0 else 0.0
    inside = 0
    for index in range(steps):
        if div > 0 and index == div:
            x, y = np.float64(x1), np.float64(y1)
        else:
            x, y = index * step_x + np.float64(x0), index * step_y + np.float64(y0)
        if mask[int(np.rint(y)), int(np.rint(x))]:
            inside += 1
    return inside / steps


@numba.njit(cache=True)
def level_regions(depth: np.ndarray, thresholds: np.ndarray, peak_floor: np.float32
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 4-connected regions of ``depth > t`` for each of the ascending float32 ``thresholds``, in one pass.

    For each threshold ``t``: the number of regions (``cv2.connectedComponents(depth > t, connectivity=4)[0] - 1``),
    the number of *lobes* among them (regions whose deepest pixel ``p`` has ``p >= peak_floor`` and
    ``p - t >= 0.5``, both in float32) and the second-largest lobe peak (0 with fewer than two lobes).
    ``depth``'s border must pass no threshold (a distance map of a mask padded with zeros).

    The pixels are bucketed by the number of thresholds they pass and joined (union-find over the
    4-neighbours, the smaller tree under the larger) from the deepest bucket down; after each bucket the regions are those of the next
    lower threshold. A region's deepest pixel is kept at its root, and the roots in a list.
    """
    rows, cols = depth.shape
    levels = len(thresholds)
    flat = depth.ravel()
    size = rows * cols
    for row in range(rows):
        for col in (0, cols - 1):
            if depth[row, col] > thresholds[0]:
                raise ValueError("the map's border passes a threshold")
    for col in range(cols):
        if depth[0, col] > thresholds[0] or depth[rows - 1, col] > thresholds[0]:
            raise ValueError("the map's border passes a threshold")
    low = thresholds[0]
    inside = np.empty(size, np.int32)  # the pixels above the lowest threshold, in raster order
    bucket = np.empty(size, np.int32)  # each one's number of thresholds below its depth (at least 1)
    starts = np.zeros(levels + 2, np.int64)
    above = 0
    for pixel in range(size):
        value = flat[pixel]
        if value > low:
            passed = 1
            while passed < levels and thresholds[passed] < value:  # ascending: the first not below ends it
                passed += 1
            inside[above] = pixel
            bucket[above] = passed
            above += 1
            starts[passed + 1] += 1
    for index in range(levels + 1):
        starts[index + 1] += starts[index]
    order = np.empty(above, np.int32)  # the pixels above, bucket by bucket
    filled = starts[:-1].copy()
    for index in range(above):
        order[filled[bucket[index]]] = inside[index]
        filled[bucket[index]] += 1
    parent = np.full(size, -1, np.int32)
    peak = np.empty(size, np.float32)  # set where a pixel is added
    weight = np.empty(size, np.int32)  # each root's number of pixels
    roots = np.empty(max(above, 1), np.int32)  # the current regions' roots, first ``regions`` entries
    place = np.empty(size, np.int32)  # each root's place in ``roots``
    counts = np.zeros(levels, np.int64)
    lobes = np.zeros(levels, np.int64)
    second = np.zeros(levels, np.float32)
    regions = 0
    for which in range(levels, 0, -1):  # bucket ``which``: the pixels above threshold ``which - 1``
        for position in range(starts[which], starts[which + 1]):
            pixel = order[position]
            parent[pixel] = pixel
            peak[pixel] = flat[pixel]
            roots[regions] = pixel
            place[pixel] = regions
            regions += 1
            weight[pixel] = 1
            first = pixel  # the root of the pixel's region, kept as regions join
            for other in (pixel - cols, pixel + cols, pixel - 1, pixel + 1):  # inside: the border is never added
                if parent[other] < 0:
                    continue
                last = _root(parent, other)
                if first != last:
                    if weight[first] < weight[last]:  # the smaller tree under the larger (short paths)
                        first, last = last, first
                    parent[last] = first
                    weight[first] += weight[last]
                    if peak[last] > peak[first]:
                        peak[first] = peak[last]
                    regions -= 1  # ``last`` leaves the list: the list's last root takes its place
                    moved = roots[regions]
                    roots[place[last]] = moved
                    place[moved] = place[last]
        level = which - 1
        counts[level] = regions
        threshold = thresholds[level]
        best, next_best, found = np.float32(0.0), np.float32(0.0), 0
        for index in range(regions):
            top = peak[roots[index]]
            if top >= peak_floor and top - threshold >= 0.5:
                found += 1
                if top > best:
                    next_best, best = best, top
                elif top > next_best:
                    next_best = top
        lobes[level] = found
        second[level] = next_best if found >= 2 else np.float32(0.0)
    return counts, lobes, second


#: The pixel steps (rows, columns) of skimage's ``graycomatrix`` at distance 1 and angles 0, 45, 90 and 135
#: degrees (``round(sin(angle))``, ``round(cos(angle))``).
GLCM_STEPS = np.array([[0, 1], [1, 1], [1, 0], [1, -1]], np.int64)


@numba.njit(cache=True)
def cooccurrences(levels_map: np.ndarray, levels: int) -> np.ndarray:
    """``graycomatrix(levels_map, [1], angles, levels=levels + 1, symmetric=True)[1:, 1:]``'s counts (int64,
    shape ``(levels, levels, 1, angles)``) for the steps of :data:`GLCM_STEPS`: every pair of pixels one step
    apart whose grey levels (uint8, 0 outside, 1 to ``levels`` inside) are both above 0, counted both ways."""
    rows, cols = levels_map.shape
    angles = len(GLCM_STEPS)
    counts = np.zeros((levels, levels, 1, angles), np.int64)
    for angle in range(angles):
        step_row, step_col = GLCM_STEPS[angle, 0], GLCM_STEPS[angle, 1]
        for row in range(max(0, -step_row), min(rows, rows - step_row)):
            for col in range(max(0, -step_col), min(cols, cols - step_col)):
                first = levels_map[row, col]
                second = levels_map[row + step_row, col + step_col]
                if first > 0 and second > 0:
                    counts[first - 1, second - 1, 0, angle] += 1
                    counts[second - 1, first - 1, 0, angle] += 1
    return counts


@numba.njit(cache=True)
def forest_leaves(values: np.ndarray, left: np.ndarray, right: np.ndarray, feature: np.ndarray,
                  threshold: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """The leaf each tree of a flat forest (:func:`wekawbc.cells.lobes._forest`'s arrays) sends ``values`` to:
    from each root, left where ``values[feature] <= threshold`` (float32 against float32), until a node
    without children (``left`` -1)."""
    leaves = np.empty(len(roots), np.intp)
    for tree in range(len(roots)):
        node = roots[tree]
        while left[node] >= 0:
            node = left[node] if values[feature[node]] <= threshold[node] else right[node]
        leaves[tree] = node
    return leaves

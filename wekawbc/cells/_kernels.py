"""Compiled loops (numba) behind exact fast paths of segmentation and the red-cell scale.

Each function gives, bit for bit, what the library call named in its docstring gives on the inputs
wekawbc passes it; ``tests/test_fast_kernels.py`` compares them on real crops of the three labs and on
inputs built to break them (values on bin edges, plateaus and ties). Compiled once per machine
(``cache=True``: numba keeps the machine code beside this file, or in its user cache folder).
"""

from __future__ import annotations

import threading

import cv2
import numba
import numpy as np
from skimage.segmentation import watershed

__all__ = ["bin_counts", "distances_to", "distances_to_outside", "fill_small_holes", "flood_from_markers",
           "label_minima", "label_shape", "label_sums", "masked_histograms", "region_statistics", "stain_planes", "three_class_otsu", "to_unit_float",
           "unit_planes"]


@numba.njit(cache=True, nogil=True)
def _bin_counts(values: np.ndarray, edges: np.ndarray, estimates: np.ndarray) -> np.ndarray:  # pragma: no cover
    bins = edges.size - 1
    first, last = edges[0], edges[bins]
    start = np.float64(first)
    scale = bins / (np.float64(last) - start)
    # A value's position (v - first) * scale, rounded as it is, never decreases as v grows, so a value
    # whose position lies further than every edge's own position lies from its whole number (``drift``)
    # from the whole numbers around it is in the bin of its position's whole part: no comparison needed.
    drift = 0.0
    for i in range(bins + 1):
        drift = max(drift, abs((np.float64(edges[i]) - start) * scale - i))
    margin = drift + 2.0 ** -40
    top = np.float64(bins - 1)
    for k in range(values.size):  # (a loop without branches, which the compiler vectorises)
        position = (np.float64(values[k]) - start) * scale
        whole = np.floor(position)
        part = position - whole
        clear = whole >= 0.0 and whole <= top and part > margin and part < 1.0 - margin
        estimates[k] = np.int32(whole) if clear else -1
    counts = np.zeros(4 * bins, np.int64)  # four histograms, summed at the end: fewer stalls on a bin counted twice in a row
    for k in range(values.size):
        index = estimates[k]
        if index < 0:  # near an edge (or outside the range, or NaN): numpy's comparisons decide
            value = values[k]
            if not (value >= first and value <= last):
                continue
            index = np.int32(min(max((np.float64(value) - start) * scale, 0.0), top))
            while index > 0 and value < edges[index]:
                index -= 1
            while index < bins - 1 and value >= edges[index + 1]:
                index += 1
        counts[(k & 3) * bins + index] += 1
    return counts[:bins] + counts[bins:2 * bins] + counts[2 * bins:3 * bins] + counts[3 * bins:]


#: Per thread: the work array of :func:`bin_counts` (grown, never shrunk).
_WORK = threading.local()


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, bins=edges)[0]`` for increasing, evenly spaced ``edges`` of ``values``' dtype.

    A value ``v`` falls in bin ``i`` when ``edges[i] <= v < edges[i + 1]`` (the last bin closed), the
    rule numpy applies after its own estimate; here the estimates (in a work array kept per thread)
    and the counts run in two passes over the values instead of a dozen array operations, and only
    the values whose estimate lies too near an edge to be sure are compared with the edges.
    """
    flat = np.ascontiguousarray(values).reshape(-1)
    work = getattr(_WORK, "estimates", None)
    if work is None or work.size < flat.size:
        work = _WORK.estimates = np.empty(flat.size, np.int32)
    return _bin_counts(flat, np.asarray(edges, flat.dtype), work)


#: Each heap item of the watershed is one word: the value's rank (32 bits), the age (16 bits) and the
#: pixel (16 bits, the lowest); items are compared on the word without its pixel, ``word >> _PLACE``.
_PLACE = np.uint64(16)
#: The most pixels (frame included) a watershed's items can name, and its most ages.
_MOST_PLACES = 1 << 16


@numba.njit(cache=True, nogil=True)
def _push(heap: np.ndarray, items: int, word: np.uint64) -> None:  # pragma: no cover - compiled
    child = items  # sift up: parents larger than the new item move down
    key = word >> _PLACE
    while child > 0:
        parent = (child - 1) // 2
        if not key < heap[parent] >> _PLACE:
            break
        heap[child] = heap[parent]
        child = parent
    heap[child] = word


@numba.njit(cache=True, nogil=True)
def _pop(heap: np.ndarray, items: int) -> None:  # pragma: no cover - compiled
    # The top leaves (the caller read it; ``items`` counts what is left): the last item takes its
    # place and sifts down, swapping with its smaller child (the left one when both are equal) while
    # that child is smaller than it: scikit-image's moves. The smaller child is picked without a
    # branch; the slot the last item left holds the largest word, so that a right child past the
    # end is never picked.
    if items == 0:
        return
    word = heap[items]
    key = word >> _PLACE
    heap[items] = np.uint64(0xFFFFFFFFFFFFFFFF)
    i = 0
    while True:
        left = 2 * i + 1
        if left >= items:
            break
        on_left, on_right = heap[left] >> _PLACE, heap[left + 1] >> _PLACE
        if not min(on_left, on_right) < key:
            break
        child = left + (on_right < on_left)
        heap[i] = heap[child]
        i = child
    heap[i] = word


@numba.njit(cache=True, nogil=True)
def _flood(order: np.ndarray, labels: np.ndarray, offsets: np.ndarray) -> None:  # pragma: no cover - compiled
    # scikit-image's binary heap of (value, age), smallest first, pushed and popped as it does them so
    # that equal values leave in the same order; each item is one word (see ``_PLACE``): ``order``
    # (the value's rank, 32 bits), the age (16 bits), the pixel (16 bits). The frame around the image
    # is labelled -1: never pushed, never flooded.
    heap = np.empty(labels.size + 1, np.uint64)  # (one slot more: the sentinel past the last item)
    waiting = np.zeros(labels.max() + 1, np.int64)  # items in the heap per label
    kinds = 0  # labels with items in the heap
    items = 0
    for place in range(labels.size):  # the markers, in raster order, age 0
        if labels[place] > 0:
            _push(heap, items, (np.uint64(order[place]) << np.uint64(32)) | np.uint64(place))
            items += 1
            kinds += waiting[labels[place]] == 0
            waiting[labels[place]] += 1
    age = np.uint64(0)
    pixel = np.uint64(_MOST_PLACES - 1)
    # Once every item waiting has one label, all that is left to flood takes that label, whatever
    # the order: the pixels connected to the waiting ones through unlabelled pixels.
    while kinds > 1:
        word = heap[0]
        value, place = word >> np.uint64(32), np.int64(word & pixel)
        label = labels[place]
        items -= 1
        _pop(heap, items)
        waiting[label] -= 1
        kinds -= waiting[label] == 0
        for offset in offsets:
            neighbour = place + offset
            if labels[neighbour] != 0:
                continue
            age += np.uint64(1)  # (fewer than _MOST_PLACES: one push per unlabelled pixel)
            labels[neighbour] = label  # labelled when pushed: nothing reaches it cheaper later
            _push(heap, items, (max(np.uint64(order[neighbour]), value) << np.uint64(32)) | (age << _PLACE) | np.uint64(neighbour))
            items += 1
            kinds += waiting[label] == 0
            waiting[label] += 1
    places = np.empty(labels.size, np.int64)
    for k in range(items):
        places[k] = np.int64(heap[k] & pixel)
    while items > 0:  # (kinds is 1) a depth-first fill from the waiting pixels
        items -= 1
        place = places[items]
        for offset in offsets:
            neighbour = place + offset
            if labels[neighbour] == 0:
                labels[neighbour] = labels[place]
                places[items] = neighbour
                items += 1


@numba.njit(cache=True, nogil=True)
def _framed(bits: np.ndarray, markers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    # Each value's rank as an unsigned integer (the float's bits, negatives reversed) and the markers,
    # in arrays one pixel wider on each side; the frame's label is -1.
    rows, cols = bits.shape
    order = np.zeros((rows + 2, cols + 2), np.uint32)
    labels = np.full((rows + 2, cols + 2), -1, np.int32)
    top = np.uint32(1 << 31)
    for row in range(rows):
        for col in range(cols):
            value = bits[row, col]
            order[row + 1, col + 1] = ~value if value & top else value | top
            labels[row + 1, col + 1] = markers[row, col]
    return order, labels


def flood_from_markers(image: np.ndarray, markers: np.ndarray) -> np.ndarray:
    """``skimage.segmentation.watershed(image, markers)`` of a 2-D float32 image (4-connected, no mask, no compactness).

    Pixels are flooded from the markers in order of value, then of the time they were reached, each
    taking the label of the pixel that reached it: scikit-image's algorithm and its priority queue,
    compiled here without its general-purpose checks. Once only one label is left to spread, the
    rest is a plain fill (the heap's order no longer matters). An image of more than about 65,000
    pixels (more than a heap item's 16 bits name) is left to scikit-image itself.

    Parameters
    ----------
    image : ndarray of float32, shape (rows, cols)
        No NaN. (scikit-image widens it to float64, which keeps every value and every comparison.)
    markers : ndarray of int, shape (rows, cols)
        0 where unlabelled; labels are positive (a negative one would be a wall).
    """
    if image.dtype != np.float32 or image.ndim != 2:
        raise TypeError(f"expected a 2-D float32 image, got {image.dtype} {image.shape}")
    if (image.shape[0] + 2) * (image.shape[1] + 2) > _MOST_PLACES:
        return watershed(image, np.asarray(markers, np.int32))
    # (-0 counted as 0: adding 0 turns it into +0)
    order, labels = _framed((image + np.float32(0.0)).view(np.uint32), np.asarray(markers, np.int32))
    width = image.shape[1] + 2
    _flood(order.reshape(-1), labels.reshape(-1), np.array([-width, -1, 1, width], np.int64))
    return labels[1:-1, 1:-1].copy()


@numba.njit(cache=True, nogil=True)
def _region_statistics(labels: np.ndarray, count: int, marked: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    areas = np.zeros(count, np.int64)
    hits = np.zeros(count, np.int64)
    boxes = np.empty((count, 4), np.int64)  # row start, row stop, column start, column stop
    boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3] = labels.shape[0], 0, labels.shape[1], 0
    cols = labels.shape[1]
    for row in range(labels.shape[0]):  # a run of one label along the row at a time
        col = 0
        while col < cols:
            label = labels[row, col]
            start, hit = col, 0
            while col < cols and labels[row, col] == label:
                hit += marked[row, col]
                col += 1
            areas[label] += col - start
            hits[label] += hit
            boxes[label, 0] = min(boxes[label, 0], row)
            boxes[label, 1] = max(boxes[label, 1], row + 1)
            boxes[label, 2] = min(boxes[label, 2], start)
            boxes[label, 3] = max(boxes[label, 3], col)
    return areas, hits, boxes


def region_statistics(labels: np.ndarray, count: int, marked: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label of a 2-D label image (labels ``0 .. count - 1``): pixels, ``marked`` pixels, bounding box.

    ``np.bincount(labels.ravel(), minlength=count)``, ``np.bincount(labels[marked], minlength=count)``
    and the boxes of ``scipy.ndimage.find_objects(labels)`` as ``(row start, row stop, column start,
    column stop)`` rows (a label without pixels gets an empty box: start past stop), in one pass
    that updates each label once per run of it along a row (about three times faster on a crop's
    red-cell labels than once per pixel).
    """
    return _region_statistics(labels, count, marked.view(np.uint8) if marked.dtype == bool else marked)


@numba.njit(cache=True, nogil=True)
def _fill_holes(mask: np.ndarray, seen: np.ndarray, rows: int, cols: int, max_area: int) -> np.ndarray:  # pragma: no cover
    # ``seen``: the mask's pixels and the background the border reaches; each hole's are added as it is walked.
    filled = mask.copy()
    queue = np.empty(rows * cols, np.int64)
    for start in range(rows * cols):
        if seen[start]:
            continue
        # Walk one 4-connected component of the background, breadth first.
        seen[start] = True
        head, tail, border = 0, 1, False
        queue[0] = start
        while head < tail:
            place = queue[head]
            head += 1
            row, col = place // cols, place % cols
            if row == 0 or col == 0 or row == rows - 1 or col == cols - 1:
                border = True
            if row > 0 and not seen[place - cols]:
                seen[place - cols] = True
                queue[tail] = place - cols
                tail += 1
            if col > 0 and not seen[place - 1]:
                seen[place - 1] = True
                queue[tail] = place - 1
                tail += 1
            if col < cols - 1 and not seen[place + 1]:
                seen[place + 1] = True
                queue[tail] = place + 1
                tail += 1
            if row < rows - 1 and not seen[place + cols]:
                seen[place + cols] = True
                queue[tail] = place + cols
                tail += 1
        if not border and tail <= max_area:
            for k in range(tail):
                filled[queue[k]] = True
    return filled


def fill_small_holes(mask: np.ndarray, max_area: int) -> np.ndarray:
    """``mask`` (2-D bool) with its holes of at most ``max_area`` pixels filled.

    A hole is a 4-connected component of the background that does not touch the image's border
    (as :func:`wekawbc.cells.segmentation.fill_holes` counts them). The background the border
    reaches is marked first by one OpenCV flood fill from a frame around the mask; the compiled walk
    then measures only what is left, the holes (it used to walk the whole background).
    """
    rows, cols = mask.shape
    framed = cv2.copyMakeBorder(np.ascontiguousarray(mask, dtype=np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(framed, None, (0, 0), 2, flags=4)  # 0 is left in the holes only
    seen = (framed[1:-1, 1:-1] != 0).reshape(-1)
    flat = np.ascontiguousarray(mask, dtype=bool).reshape(-1)
    return _fill_holes(flat, seen, rows, cols, int(max_area)).reshape(rows, cols)


@numba.njit(cache=True, nogil=True)
def _label_sums(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    sizes = np.zeros(count, np.int64)
    rows = np.zeros(count, np.int64)
    cols = np.zeros(count, np.int64)
    for row in range(labels.shape[0]):
        for col in range(labels.shape[1]):
            label = labels[row, col]
            sizes[label] += 1
            rows[label] += row
            cols[label] += col
    return sizes, rows, cols


def label_sums(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label ``0 .. count - 1`` of a 2-D label image: pixels, and the sums of their row and column indices.

    Integers, so exact: ``np.bincount(labels.ravel(), weights)`` of the row and column indices gives
    the same sums as floats (every partial sum is an integer well under 2**53).
    """
    return _label_sums(labels, count)


@numba.njit(cache=True, nogil=True)
def _label_minima(labels: np.ndarray, count: int, values: np.ndarray) -> np.ndarray:  # pragma: no cover
    minima = np.full(count, np.inf, values.dtype)
    for k in range(labels.size):
        minima[labels[k]] = min(minima[labels[k]], values[k])
    return minima


def label_minima(labels: np.ndarray, count: int, values: np.ndarray) -> np.ndarray:
    """Per label ``0 .. count - 1``: the smallest of ``values`` (inf where none), as ``np.minimum.at`` gives it."""
    return _label_minima(np.ascontiguousarray(labels).reshape(-1), count, np.ascontiguousarray(values).reshape(-1))


@numba.njit(cache=True, nogil=True)
def _count_off_mask_in_polygon(mask: np.ndarray, corners: np.ndarray) -> int:  # pragma: no cover - compiled
    # The polygon's turn from its signed doubled area (-1 when it has none). Row by row: the point (2r, 2c) is in unless strictly outside an edge's line,
    # turn * ((y1 - y0) * (x - x0) - (x1 - x0) * (y - y0)) < 0, i.e. in when 2c * a >= a * x0 + b with
    # a = turn * (y1 - y0), b = turn * (x1 - x0) * (y - y0): a range of columns per edge, in exact
    # integer (floor) divisions; their intersection is the row's stretch inside the polygon.
    twice_area = 0
    for i in range(corners.shape[0]):
        twice_area += corners[i, 1] * corners[i - 1, 0] - corners[i, 0] * corners[i - 1, 1]
    if twice_area == 0:
        return -1
    # Only the edges whose rows reach the row's can bound it (on a row the polygon reaches, the ends
    # of its stretch lie on such edges, and every edge's half-plane holds the polygon): the others are
    # skipped, and so are the rows outside the polygon's.
    turn = 1 if twice_area > 0 else -1
    rows, cols = mask.shape
    top, bottom = corners[:, 0].min(), corners[:, 0].max()
    found = 0
    for r in range(rows):
        y = 2 * r
        if y < top or y > bottom:
            continue
        low, high = 0, cols - 1
        for i in range(corners.shape[0]):
            y0, x0 = corners[i - 1, 0], corners[i - 1, 1]
            y1, x1 = corners[i, 0], corners[i, 1]
            if (y < y0 and y < y1) or (y > y0 and y > y1):
                continue
            a = turn * (y1 - y0)
            bound = a * x0 + turn * (x1 - x0) * (y - y0)
            if a > 0:
                low = max(low, -(-bound // (2 * a)))
            elif a < 0:
                high = min(high, -bound // (-2 * a))
            elif bound > 0:  # an edge along the row's direction with the row outside it
                high = -1
            if low > high:
                break
        for c in range(low, high + 1):
            found += not mask[r, c]
    return found


@numba.njit(cache=True, nogil=True)
def _hull(points: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    # Andrew's monotone chain on integer (y, x) points, sorted and without repeats: the corners of
    # their convex hull in order (points on an edge dropped), in exact integer arithmetic.
    count = points.shape[0]
    corners = np.empty((2 * count + 1, 2), np.int64)
    size = 0
    for sweep in range(2):  # the lower chain left to right, then the upper one back
        floor = size
        for k in range(count):
            point = k if sweep == 0 else count - 1 - k
            y, x = points[point, 0], points[point, 1]
            while size >= floor + 2:
                ay, ax, by, bx = corners[size - 2, 0], corners[size - 2, 1], corners[size - 1, 0], corners[size - 1, 1]
                if (by - ay) * (x - ax) - (bx - ax) * (y - ay) > 0:  # a left turn at b: b stays
                    break
                size -= 1
            corners[size, 0], corners[size, 1] = y, x
            size += 1
        size -= 1  # each chain's last point is the other's first
    return corners[:max(size, 1)]


@numba.njit(cache=True, nogil=True)
def _label_shape(labels: np.ndarray, label: int, y0: int, y1: int, x0: int, x1: int
                 ) -> tuple[np.ndarray, int]:  # pragma: no cover - compiled
    rows, cols = y1 - y0, x1 - x0
    region = np.empty((rows, cols), np.bool_)
    moments = np.zeros(6, np.int64)  # m00, m10, m01, m20, m11, m02 (x: column, y: row, in the box)
    first = np.full(rows + 2, cols, np.int64)  # each row's first and last column in the region (rows -1 .. rows)
    last = np.full(rows + 2, -1, np.int64)
    for r in range(rows):
        for c in range(cols):
            inside = labels[y0 + r, x0 + c] == label
            region[r, c] = inside
            if inside:
                moments[0] += 1
                moments[1] += c
                moments[2] += r
                moments[3] += c * c
                moments[4] += c * r
                moments[5] += r * r
                first[r + 1] = min(first[r + 1], c)
                last[r + 1] = max(last[r + 1], c)
    # The midpoints of the four edges of every pixel, in half pixels: on each half-pixel row only the
    # first and the last can be corners of their hull (the others lie between them). Row 2r holds the
    # side midpoints of pixel row r, row 2r + 1 the bottom ones of row r and the top ones of row r + 1.
    points = np.empty((4 * rows + 2, 2), np.int64)
    count = 0
    for y in range(-1, 2 * rows):
        if y % 2 == 0:
            low, high = 2 * first[y // 2 + 1] - 1, 2 * last[y // 2 + 1] + 1
        else:
            low = 2 * min(first[(y - 1) // 2 + 1], first[(y + 1) // 2 + 1])
            high = 2 * max(last[(y - 1) // 2 + 1], last[(y + 1) // 2 + 1])
        if low > high:  # no pixel there
            continue
        points[count, 0], points[count, 1] = y, low
        count += 1
        if high > low:
            points[count, 0], points[count, 1] = y, high
            count += 1
    return moments, moments[0] + _count_off_mask_in_polygon(region, _hull(points[:count]))


def label_shape(labels: np.ndarray, label: int, box: tuple[int, int, int, int]) -> tuple[np.ndarray, int]:
    """One region of a 2-D label image, within its bounding box ``(row start, row stop, column start, column stop)``:
    its raw moments and its convex area, in one compiled pass.

    The moments are ``cv2.moments(region, binaryImage=True)``'s ``m00, m10, m01, m20, m11, m02`` of the
    region cut to its box, as exact integers (OpenCV's doubles hold them exactly). The convex area is
    ``np.count_nonzero(skimage.morphology.convex_hull_image(region))``, computed as
    :func:`wekawbc.cells.scale.convex_area` explains: the hull of the edge midpoints of the region's
    pixels (of the first and last on each half-pixel row, which have the same hull; by the monotone
    chain, in integers), then the pixels outside the region whose centres lie in it
    (:func:`_count_off_mask_in_polygon`) added to the region's own.
    """
    y0, y1, x0, x1 = (int(edge) for edge in box)
    moments, area = _label_shape(labels, label, y0, y1, x0, x1)
    if area < moments[0]:
        raise ValueError("the hull has no area")
    return moments, int(area)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _three_class_otsu(prob: np.ndarray) -> tuple[int, int]:  # pragma: no cover - compiled
    # scikit-image's _get_multiotsu_thresh_indices_lut for two thresholds, float32 as there (no FMA):
    # the between-class variances of every bin range, then the first best pair in its loop order.
    bins = prob.shape[0]
    zeroth = np.empty(bins, np.float32)
    first = np.empty(bins, np.float32)
    between = np.zeros((bins, bins), np.float32)  # [i, j]: bins i to j as one class
    zeroth[0] = prob[0]
    first[0] = prob[0]  # (as there: not 0 * prob[0], and between[0, 0] stays 0)
    for i in range(1, bins):
        zeroth[i] = zeroth[i - 1] + prob[i]
        first[i] = first[i - 1] + np.float32(i) * prob[i]
        if zeroth[i] > 0:
            between[0, i] = (first[i] * first[i]) / zeroth[i]
    for i in range(1, bins):
        for j in range(i, bins):  # (every division made, the empty ranges' then dropped: the compiler vectorises it)
            mass = zeroth[j] - zeroth[i - 1]
            moment = first[j] - first[i - 1]
            ratio = (moment * moment) / mass
            between[i, j] = ratio if mass > 0 else np.float32(0.0)
    last = between[:, bins - 1].copy()  # (read along the search's inner loop)
    best = np.float32(0.0)
    low, high = 0, 0
    for lower in range(0, bins - 2):
        for upper in range(lower + 1, bins - 1):
            sigma = between[0, lower] + last[upper + 1]
            sigma += between[lower + 1, upper]
            if sigma > best:
                best = sigma
                low, high = lower, upper
    return low, high


def three_class_otsu(counts: np.ndarray) -> tuple[int, int]:
    """The bins of ``threshold_multiotsu(hist=counts / counts.sum(), classes=3)``'s two thresholds.

    The same indices as scikit-image's lookup-table search (its float32 arithmetic in the same order,
    the first best pair in the same loop order), without its Python wrapper's work: empty bins at
    either end trimmed off first, ``ValueError`` when fewer than three bins are filled, as there.
    """
    prob = (np.asarray(counts) / np.sum(counts)).astype(np.float32)
    filled = np.flatnonzero(prob)
    if len(filled) < 3:
        raise ValueError(f"only {len(filled)} histogram bins filled: no three classes")
    if len(filled) == 3:
        return int(filled[0]), int(filled[1])
    start = int(filled[0])
    low, high = _three_class_otsu(prob[start:int(filled[-1]) + 1])
    return int(low) + start, int(high) + start


@numba.njit(cache=True, nogil=True)
def _to_unit_float(values: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    scale = np.float32(255.0)
    for index in range(values.size):  # (one flat loop: the compiler vectorises it)
        out[index] = np.float32(values[index]) / scale


def to_unit_float(image: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``image.astype(np.float32) / 255.0`` of an 8-bit image, into ``out`` (a C-contiguous float32 array of its shape).

    The same float32 divisions (correctly rounded, as numpy's), in one compiled, vectorised pass
    instead of numpy's buffered cast and divide (two to three times slower on a crop). A view (one
    channel of an RGB image, a window) is copied to contiguous bytes first. Returns ``out``.
    """
    if image.dtype != np.uint8 or out.dtype != np.float32 or out.shape != image.shape or not out.flags.c_contiguous:
        raise TypeError(f"expected an 8-bit image and a contiguous float32 array of its shape, got {image.dtype} "
                        f"{image.shape}, {out.dtype} {out.shape}")
    _to_unit_float(np.ascontiguousarray(image).ravel(), out.ravel())
    return out


@numba.njit(cache=True, nogil=True)
def _unit_planes(rgb: np.ndarray, blue_weight: np.float32) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    rows, cols = rgb.shape[0], rgb.shape[1]
    darkness = np.empty((rows, cols), np.float32)
    score = np.empty((rows, cols), np.float32)
    one = np.float32(1.0)
    unit = np.empty(256, np.float32)  # each level / 255, divided once
    for level in range(256):
        unit[level] = np.float32(level) / np.float32(255.0)
    for row in range(rows):
        for col in range(cols):
            red, green, blue = unit[rgb[row, col, 0]], unit[rgb[row, col, 1]], unit[rgb[row, col, 2]]
            dark = one - green  # float32 operations, one at a time, as numpy does them
            darkness[row, col] = dark
            score[row, col] = dark + blue_weight * (blue - red)
    return darkness, score


def unit_planes(rgb: np.ndarray, blue_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """From an 8-bit RGB image (a view will do): ``1 - G`` and ``(1 - G) + blue_weight * (B - R)``, channels scaled to 0..1.

    The numbers of ``data = rgb.astype(np.float32) / 255.0``, ``darkness = 1.0 - data[..., 1]`` and
    ``darkness + blue_weight * (data[..., 2] - data[..., 0])`` (float32 arithmetic, ``blue_weight``
    taken as float32 as numpy takes a Python float beside a float32 array), in one pass and without
    the float copy of the image.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise TypeError(f"expected an 8-bit RGB image, got {rgb.dtype} {rgb.shape}")
    return _unit_planes(rgb, np.float32(blue_weight))


@numba.njit(cache=True, nogil=True)
def _stain_planes(blurred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    rows, cols = blurred.shape[0], blurred.shape[1]
    darkness = np.empty((rows, cols), np.float32)
    score = np.empty((rows, cols), np.float32)
    bluish = np.empty((rows, cols), np.bool_)
    one = np.float32(1.0)
    for row in range(rows):
        for col in range(cols):
            red, green, blue = blurred[row, col, 0], blurred[row, col, 1], blurred[row, col, 2]
            dark = one - green  # float32 operations, one at a time, as numpy does them
            darkness[row, col] = dark
            score[row, col] = (dark + blue) - red
            bluish[row, col] = blue > red
    return darkness, score, bluish


def stain_planes(blurred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From a blurred float32 RGB image: ``1 - G``, ``(1 - G) + B - R`` and ``B > R``, in one pass.

    The numbers of ``darkness = 1.0 - blurred[..., 1]``, ``darkness + blurred[..., 2] - blurred[..., 0]``
    and ``blurred[..., 2] > blurred[..., 0]`` (float32 arithmetic, left to right).
    """
    if blurred.dtype != np.float32 or blurred.ndim != 3 or blurred.shape[2] != 3:
        raise TypeError(f"expected a float32 RGB image, got {blurred.dtype} {blurred.shape}")
    return _stain_planes(blurred)


@numba.njit(cache=True, nogil=True)
def _masked_histograms(image: np.ndarray, mask: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    counts = np.zeros((image.shape[2], 256), np.int64)
    for row in range(image.shape[0]):
        for col in range(image.shape[1]):
            if mask[row, col]:
                for channel in range(image.shape[2]):
                    counts[channel, image[row, col, channel]] += 1
    return counts


@numba.njit(cache=True, nogil=True)
def _masked_histograms_rgb(image: np.ndarray, mask: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    # (_masked_histograms with its channel loop written out: about a third less time on a crop; and
    # four histograms by column, summed at the end: neighbours of one colour stall less)
    counts = np.zeros((4, 3, 256), np.int64)
    for row in range(image.shape[0]):
        for col in range(image.shape[1]):
            if mask[row, col]:
                quarter = col & 3
                counts[quarter, 0, image[row, col, 0]] += 1
                counts[quarter, 1, image[row, col, 1]] += 1
                counts[quarter, 2, image[row, col, 2]] += 1
    return counts[0] + counts[1] + counts[2] + counts[3]


def masked_histograms(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per channel of an 8-bit image (rows, cols, channels): the 256-level histogram of the ``mask``'s pixels.

    ``np.bincount(image[mask][:, c], minlength=256)`` for every channel ``c``, in one pass.
    """
    if image.dtype != np.uint8 or image.ndim != 3:
        raise TypeError(f"expected an 8-bit image of shape (rows, cols, channels), got {image.dtype} {image.shape}")
    mask = mask.view(np.uint8) if mask.dtype == bool else mask
    return _masked_histograms_rgb(image, mask) if image.shape[2] == 3 else _masked_histograms(image, mask)


@numba.njit(cache=True, nogil=True)
def _distances(mask: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    rows, cols = mask.shape
    # Down each column: the distance to the nearest 0 above or below (``none`` while none is known):
    # one pass down, one up, row by row (all columns at once: the array's own order, branch-free).
    none = rows + 1
    reach = np.empty((rows, cols), np.int32)
    for col in range(cols):
        reach[0, col] = 0 if mask[0, col] == 0 else none
    for row in range(1, rows):
        for col in range(cols):
            reach[row, col] = 0 if mask[row, col] == 0 else min(reach[row - 1, col] + 1, none)
    for row in range(rows - 2, -1, -1):
        for col in range(cols):
            reach[row, col] = min(reach[row, col], reach[row + 1, col] + 1)
    # Along each row: the lower envelope of the parabolas (col - q)**2 + reach[q]**2 (Felzenszwalb and
    # Huttenlocher), their crossings kept as exact fractions (numerator, positive denominator). A
    # column q with reach 0 lies strictly below every parabola of the columns beyond it, on the
    # side away from them, so each run of columns with reach above 0 takes its envelope from its
    # own columns and the 0 on either side; the 0s are 0.
    distances = np.empty((rows, cols), np.float32)
    apex = np.empty(cols, np.int64)
    top = np.empty(cols, np.int64)
    bottom = np.empty(cols, np.int64)
    height = np.empty(cols, np.int64)  # reach**2 + q**2 of each column's parabola
    for row in range(rows):
        q = 0
        while q < cols:
            if reach[row, q] == 0:
                distances[row, q] = 0.0
                q += 1
                continue
            first = q  # a run: first .. q - 1
            while q < cols and reach[row, q] != 0:
                q += 1
            last_apex = -1
            for c in range(max(first - 1, 0), min(q, cols - 1) + 1):
                up = np.int64(reach[row, c])
                if up == none:
                    continue
                height[c] = up * up + c * c
                numerator, denominator = 0, 1
                while last_apex >= 0:
                    p = apex[last_apex]
                    numerator, denominator = height[c] - height[p], 2 * (c - p)
                    if last_apex == 0 or numerator * bottom[last_apex] > top[last_apex] * denominator:
                        break
                    last_apex -= 1  # parabola p is nowhere lowest
                last_apex += 1
                apex[last_apex], top[last_apex], bottom[last_apex] = c, numerator, denominator
            j = 0
            for col in range(first, q):
                while j < last_apex and top[j + 1] < col * bottom[j + 1]:
                    j += 1
                p = apex[j]
                up = np.int64(reach[row, p])
                squared = (col - p) * (col - p) + up * up
                distances[row, col] = np.float32(np.sqrt(np.float64(squared)))
    return distances


def distances_to_outside(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (float32) of each pixel of a 2-D mask to the nearest pixel outside it.

    ``scipy.ndimage.distance_transform_edt(mask).astype(np.float32)``: the exact squared distances
    (integers) in two compiled passes (columns, then rows by the lower envelope of parabolas, in
    integer arithmetic throughout), then the float64 square root rounded to float32 as SciPy's result
    is. The mask must have a pixel outside it (0).
    """
    if mask.all():
        raise ValueError("the mask has no pixel outside it: no distance to measure")
    return _distances(np.ascontiguousarray(mask, dtype=bool).view(np.uint8))


@numba.njit(cache=True, nogil=True)
def _distances_to(target: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    height, width = target.shape
    # The target's pixels with a 4-neighbour outside it: from any other pixel, one step towards it
    # along an axis where they differ gets nearer, so the nearest target pixel is one of these.
    edge_rows = np.empty(target.size, np.int64)
    edge_cols = np.empty(target.size, np.int64)
    edges = 0
    for row in range(height):
        for col in range(width):
            if target[row, col] and ((row > 0 and not target[row - 1, col]) or (row + 1 < height and not target[row + 1, col])
                                     or (col > 0 and not target[row, col - 1]) or (col + 1 < width and not target[row, col + 1])):
                edge_rows[edges], edge_cols[edges] = row, col
                edges += 1
    distances = np.zeros(rows.size, np.float32)
    if edges * rows.size > 8 * target.size:  # many pixels asked: the whole transform costs less
        whole = _distances(1 - target)
        for k in range(rows.size):
            distances[k] = whole[rows[k], cols[k]]
        return distances
    for k in range(rows.size):
        row, col = rows[k], cols[k]
        if target[row, col]:
            continue
        nearest = np.int64(height * height + width * width)
        for i in range(edges):
            across, down = edge_cols[i] - col, edge_rows[i] - row
            nearest = min(nearest, across * across + down * down)
        distances[k] = np.float32(np.sqrt(np.float64(nearest)))
    return distances


def distances_to(target: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Euclidean distance (float32) of each pixel ``(rows[k], cols[k])`` to the nearest pixel of a 2-D mask.

    ``distances_to_outside(~target)[rows, cols]`` (SciPy's exact transform, read at these pixels)
    without the transform of the whole image: each pixel's exact squared distance to the nearest of
    the target's edge pixels, then the float64 square root rounded to float32. For a few pixels; the
    target must have a pixel. When many pixels are asked, the whole transform is read.
    """
    if not target.any():
        raise ValueError("the target has no pixel: no distance to measure")
    return _distances_to(np.ascontiguousarray(target, dtype=bool).view(np.uint8), np.asarray(rows, np.int64), np.asarray(cols, np.int64))

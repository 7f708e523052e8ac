"""Nucleus, cytoplasm and whole-cell segmentation of a leukocyte in a single-cell crop.

Method (classic image processing, no training; every parameter below is fixed in
:class:`SegmentationParams`, chosen on the development share of ``jtsc/``):

1. Work at a fixed scale: the crop is resized so that its longer side is about
   ``working_size`` pixels (cells then span 50-90 pixels whatever the microscope).
2. Two stain channels, smoothed by a small Gaussian: ``darkness = 1 - G`` (every Romanowsky-type
   stain here absorbs green most in the nucleus, less in cytoplasm and red cells, least in the
   plasma) and the nucleus score ``darkness + blue_weight * (B - R)``: a nucleus is purple-blue,
   eosinophil granules and red cells are as dark in green but redder than blue.
3. Three-class Otsu (``skimage.filters.threshold_multiotsu``): the upper threshold of the nucleus
   score gives nucleus candidates, opened by a disc of radius ``nucleus_opening`` (this drops the
   thin dark membrane rim and granule specks), the lower threshold of ``darkness``
   separates plasma from everything stained (cells, red cells).
4. The leukocyte is the nucleus component nearest the crop's centre (weighted by size); the other
   nucleus components within ``lobe_gap`` cell radii are its other lobes.
   If that nucleus then covers more than ``granule_check`` of the cell (step 5) and its own score
   histogram is clearly two-class (Otsu effectiveness above ``granule_separation``), dark
   granules were taken in: Otsu's threshold inside it separates chromatin from granules.
5. Cell: foreground (darkness above the lower Otsu threshold) is split by a marker watershed on
   its distance transform: the nucleus is one marker, and each distance-transform peak whose
   inscribed disc does not reach the nucleus (a red cell, a neighbour) is another. The cell is
   the nucleus marker's basin, holes filled, and always containing the nucleus.
6. Back at the crop's resolution, the nucleus score is re-thresholded (same threshold) within a
   few pixels of the working-scale nucleus, so thin chromatin bridges between lobes stay thin.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

from wekawbc.cells._kernels import (bin_counts, distances_to, distances_to_outside, fill_small_holes, flood_from_markers,
                                    label_minima, label_sums, three_class_otsu,
                                    unit_planes)

__all__ = ["CellSegmentation", "SegmentationParams", "segment_cell", "naive_nucleus_mask", "label_image",
           "dilated", "fill_holes", "kept_buffer", "mask_box", "three_class_thresholds"]


@dataclass(frozen=True)
class SegmentationParams:
    """Fixed parameters of :func:`segment_cell` (lengths in working-scale pixels unless noted)."""

    working_size: int = 128
    smooth_sigma: float = 1.0
    blue_weight: float = 1.0  # weight of (B - R) added to darkness for the nucleus score
    nucleus_opening: int = 4        # radius of the disc that opens nucleus candidates (drops thin rims)
    granule_check: float = 0.8      # nucleus/cell area ratio above which granules are looked for
    granule_separation: float = 0.6  # Otsu effectiveness needed to split chromatin from granules
    lobe_gap: float = 0.35          # in cell radii: nucleus parts this close belong to one cell
    min_nucleus_fraction: float = 0.05  # of the main nucleus part's area
    hole_fraction: float = 0.02     # of the working image area: holes smaller are filled
    marker_reach: float = 0.5       # a foreground peak is another object when its distance to the
    #                                 nucleus exceeds this times its inscribed radius


@dataclass(frozen=True)
class CellSegmentation:
    """Masks of one leukocyte, at the resolution of the image given.

    Attributes
    ----------
    nucleus_mask, cytoplasm_mask, cell_mask : ndarray of bool, shape (rows, cols)
        ``cell_mask`` is the union of the two others, which do not overlap.
    box : tuple of int
        ``(x0, y0, x1, y1)`` of the cell, x1/y1 exclusive.
    """

    nucleus_mask: np.ndarray
    cytoplasm_mask: np.ndarray
    cell_mask: np.ndarray
    box: tuple[int, int, int, int]

    @property
    def found(self) -> bool:
        """False when no nucleus was found (then every mask is empty)."""
        return bool(self.nucleus_mask.any())


def label_image(segmentation: CellSegmentation) -> np.ndarray:
    """The ``jtsc/`` mask encoding: uint8, 0 background, 128 cytoplasm, 255 nucleus."""
    labels = np.zeros(segmentation.cell_mask.shape, np.uint8)
    labels[segmentation.cytoplasm_mask] = 128
    labels[segmentation.nucleus_mask] = 255
    return labels


def naive_nucleus_mask(rgb: np.ndarray) -> np.ndarray:
    """The naive baseline: Otsu's threshold on (blue - green) over the whole image."""
    from skimage.filters import threshold_otsu

    channel = rgb[..., 2].astype(np.int16) - rgb[..., 1].astype(np.int16)
    return channel > threshold_otsu(channel)


#: Per thread: the last image :func:`three_class_thresholds` was asked to remember (``image``, a buffer
#: kept) and its ``thresholds``.
_REMEMBERED = threading.local()


#: Per thread: work arrays of whole images kept between calls (:func:`kept_buffer`).
_BUFFERS = threading.local()


def kept_buffer(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A work array of this thread for ``name``, reused while the shape and dtype stay the same (contents undefined).

    A fresh array of a whole image's float planes (half a megabyte and more) comes from the system
    as new pages, each zeroed at its first touch: on a crop that costs as much as the arithmetic
    done in it. Only for arrays used within one call and never returned.
    """
    found = getattr(_BUFFERS, name, None)
    if found is None or found.shape != shape or found.dtype != dtype:
        found = np.empty(shape, dtype)
        setattr(_BUFFERS, name, found)
    return found


def _bin_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """``np.histogram_bin_edges(values, bins, range=(values.min(), values.max()))``: numpy's steps for that call
    (``linspace`` in the values' type, a flat range widened by half a unit on each side, ``ValueError``
    for a range that is not finite or too narrow for ``bins`` bins) without its general argument handling."""
    first, last = values.min(), values.max()
    if not (np.isfinite(first) and np.isfinite(last)):
        raise ValueError(f"range of [{first}, {last}] is not finite")
    if first == last:
        first, last = first - 0.5, last + 0.5
    kind = np.result_type(first, last, values)
    edges = np.linspace(first, last, bins + 1, endpoint=True,
                        dtype=np.result_type(kind, float) if np.issubdtype(kind, np.integer) else kind)
    if np.any(edges[:-1] >= edges[1:]):
        raise ValueError(f"too many bins for the range: cannot create {bins} finite-sized bins")
    return edges


def three_class_thresholds(values: np.ndarray, *, remember: bool = False) -> np.ndarray:
    """``threshold_multiotsu(values, classes=3, nbins=128)``: the two thresholds of a stain channel.

    The same numbers: the histogram ``threshold_multiotsu`` would build (128 bins from the smallest
    to the largest value), counted in one compiled pass (:func:`wekawbc.cells._kernels.bin_counts`)
    instead of numpy's dozen passes, and scikit-image's search for the best two bins repeated in a
    compiled loop (:func:`wekawbc.cells._kernels.three_class_otsu`); the thresholds are those bins'
    centres. Raises ``ValueError`` for a flat image, as ``threshold_multiotsu`` does.

    With ``remember``, the answer for the last image asked that way is reused when the image is the
    same bit for bit: extraction asks for the plasma's darkness of an image twice in a row (for the
    red cells, then for the plasma's colour; the two blurs agree to the bit at most image sizes).
    """
    values = np.asarray(values)
    seen = getattr(_REMEMBERED, "image", None) if remember else None
    fits = seen is not None and seen.shape == values.shape and seen.dtype == values.dtype
    if fits and np.array_equal(seen, values):
        return _REMEMBERED.thresholds.copy()
    edges = _bin_edges(values, 128)
    thresholds = ((edges[:-1] + edges[1:]) / 2.0)[list(three_class_otsu(bin_counts(values, edges)))]
    if remember:  # into the buffer kept when it fits: a fresh copy of a large array costs more than the comparison
        _REMEMBERED.image = seen if fits else np.empty_like(values)
        np.copyto(_REMEMBERED.image, values)
        _REMEMBERED.thresholds = thresholds.copy()
    return thresholds


def _darkness(rgb: np.ndarray, sigma: float, blue_weight: float) -> tuple[np.ndarray, np.ndarray]:
    darkness, score = unit_planes(rgb, blue_weight)  # 1 - G and (1 - G) + blue_weight * (B - R), RGB / 255
    if sigma > 0:
        darkness = cv2.GaussianBlur(darkness, (0, 0), sigma)
        score = cv2.GaussianBlur(score, (0, 0), sigma)
    return darkness, score


def _score(rgb: np.ndarray, sigma: float, blue_weight: float) -> np.ndarray:
    """The nucleus score of :func:`_darkness` alone (the same numbers, one blur fewer)."""
    score = unit_planes(rgb, blue_weight)[1]
    return cv2.GaussianBlur(score, (0, 0), sigma) if sigma > 0 else score


def fill_holes(mask: np.ndarray, max_area: int | None = None) -> np.ndarray:
    """``mask`` with its holes (background not 4-connected to the border) of at most ``max_area`` pixels filled.

    Without ``max_area`` every hole is filled: the pixels of ``scipy.ndimage.binary_fill_holes(mask)``
    (default structure), from one OpenCV flood fill of the background from a frame around the mask
    instead of SciPy's iterated dilation. With it, each hole is measured
    (:func:`wekawbc.cells._kernels.fill_small_holes`).
    """
    if max_area is not None:
        return fill_small_holes(mask, max_area)
    framed = cv2.copyMakeBorder(np.ascontiguousarray(mask, dtype=bool).view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(framed, None, (0, 0), 2, flags=4)  # the background the border reaches
    return framed[1:-1, 1:-1] != 2


def dilated(mask: np.ndarray, size: int) -> np.ndarray:
    """``cv2.dilate(mask.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)`` for odd ``size``, computed near the mask only.

    Only pixels within ``size // 2`` of the mask's box can be reached: OpenCV dilates that window of
    the mask (the pixels it leaves out are outside the mask, as OpenCV's border is for a dilation),
    the rest stays False. A leukocyte's box is a fraction of its crop.
    """
    grown = np.zeros(mask.shape, bool)
    x, y, width, height = cv2.boundingRect(np.ascontiguousarray(mask, dtype=bool).view(np.uint8))
    if width == 0:
        return grown
    reach = size // 2
    window = (slice(max(y - reach, 0), y + height + reach), slice(max(x - reach, 0), x + width + reach))
    grown[window] = cv2.dilate(mask[window].astype(np.uint8), np.ones((size, size), np.uint8))
    return grown


def _distance(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance of each ``mask`` pixel to the nearest pixel outside it (float32).

    The numbers of SciPy's exact transform (``ndi.distance_transform_edt(mask).astype(np.float32)``:
    the float64 square root of an integer squared distance), from a compiled exact transform in
    integer arithmetic (:func:`wekawbc.cells._kernels.distances_to_outside`, several times faster on
    these small masks). Floating-point distances are not compared anywhere on the way: OpenCV's own
    float32 distances, used before, had last bits that depended on where the buffers lay in memory,
    which flipped ties in the watershed below. A mask without outside pixels is left to SciPy.
    """
    if mask.all():
        return ndi.distance_transform_edt(mask).astype(np.float32)
    return distances_to_outside(mask)


@functools.lru_cache(maxsize=None)
def _disk(radius: int) -> np.ndarray:
    """OpenCV's elliptic structuring element of this radius (at least 1), made once per radius (only read)."""
    radius = max(int(round(radius)), 1)
    element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    element.flags.writeable = False  # (shared by every call)
    return element


def _pick_nucleus(candidates: np.ndarray, params: SegmentationParams) -> np.ndarray:
    """The central leukocyte's nucleus: the best-placed large component and its nearby lobes."""
    # 4-connected parts, numbered as ndi.label numbers them (raster order of their first pixel).
    count, labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=4)
    count -= 1  # (OpenCV counts the background)
    if count == 0:
        return candidates
    # ndi.center_of_mass's sums of coordinates (integers: exact in any order), without its generality.
    pixels, row_sums, col_sums = label_sums(labels, count + 1)
    sizes = pixels[1:].astype(float)
    centres = np.stack([row_sums[1:], col_sums[1:]], axis=1).astype(float) / sizes[:, None]
    middle = (np.array(candidates.shape) - 1) / 2.0
    distance = np.linalg.norm((centres - middle) / max(candidates.shape), axis=1)
    main = int(np.argmax(sizes * np.exp(-4.0 * distance ** 2))) + 1
    keep = sizes >= params.min_nucleus_fraction * sizes[main - 1]
    near = np.zeros(count + 1, bool)
    near[main] = True
    if keep.sum() > 1:  # other parts to weigh: their distance to the main one
        radius = np.sqrt(sizes[keep].sum() / np.pi) * 1.6  # rough cell radius from nucleus area
        gap = _distance(labels != main)
        closest = label_minima(labels, count + 1, gap)
        near[1:] |= keep & (closest[1:] <= params.lobe_gap * radius)
    return near[labels]


def _cell_from_foreground(foreground: np.ndarray, nucleus: np.ndarray, reach: float) -> np.ndarray:
    """The nucleus's basin in a watershed of the foreground's distance transform (see the module notes).

    The watershed is scikit-image's (``watershed(-distance, markers)``), computed by
    :func:`wekawbc.cells._kernels.flood_from_markers`.
    """
    distance = _distance(foreground)
    # Local maxima of the distance transform (7x7 neighbourhood); those whose inscribed disc stays
    # away from the nucleus seed other objects. Every other seed shares label 2: only the nucleus's
    # basin (label 1) is kept, so separate labels would change nothing. (The nucleus's own pixels
    # are its seeds whatever else they are; the distance to it is measured at the other peaks only.)
    rows, cols = np.nonzero((distance >= cv2.dilate(distance, np.ones((7, 7), np.uint8))) & foreground & ~nucleus)
    far = distances_to(nucleus, rows, cols) > reach * distance[rows, cols]
    markers = np.where(foreground, 0, 2).astype(np.int32)
    markers[rows[far], cols[far]] = 2
    markers[nucleus] = 1
    return flood_from_markers(-distance, markers) == 1


def segment_cell(rgb: np.ndarray, params: SegmentationParams = SegmentationParams()) -> CellSegmentation:
    """Segment the leukocyte of a single-cell crop into nucleus and cytoplasm.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
        The crop, as returned by :func:`wekawbc.cells.dataset.read_image`.
    params : SegmentationParams
        Fixed parameters (the defaults are the documented, validated ones).

    Returns
    -------
    CellSegmentation
        Masks at the crop's resolution; empty masks when no nucleus is found.
    """
    rows, cols = rgb.shape[:2]
    scale = params.working_size / max(rows, cols)
    small = rgb if abs(scale - 1) < 0.05 else cv2.resize(
        rgb, (max(int(round(cols * scale)), 8), max(int(round(rows * scale)), 8)), interpolation=cv2.INTER_AREA)
    darkness, score = _darkness(small, params.smooth_sigma, params.blue_weight)
    try:
        low, _ = three_class_thresholds(darkness)
        _, high = three_class_thresholds(score)
    except ValueError:  # a flat image: nothing to find
        return _empty(rows, cols)
    candidates = score > high
    candidates = cv2.morphologyEx(candidates.astype(np.uint8), cv2.MORPH_OPEN,
                                  _disk(params.nucleus_opening)).astype(bool)
    nucleus = _pick_nucleus(candidates, params)
    if not nucleus.any():
        return _empty(rows, cols)
    hole_area = int(params.hole_fraction * nucleus.size)
    nucleus = fill_holes(nucleus, hole_area)
    foreground = fill_holes(darkness > low, hole_area) | nucleus
    foreground = cv2.morphologyEx(foreground.astype(np.uint8), cv2.MORPH_OPEN, _disk(2)).astype(bool) | nucleus
    cell = _cell_from_foreground(foreground, nucleus, params.marker_reach)
    cell = fill_holes(cell) | nucleus
    nucleus, high = _split_granules(nucleus, cell, score, high, params)
    nucleus, cell = _at_size(nucleus, cell, rows, cols)
    nucleus = _refine_nucleus(rgb, nucleus, high, scale, params) & cell
    return _segmentation(nucleus, cell)


def _split_granules(nucleus: np.ndarray, cell: np.ndarray, score: np.ndarray, threshold: float,
                    params: SegmentationParams) -> tuple[np.ndarray, float]:
    """When the "nucleus" fills nearly the whole cell, split chromatin from dark granules inside it.

    Dark eosinophil or basophil granules can fall in the nucleus class of the whole-image
    threshold. If the nucleus covers more than ``granule_check`` of the cell and its own score
    histogram is clearly two-class (Otsu effectiveness above ``granule_separation``), the upper
    class is the nucleus. Returns the nucleus and the threshold that defines it.
    """
    if np.count_nonzero(nucleus) <= params.granule_check * np.count_nonzero(cell):
        return nucleus, threshold
    values = score[nucleus]
    split = float(threshold_otsu(values))
    upper = values > split
    if upper.all() or not upper.any():
        return nucleus, threshold
    between = upper.mean() * (1 - upper.mean()) * (values[upper].mean() - values[~upper].mean()) ** 2
    if between < params.granule_separation * values.var():
        return nucleus, threshold
    inner = cv2.morphologyEx((nucleus & (score > split)).astype(np.uint8), cv2.MORPH_OPEN,
                             _disk(params.nucleus_opening)).astype(bool)
    inner = _pick_nucleus(inner, params)
    return (inner, split) if inner.any() else (nucleus, threshold)


def _empty(rows: int, cols: int) -> CellSegmentation:
    empty = np.zeros((rows, cols), bool)
    return CellSegmentation(empty, empty.copy(), empty.copy(), (0, 0, 0, 0))


def _at_size(nucleus: np.ndarray, cell: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Working-scale masks resized to the crop (linear interpolation of the label map, re-thresholded)."""
    if nucleus.shape == (rows, cols):
        return nucleus, cell
    labels = nucleus.astype(np.uint8) + cell.astype(np.uint8)
    labels = cv2.resize(labels * 100, (cols, rows), interpolation=cv2.INTER_LINEAR)
    return labels > 150, labels > 50


def _refine_nucleus(rgb: np.ndarray, coarse: np.ndarray, threshold: float, scale: float,
                    params: SegmentationParams) -> np.ndarray:
    """The nucleus re-thresholded at the crop's own resolution, near the working-scale nucleus.

    The working scale keeps the search robust; the full resolution keeps the thin chromatin
    bridges between lobes thin (what :func:`wekawbc.cells.lobes.count_lobes` needs).
    """
    if abs(scale - 1) < 0.05:
        return coarse
    x0, y0, x1, y1 = mask_box(coarse)
    reach = int(np.ceil(2 / scale))
    window = (slice(max(y0 - reach, 0), y1 + reach), slice(max(x0 - reach, 0), x1 + reach))
    score = _score(rgb[window], params.smooth_sigma, params.blue_weight)
    near = cv2.dilate(coarse[window].astype(np.uint8), _disk(reach)).astype(bool)
    fine = cv2.morphologyEx(((score > threshold) & near).astype(np.uint8), cv2.MORPH_OPEN, _disk(1))
    count, labels = cv2.connectedComponents(fine, connectivity=4)  # (the background counted)
    if count == 1:
        return coarse
    overlapping = np.zeros(count, bool)
    overlapping[labels[coarse[window] & fine.astype(bool)]] = True  # the parts the coarse nucleus touches
    overlapping[0] = False
    fine = fill_holes(overlapping[labels], int(params.hole_fraction * coarse.size))
    refined = np.zeros_like(coarse)
    refined[window] = fine
    return refined if refined.any() else coarse


def _segmentation(nucleus: np.ndarray, cell: np.ndarray) -> CellSegmentation:
    cytoplasm = cell & ~nucleus
    return CellSegmentation(nucleus, cytoplasm, cell, mask_box(cell))


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of a non-empty bool mask (x1, y1 exclusive): OpenCV's bounding rectangle of its pixels."""
    x, y, width, height = cv2.boundingRect(np.ascontiguousarray(mask, dtype=bool).view(np.uint8))
    if width == 0:
        raise IndexError("an empty mask has no box")
    return x, y, x + width, y + height

"""Nucleus lobe count, robust to lobes that touch and to granules over the nucleus.

Segmented (granulocyte) nuclei are lobes joined by thin chromatin bridges; in most images, and in
most expert masks, the lobes touch and form one connected region, so connected components alone
undercount them. Each nucleus part is therefore opened with a disc whose radius is ``neck_ratio``
times the part's largest inscribed radius (its distance-transform maximum): bridges narrower than
that disc vanish and the lobes fall apart, while a round, indented or band nucleus (no neck much
narrower than its body) stays whole. Pieces smaller than ``min_lobe_fraction`` of the nucleus are
ignored (noise, a granule), and parts are counted separately when they do not touch at all.

:func:`assess_lobes` adds what the mask alone cannot see. Where red-orange (eosinophilic) granules
cover the cytoplasm (:func:`wekawbc.cells.granules.granule_calls` reads ``red``), they also lie over
the bridge between the lobes, and the nucleus mask takes them in: the lobes are then counted on the
*chromatin core*, the nucleus pixels whose nucleus score
(darkness + (B - R), as in :mod:`wekawbc.cells.segmentation`) is above the nucleus's own
:data:`CORE_QUANTILE` quantile.

Segmented or not is then decided by a learned *lobe model* (allowed by issue 17): a small random
forest, stored as plain numbers in ``lobe_model.json``, fitted on the ``pbc`` development share to
WBCAtt's ``nucleus_shape`` (segmented against unsegmented, bands unsegmented) by
``docs/cells_results/train_lobe_model.py``. Its inputs (:data:`LOBE_MODEL_INPUTS`) are read from the
crop only, never the cell type: the nucleus's shape at a fixed size (:func:`shape_inputs`: split
ratios of the mask and of its chromatin cores, outline, skeleton, neck width, share of the cell,
the saddles of the inscribed-radius map — the width of the narrowest bridge between two lobes
against the widest lobe, the hematologist's "filament thinner than a third" rule — and the
outline's indentations),
the whole mask's lobe counts, and the granule inputs. Because those inputs also tell the cell type
apart, the model can learn WBCAtt's class prior (most eosinophils and basophils segmented) as well
as the shape; ``docs/cells.md`` reports both the agreement and the discrimination within each class.
A segmented answer gives the geometric count, at least 2; an unsegmented one gives 1. Every count
comes with a confidence (the model's ``max(p, 1 - p)``; without an image and granule measures, the
share of neck ratios in :data:`CONFIDENCE_NECKS` that give the same answer), a reason when the count
is 0, and a flag when the nucleus touches the image border (a lobe may be cut off).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np
from skimage.morphology import skeletonize

from wekawbc.cells.granules import MODEL_INPUTS, granule_calls, model_inputs
from wekawbc.cells.segmentation import _distance
from wekawbc.features._kernels import (chord_share, component_boxes, forest_leaves, large_components, level_regions,
                                      opened_pieces)

__all__ = ["LOBE_MODEL_INPUTS", "LobeCount", "SHAPE_INPUTS", "assess_lobes", "count_lobes", "eosinophilic_granules",
           "lobe_model_inputs", "segmented_probability", "shape_inputs", "NECK_RATIO", "CORE_QUANTILE"]

#: Default neck ratio of :func:`count_lobes` (chosen on the ``pbc`` development share).
NECK_RATIO = 0.4
#: Neck ratio used on the chromatin core of a granule-covered nucleus.
CORE_NECK_RATIO = 0.55
#: Quantile of the nucleus score inside the nucleus above which a pixel is chromatin core.
CORE_QUANTILE = 0.5
#: Neck ratios whose segmented/unsegmented answers give the confidence.
CONFIDENCE_NECKS: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6)


def count_lobes(nucleus_mask: np.ndarray, *, neck_ratio: float = NECK_RATIO,
                min_lobe_fraction: float = 0.08) -> int:
    """Number of nucleus lobes (0 for an empty mask, 1 for round/indented/band nuclei).

    Parameters
    ----------
    nucleus_mask : ndarray of bool, shape (rows, cols)
        The nucleus of one cell.
    neck_ratio : float, default=NECK_RATIO
        Bridges narrower than about ``2 * neck_ratio`` times the widest inscribed radius of a
        nucleus part separate lobes.
    min_lobe_fraction : float, default=0.08
        Lobes smaller than this fraction of the nucleus area are not counted.
    """
    return _lobe_counts(nucleus_mask, (neck_ratio,), min_lobe_fraction)[0]


def _lobe_counts(nucleus_mask: np.ndarray, neck_ratios: tuple[float, ...],
                 min_lobe_fraction: float = 0.08) -> list[int]:
    """:func:`count_lobes` at each neck ratio (one distance transform per nucleus part, one opening per
    distinct disc radius)."""
    return _lobe_counts_and_parts(nucleus_mask, neck_ratios, min_lobe_fraction)[0]


def _lobe_counts_and_parts(nucleus_mask: np.ndarray, neck_ratios: tuple[float, ...],
                           min_lobe_fraction: float = 0.08) -> tuple[list[int], int]:
    """:func:`_lobe_counts` and the mask's number of 4-connected parts (:func:`_count`), from the same labelling.

    Each part's opening by a disc of radius ``neck_ratio`` times its largest inscribed radius is the set of pixels
    within that radius of the pixels deeper than it (the erosion): two exact distance transforms, far cheaper than a
    morphological opening with a large disc, and SciPy's exact numbers (:func:`wekawbc.cells.segmentation._distance`),
    not OpenCV's ``DIST_MASK_PRECISE`` ones, whose last bits vary from call to call and would flip the comparisons
    at ties. Each piece of the opening is the union of the discs centred in some of the 4-connected components of
    the erosion (the disc of lattice points within the radius is 4-connected and holds the unit steps, so a
    component's discs join up): the opening has no more pieces than the erosion has components, and an erosion in
    one piece (or none) gives 1 without the opening. The erosions, openings and their pieces at every distinct
    radius are one compiled pass (:func:`wekawbc.features._kernels.opened_pieces`).
    """
    mask = np.ascontiguousarray(nucleus_mask, dtype=np.uint8)
    total = cv2.countNonZero(mask)  # ``mask.sum()``
    if total == 0:
        return [0] * len(neck_ratios), 0
    least = min_lobe_fraction * total
    lobes = [0] * len(neck_ratios)
    count, pieces = _parts(mask, least)
    for piece in pieces:
        depth = _distance(_padded(piece, 2))
        radius = float(depth.max())
        sizes = [max(int(round(neck_ratio * radius)), 1) for neck_ratio in neck_ratios]
        distinct = sorted(set(sizes))
        counted = dict(zip(distinct, opened_pieces(depth, np.array(distinct, np.int64), least).tolist()))
        for which, size in enumerate(sizes):
            lobes[which] += counted[size]
    return lobes, count


def _parts(mask: np.ndarray, least: float) -> tuple[int, list[np.ndarray]]:
    """The number of 4-connected parts of a uint8 mask (:func:`_count`) and those of at least ``least`` pixels,
    each cut to its bounding box (bool): ``labels[box] == index`` for each of ``ndi.find_objects(labels)``, from one
    compiled labelling (:func:`wekawbc.features._kernels.component_boxes`)."""
    count, labels, areas, boxes = component_boxes(mask)
    return count, [labels[top:bottom, left:right] == index
                   for index, (top, bottom, left, right) in enumerate(boxes.tolist(), start=1) if areas[index] >= least]


def _count(mask: np.ndarray) -> int:
    """The number of 4-connected components of a mask (``scipy.ndimage.label(mask)[1]``), by one compiled pass
    (:func:`wekawbc.features._kernels.large_components`)."""
    return large_components(np.ascontiguousarray(mask).view(np.uint8), 0.0)[0]


def _padded(mask: np.ndarray, width: int) -> np.ndarray:
    """``np.pad(mask.astype(np.uint8), width)`` (zeros around), without ``np.pad``'s overhead."""
    rows, cols = mask.shape
    out = np.zeros((rows + 2 * width, cols + 2 * width), np.uint8)
    out[width:width + rows, width:width + cols] = mask
    return out


@dataclass(frozen=True)
class LobeCount:
    """A lobe count with its confidence.

    Attributes
    ----------
    count : int
        0 (no nucleus), 1 (round, indented or band) or the number of lobes.
    confidence : float
        In [0.5, 1] for a nucleus (the lobe model's ``max(p, 1 - p)``, or without it the share of
        :data:`CONFIDENCE_NECKS` agreeing on lobed or not); 1 for an empty one.
    reason : str
        Why the count is 0 (empty otherwise).
    touches_border : bool
        The nucleus reaches the image border: a lobe may lie outside it.
    core : bool
        The geometric count was made on the chromatin core (red-orange granules over the nucleus).
    probability : float
        The lobe model's probability that the nucleus is segmented (:func:`segmented_probability`);
        NaN where the model was not used (no image or granule measures given, or no nucleus).
    parts : int
        The nucleus mask's number of 4-connected parts (``scipy.ndimage.label``'s number; 0 for an empty one).
    """

    count: int
    confidence: float
    reason: str = ""
    touches_border: bool = False
    core: bool = False
    probability: float = float("nan")
    parts: int = 0


def _chromatin_core(rgb: np.ndarray, nucleus: np.ndarray, quantile: float = CORE_QUANTILE) -> np.ndarray:
    """Nucleus pixels whose score is above the nucleus's ``quantile`` quantile (granules removed)."""
    return _chromatin_cores(rgb, nucleus, (quantile,))[0]


def _chromatin_cores(rgb: np.ndarray, nucleus: np.ndarray, quantiles: tuple[float, ...]) -> list[np.ndarray]:
    """:func:`_chromatin_core` at each quantile (the score computed once)."""
    x, y, width, height = cv2.boundingRect(np.ascontiguousarray(nucleus).view(np.uint8))
    window = (slice(y, y + height), slice(x, x + width))
    data = rgb[window].astype(np.float32) / 255.0
    score = cv2.GaussianBlur((1.0 - data[..., 1]) + (data[..., 2] - data[..., 0]), (0, 0), 1.5)
    inside = nucleus[window]
    scores = score[inside]
    cores = []
    for level in _quantiles_of(scores, quantiles):
        core = inside & (score > level)
        if not core.any():  # nothing above the level: the whole nucleus (as an empty opening would give)
            cores.append(nucleus)
            continue
        core = cv2.morphologyEx(core.view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
        full = np.zeros_like(nucleus)
        full[window] = core
        cores.append(full if full.any() else nucleus)
    return cores


def _quantile(values: np.ndarray, fraction: float) -> np.floating:
    """``np.quantile(values, fraction)`` of a 1-D float array (linear method), the same number (:func:`_quantiles_of`)."""
    return _quantiles_of(values, (fraction,))[0]


def _quantiles_of(values: np.ndarray, fractions: Sequence[float]) -> list[np.floating]:
    """``np.quantile(values, fraction)`` of a 1-D float array (linear method) for each fraction, the same numbers,
    from one sort.

    numpy's steps: the virtual index ``(n - 1) * fraction``, its floor and the next index, and the
    interpolation ``a + (b - a) t`` (``b - (b - a)(1 - t)`` where ``t >= 0.5``) in the data's type
    (the fraction is a Python float); ``np.quantile`` costs several times this in its set-up.
    """
    count = len(values)
    ordered = np.sort(values)  # numpy's vectorised sort: faster than a partition at even two places
    found = []
    for fraction in fractions:
        virtual = (count - 1) * fraction
        if virtual >= count - 1:
            found.append(ordered[count - 1])
            continue
        below = max(math.floor(virtual), 0)
        low, high = ordered[below], ordered[below + 1]
        weight = virtual - below
        difference = high - low
        found.append(high - difference * (1 - weight) if weight >= 0.5 else low + difference * weight)
    return found


def eosinophilic_granules(granules: Mapping[str, float]) -> bool:
    """Whether the granule measures read red-orange granules (:func:`wekawbc.cells.granules.granule_calls`)."""
    return granule_calls(granules).granule_colour == "red"


def assess_lobes(nucleus_mask: np.ndarray, rgb: np.ndarray | None = None,
                 granules: Mapping[str, float] | None = None, *, core: bool | None = None,
                 cell_mask: np.ndarray | None = None) -> LobeCount:
    """The lobe count of one nucleus, with confidence, reason and border flag (module notes).

    Parameters
    ----------
    nucleus_mask : ndarray of bool, shape (rows, cols)
    rgb : ndarray of uint8, shape (rows, cols, 3), optional
        The image the mask belongs to (needed for the chromatin core and the lobe model).
    granules : mapping, optional
        The cell's :func:`wekawbc.cells.granules.granule_measures`; where they show red-orange
        granules (:func:`eosinophilic_granules`) and ``rgb`` is given, the geometric count is made on
        the chromatin core. With ``rgb``, the lobe model decides segmented or not.
    core : bool, optional
        Count on the chromatin core (True) or the whole mask (False) whatever the granules say
        (needs ``rgb``).
    cell_mask : ndarray of bool, optional
        The whole cell (the lobe model's ``nucleus_fraction``; NaN, imputed, without it).
    """
    nucleus = np.asarray(nucleus_mask, bool)
    if not nucleus.any():
        return LobeCount(0, 1.0, "no nucleus visible")
    border = bool(nucleus[0].any() or nucleus[-1].any() or nucleus[:, 0].any() or nucleus[:, -1].any())
    if core is None:
        core = granules is not None and eosinophilic_granules(granules)
    use_core = bool(core) and rgb is not None
    if use_core and rgb is not None:
        target, neck, necks = _chromatin_core(rgb, nucleus), CORE_NECK_RATIO, tuple(
            r + CORE_NECK_RATIO - NECK_RATIO for r in CONFIDENCE_NECKS)
    else:
        target, neck, necks = nucleus, NECK_RATIO, CONFIDENCE_NECKS
    (count, *others), parts = _lobe_counts_and_parts(target, (neck, *necks))
    if rgb is not None and granules is not None:
        mask_counts, parts = _lobe_counts_and_parts(nucleus, MASK_NECKS) if use_core else (others, parts)
        probability = segmented_probability(lobe_model_inputs(nucleus, rgb, granules, cell_mask, mask_counts))
        segmented = probability >= 0.5
        return LobeCount(max(count, 2) if segmented else 1, max(probability, 1.0 - probability),
                         touches_border=border, core=use_core, probability=probability, parts=parts)
    votes = [other >= 2 for other in others]
    agree = sum(vote == (count >= 2) for vote in votes) / len(votes)
    return LobeCount(count, max(agree, 0.5), touches_border=border, core=use_core,
                     parts=_count(nucleus) if use_core else parts)


#: Equivalent diameter (pixels) to which the nucleus is resized before its shape is measured.
SHAPE_DIAMETER = 64
#: Neck ratios scanned for the split ratio (the narrowest that splits the nucleus, 1 if none does).
SPLIT_NECKS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
#: Quantiles of the chromatin cores whose split ratios are inputs.
SPLIT_CORES: tuple[float, ...] = (0.1, 0.2)
#: Nucleus-shape inputs of the lobe model, in :func:`shape_inputs` order.
SHAPE_INPUTS: tuple[str, ...] = (
    "split_neck", *(f"core_{round(100 * q)}_split_neck" for q in SPLIT_CORES), "core_50_lobes", "parts",
    "solidity", "convexity", "endpoints", "branches", "skeleton_length", "neck_width", "inscribed_radius",
    "nucleus_fraction",
    *(f"{name}_{measure}" for name in ("mask", *(f"core_{round(100 * q)}" for q in SPLIT_CORES))
      for measure in ("saddle", "saddle_over_lobe", "lobes_at_third")),
    "defect_1", "defect_2", "deep_defects", "pinch", "fringe")
#: Levels (fractions of the largest inscribed radius) at which :func:`_saddles` cuts the distance map.
SADDLE_LEVELS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))
#: A lobe's own inscribed radius is at least this fraction of the nucleus's largest (smaller bulges
#: are the outline's bumps, not lobes).
LOBE_PEAK = 0.4
#: The hematologist's rule: lobes joined by a filament thinner than about a third of the widest
#: lobe are separate (the level of ``lobes_at_third``, on the :data:`SADDLE_LEVELS` grid).
THIRD_LEVEL = 0.35
#: The levels of :class:`_Landscape` (both scans), ascending, and each one's place among them.
_LEVELS: tuple[float, ...] = tuple(sorted(set(SADDLE_LEVELS) | set(SPLIT_NECKS)))
_LEVEL_INDEX = {level: index for index, level in enumerate(_LEVELS)}
#: Convexity defects at least this deep (fraction of the largest inscribed radius) count as deep.
DEEP_DEFECT = 0.25


def _contours(mask: np.ndarray) -> Sequence[np.ndarray]:
    """The outer contours of a mask, every outline pixel (``cv2.findContours``), for :func:`_outline` and :func:`_defects`."""
    return cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0]


def _outline(mask: np.ndarray, contours: Sequence[np.ndarray]) -> tuple[float, float]:
    """Solidity (area / convex-hull area) and convexity (hull perimeter / perimeter) of a mask (``contours``: its
    :func:`_contours`)."""
    if not contours:
        return float("nan"), float("nan")
    hull = cv2.convexHull(np.vstack(contours))
    perimeter = sum(cv2.arcLength(contour, True) for contour in contours)
    return (float(mask.sum()) / max(cv2.contourArea(hull), 1.0),
            cv2.arcLength(hull, True) / max(perimeter, 1.0))


class _Landscape:
    """A mask's inscribed-radius map (OpenCV's 5x5 chamfer distances of the mask padded by one pixel) and its
    4-connected regions deeper than each of :data:`_LEVELS` (fractions of the largest inscribed radius),
    found once for all of them: :func:`_split_neck` and :func:`_saddles` cut the same map at the same levels."""

    def __init__(self, mask: np.ndarray) -> None:
        self.part = _padded(mask, 1)
        self.area = cv2.countNonZero(self.part)  # the mask's pixels (``mask.sum()``)
        self.depth = cv2.distanceTransform(self.part, cv2.DIST_L2, 5)
        self.radius = float(self.depth.max())
        self._levels: list[tuple[int, int, float]] | None = None
        self._parts: int | None = None

    def parts(self) -> int:
        """The mask's number of 4-connected parts (:func:`_count`; the padding adds none), counted once."""
        if self._parts is None:
            self._parts = _count(self.part)
        return self._parts

    def regions(self, level: float) -> tuple[int, int, float]:
        """At ``level`` (one of :data:`_LEVELS`): the number of regions of ``depth > level * radius``
        (``cv2.connectedComponents``' number less the background), the number of lobes among them
        (:func:`_saddles`) and the second-deepest lobe's depth (0 with fewer than two lobes).

        The thresholds and the lobe tests in float32, as numpy compares the float32 map with a Python
        float; every level from one pass (:func:`wekawbc.features._kernels.level_regions`).
        """
        if self._levels is None:
            thresholds = np.array([level * self.radius for level in _LEVELS], np.float32)
            found = level_regions(self.depth, thresholds, np.float32(LOBE_PEAK * self.radius))
            self._levels = list(zip(*(array.tolist() for array in found)))  # Python ints and floats, per level
        return self._levels[_LEVEL_INDEX[level]]


def _split_neck(mask: np.ndarray, min_lobe_fraction: float = 0.08, landscape: _Landscape | None = None) -> float:
    """The smallest of :data:`SPLIT_NECKS` whose opening splits ``mask`` into two lobes or more (0 when
    it is in separate parts already, 1 when no neck splits it).

    The opening by a disc of radius ``neck * r`` (``r`` the largest inscribed radius) is the set of
    pixels within that radius of the pixels deeper than it (two distance transforms). ``landscape``:
    the mask's :class:`_Landscape`, when already made.
    """
    landscape = landscape or _Landscape(mask)
    part, depth, radius = landscape.part, landscape.depth, landscape.radius
    least = min_lobe_fraction * float(landscape.area)
    if landscape.parts() >= 2 and large_components(part, least)[1] >= 2:
        return 0.0
    for neck in SPLIT_NECKS:
        regions = landscape.regions(neck)[0]
        if regions == 0:
            break
        if regions == 1:  # one piece eroded, one piece opened (see _lobe_counts_and_parts)
            continue
        outer = depth <= neck * radius  # all but the pixels deeper than the disc (``~(depth > neck * radius)``)
        opened = cv2.distanceTransform(outer.view(np.uint8), cv2.DIST_L2, 5) <= neck * radius
        if large_components(opened.view(np.uint8), least)[1] >= 2:
            return neck
    return 1.0


def shape_inputs(nucleus_mask: np.ndarray, rgb: np.ndarray, cell_mask: np.ndarray | None = None) -> np.ndarray:
    """The :data:`SHAPE_INPUTS` of one nucleus, measured at :data:`SHAPE_DIAMETER` (NaN for an empty one).

    The split ratio of the nucleus and of its chromatin cores at :data:`SPLIT_CORES` (the narrowest
    neck ratio that splits it into lobes: low for lobes joined by a filament, 1 for a round
    nucleus), the lobes of the core at the median, the number of separate parts, solidity and
    convexity, the skeleton's end and branch points and its length over the square root of the
    area, the neck width (10th percentile of the inscribed radius along the skeleton over its
    maximum), the largest inscribed radius over the square root of the area, the nucleus's share
    of the cell (NaN without ``cell_mask``); then the saddles (:func:`_saddles`) of the nucleus and
    of its chromatin cores, the outline's indentations (:func:`_defects`) and the *fringe* (the share
    of the nucleus an opening by a disc of radius 2 px removes: granules or cytoplasm taken in).
    """
    nucleus = np.asarray(nucleus_mask, bool)
    nucleus_bytes = np.ascontiguousarray(nucleus).view(np.uint8)
    area = cv2.countNonZero(nucleus_bytes)  # ``nucleus.sum()``
    if area == 0:
        return np.full(len(SHAPE_INPUTS), np.nan)
    x, y, width, height = cv2.boundingRect(nucleus_bytes)
    margin = 2
    window = (slice(max(y - margin, 0), y + height + margin), slice(max(x - margin, 0), x + width + margin))
    scale = SHAPE_DIAMETER / (2.0 * np.sqrt(area / np.pi))
    crop = nucleus[window]
    size = (max(int(round(crop.shape[1] * scale)), 4), max(int(round(crop.shape[0] * scale)), 4))
    small = cv2.GaussianBlur(cv2.resize(crop.astype(np.float32), size, interpolation=cv2.INTER_AREA), (0, 0), 1.0) >= 0.5
    if not small.any():
        return np.full(len(SHAPE_INPUTS), np.nan)
    small_rgb = cv2.resize(np.ascontiguousarray(rgb[window]), size, interpolation=cv2.INTER_AREA)
    *core_masks, median_core = _chromatin_cores(small_rgb, small, (*SPLIT_CORES, CORE_QUANTILE))
    landscapes = [_Landscape(mask) for mask in (small, *core_masks)]
    cores = [_split_neck(core, landscape=landscape) for core, landscape in zip(core_masks, landscapes[1:])]
    outline = _contours(small)
    solidity, convexity = _outline(small, outline)
    skeleton = skeletonize(small)
    # ndi.convolve(skeleton, np.ones((3, 3)), mode="constant")'s counts, by OpenCV's unnormalised box filter
    neighbours = cv2.boxFilter(skeleton.view(np.uint8), -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    distance = landscapes[0].depth[1:-1, 1:-1]
    radius = landscapes[0].radius  # the padding's 0s add nothing
    along = distance[skeleton]
    small_area = landscapes[0].area
    root = float(np.sqrt(small_area))
    cell_area = cv2.countNonZero(np.ascontiguousarray(cell_mask, dtype=bool).view(np.uint8)) if cell_mask is not None else 0
    fraction = area / float(cell_area) if cell_area else float("nan")
    saddles = [value for mask, landscape in zip((small, *core_masks), landscapes) for value in _saddles(mask, landscape)]
    opened = cv2.morphologyEx(small.astype(np.uint8), cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    return np.array([
        _split_neck(small, landscape=landscapes[0]), *cores, _lobe_counts(median_core, (CORE_NECK_RATIO,))[0],
        landscapes[0].parts(), solidity, convexity, cv2.countNonZero(skeleton.view(np.uint8) & (neighbours == 2)),
        cv2.countNonZero(skeleton.view(np.uint8) & (neighbours >= 4)), cv2.countNonZero(skeleton.view(np.uint8)) / root,
        float(_quantile(along, 0.1)) / radius if along.size else float("nan"), radius / root, fraction,
        *saddles, *_defects(small, radius, outline), 1.0 - cv2.countNonZero(opened) / float(small_area)], float)


def _saddles(mask: np.ndarray, landscape: _Landscape | None = None) -> tuple[float, float, int]:
    """Where the inscribed-radius landscape of ``mask`` splits into lobes (the hematologist's filament rule).

    The pixels deeper than a level (a fraction of the largest inscribed radius ``R``, rising through
    :data:`SADDLE_LEVELS`) fall into separate regions once the level passes the width of the
    narrowest bridge between two lobes; a region is a lobe when its own depth is at least
    :data:`LOBE_PEAK` ``R`` (and half a pixel above the level). Returns the first level with two
    lobes (1 when none: the bridge's half-width over ``R``), that level over the smaller lobe's own
    depth (the bridge against that lobe, 1 when none), and the number of extra lobes at
    :data:`THIRD_LEVEL` (the lobes a filament thinner than a third of the widest lobe separates).
    ``landscape``: the mask's :class:`_Landscape`, when already made.
    """
    if (landscape.area if landscape else mask.sum()) < 10:
        return 1.0, 1.0, 0
    landscape = landscape or _Landscape(mask)
    radius = landscape.radius
    saddle, over_lobe, third = 1.0, 1.0, 0
    for level in SADDLE_LEVELS:
        if saddle < 1.0 and level > THIRD_LEVEL:
            break
        # A region is a lobe when its peak passes both tests (landscape.regions).
        _, lobes, second = landscape.regions(level)
        if lobes < 2:
            continue
        if saddle == 1.0:
            saddle, over_lobe = level, level * radius / second
        if level == THIRD_LEVEL:
            third = lobes - 1
    return saddle, over_lobe, third


def _defects(mask: np.ndarray, radius: float, contours: Sequence[np.ndarray]) -> tuple[float, float, int, float]:
    """The outline's indentations: the two deepest convexity defects over ``radius``, the number at least
    :data:`DEEP_DEFECT` deep, and the *pinch* (the shortest chord, inside the nucleus, between two deep
    defects, over ``2 * radius``; 3 when fewer than two): lobes pinched from both sides. ``contours``: the
    mask's :func:`_contours`.
    """
    contour = max(contours, key=cv2.contourArea)
    depths, points = np.zeros(0), []
    if len(contour) > 3:
        try:
            found = cv2.convexityDefects(contour, cv2.convexHull(contour, returnPoints=False))
        except cv2.error:  # a self-touching outline
            found = None
        if found is not None:
            found = found.reshape(-1, 4)
            depths = np.sort(found[:, 3] / 256.0)[::-1]
            points = [contour[k, 0] for k in found[found[:, 3] / 256.0 >= DEEP_DEFECT * radius, 2]]
    pinch = 3.0
    for first, a in enumerate(points):
        for b in points[first + 1:]:
            length = float(np.hypot(*(a - b)))
            if chord_share(mask, int(a[0]), int(a[1]), int(b[0]), int(b[1]), int(length) + 1) > 0.8:
                pinch = min(pinch, length / (2 * radius))
    padded = np.concatenate([depths, [0.0, 0.0]]) / radius
    return float(padded[0]), float(padded[1]), len(points), pinch

#: Neck ratios of the whole-mask lobe counts given to the lobe model (full resolution).
MASK_NECKS: tuple[float, ...] = CONFIDENCE_NECKS
#: Inputs of the lobe model: the nucleus shape (:data:`SHAPE_INPUTS`), the whole mask's lobe counts
#: at :data:`MASK_NECKS`, then the granule inputs (:data:`wekawbc.cells.granules.MODEL_INPUTS`,
#: prefixed ``granule_``). Never the cell type.
LOBE_MODEL_INPUTS: tuple[str, ...] = (SHAPE_INPUTS + tuple(f"lobes_neck_{n:g}" for n in MASK_NECKS)
                                      + tuple(f"granule_{name}" for name in MODEL_INPUTS))
_LOBE_MODEL = Path(__file__).with_name("lobe_model.json")


def lobe_model_inputs(nucleus_mask: np.ndarray, rgb: np.ndarray, granules: Mapping[str, float],
                      cell_mask: np.ndarray | None = None, mask_counts: list[int] | None = None) -> np.ndarray:
    """The :data:`LOBE_MODEL_INPUTS` of one cell (NaN where a measure is undefined).

    ``mask_counts``: the whole mask's :func:`count_lobes` at :data:`MASK_NECKS`, when already known.
    """
    counts = _lobe_counts(np.asarray(nucleus_mask, bool), MASK_NECKS) if mask_counts is None else mask_counts
    return np.concatenate([shape_inputs(nucleus_mask, rgb, cell_mask), np.asarray(counts, float),
                           model_inputs(granules)])


@lru_cache(maxsize=1)
def _lobe_model() -> dict:
    return json.loads(_LOBE_MODEL.read_text())


@lru_cache(maxsize=1)
def _forest() -> tuple[np.ndarray, ...]:
    """The stored trees as flat arrays (every tree's nodes one after the other): each node's children (as
    flat indices; -1 at a leaf), input, threshold (float32: :func:`segmented_probability` compares in the
    inputs' float32, as the Python comparison of a float32 with a float did) and leaf value, and the roots."""
    trees = _lobe_model()["trees"]
    starts = np.cumsum([0] + [len(tree["left"]) for tree in trees[:-1]])
    children = [np.concatenate([np.where(np.asarray(tree[side]) >= 0, np.asarray(tree[side]) + start, -1)
                                for tree, start in zip(trees, starts)]) for side in ("left", "right")]
    flat = [np.concatenate([np.asarray(tree[key], dtype) for tree in trees])
            for key, dtype in (("feature", np.intp), ("threshold", np.float32), ("value", np.float64))]
    return (*children, *flat, starts)


def segmented_probability(inputs: np.ndarray) -> float:
    """The lobe model's probability that a nucleus with these :data:`LOBE_MODEL_INPUTS` is segmented.

    A random forest fitted on the ``pbc`` development share (WBCAtt ``nucleus_shape``
    ``segmented-*`` against ``unsegmented-*``) by ``docs/cells_results/train_lobe_model.py`` (its
    command, commit, settings and size are in ``lobe_model.json``, the trees as plain numbers): the
    mean over its trees of each leaf's share of segmented nuclei. Missing inputs take the
    development share's median. The trees are walked by one compiled pass
    (:func:`wekawbc.features._kernels.forest_leaves`; scikit-learn's layout: ``value <= threshold`` goes left).
    """
    values = np.where(np.isfinite(inputs), inputs, _lobe_medians()).astype(np.float32)  # as scikit-learn
    left, right, feature, threshold, leaf, roots = _forest()
    return float(np.mean(leaf[forest_leaves(values, left, right, feature, threshold, roots)]))


@lru_cache(maxsize=1)
def _lobe_medians() -> np.ndarray:
    """The lobe model's development-share medians (float64), which missing inputs take."""
    return np.asarray(_lobe_model()["median"])

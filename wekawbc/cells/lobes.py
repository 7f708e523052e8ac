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
:data:`CORE_QUANTILE` quantile. Every count comes with a confidence (the share of neck ratios in
:data:`CONFIDENCE_NECKS` that give the same segmented/unsegmented answer), a reason when the count
is 0, and a flag when the nucleus touches the image border (a lobe may be cut off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import cv2
import numpy as np
from scipy import ndimage as ndi

from wekawbc.cells.granules import granule_calls

__all__ = ["LobeCount", "assess_lobes", "count_lobes", "eosinophilic_granules", "NECK_RATIO", "CORE_QUANTILE"]

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
    """:func:`count_lobes` at each neck ratio (one distance transform per nucleus part)."""
    mask = np.ascontiguousarray(nucleus_mask, dtype=np.uint8)
    total = int(mask.sum())
    if total == 0:
        return [0] * len(neck_ratios)
    labels, _ = ndi.label(mask)
    lobes = [0] * len(neck_ratios)
    for index, found in enumerate(ndi.find_objects(labels), start=1):
        part = np.pad((labels[found] == index).astype(np.uint8), 2)
        if part.sum() < min_lobe_fraction * total:
            continue
        radius = float(cv2.distanceTransform(part, cv2.DIST_L2, 5).max())
        for which, neck_ratio in enumerate(neck_ratios):
            size = max(int(round(neck_ratio * radius)), 1)
            disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * size + 1, 2 * size + 1))
            pieces, _ = ndi.label(cv2.morphologyEx(part, cv2.MORPH_OPEN, disc))
            areas = np.bincount(pieces.ravel())[1:]
            lobes[which] += max(int((areas >= min_lobe_fraction * total).sum()), 1)
    return lobes


@dataclass(frozen=True)
class LobeCount:
    """A lobe count with its confidence.

    Attributes
    ----------
    count : int
        0 (no nucleus), 1 (round, indented or band) or the number of lobes.
    confidence : float
        In [0.5, 1] for a nucleus (share of :data:`CONFIDENCE_NECKS` agreeing on lobed or not); 1 for
        an empty one.
    reason : str
        Why the count is 0 (empty otherwise).
    touches_border : bool
        The nucleus reaches the image border: a lobe may lie outside it.
    core : bool
        Counted on the chromatin core (red-orange granules over the nucleus).
    """

    count: int
    confidence: float
    reason: str = ""
    touches_border: bool = False
    core: bool = False


def _chromatin_core(rgb: np.ndarray, nucleus: np.ndarray) -> np.ndarray:
    """Nucleus pixels whose score is above the nucleus's :data:`CORE_QUANTILE` quantile (granules removed)."""
    ys, xs = np.nonzero(nucleus)
    window = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    data = rgb[window].astype(np.float32) / 255.0
    score = cv2.GaussianBlur((1.0 - data[..., 1]) + (data[..., 2] - data[..., 0]), (0, 0), 1.5)
    inside = nucleus[window]
    core = inside & (score > np.quantile(score[inside], CORE_QUANTILE))
    core = cv2.morphologyEx(core.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    full = np.zeros_like(nucleus)
    full[window] = core
    return full if full.any() else nucleus


def eosinophilic_granules(granules: Mapping[str, float]) -> bool:
    """Whether the granule measures read red-orange granules (:func:`wekawbc.cells.granules.granule_calls`)."""
    return granule_calls(granules).granule_colour == "red"


def assess_lobes(nucleus_mask: np.ndarray, rgb: np.ndarray | None = None,
                 granules: Mapping[str, float] | None = None, *, core: bool | None = None) -> LobeCount:
    """The lobe count of one nucleus, with confidence, reason and border flag (module notes).

    Parameters
    ----------
    nucleus_mask : ndarray of bool, shape (rows, cols)
    rgb : ndarray of uint8, shape (rows, cols, 3), optional
        The image the mask belongs to (needed for the chromatin core).
    granules : mapping, optional
        The cell's :func:`wekawbc.cells.granules.granule_measures`; where they show red-orange
        granules (:func:`eosinophilic_granules`) and ``rgb`` is given, the lobes are counted on the
        chromatin core.
    core : bool, optional
        Count on the chromatin core (True) or the whole mask (False) whatever the granules say
        (needs ``rgb``).
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
    count, *others = _lobe_counts(target, (neck, *necks))
    votes = [other >= 2 for other in others]
    agree = sum(vote == (count >= 2) for vote in votes) / len(votes)
    return LobeCount(count, max(agree, 0.5), touches_border=border, core=use_core)

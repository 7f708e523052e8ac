"""Finding every leukocyte of a blood-smear field (several per field possible, or none), and nothing else.

Method: a leukocyte nucleus is the one large object of a field whose colour lies far from the
field's red cells, on the blue side. The field itself is the reference, so the rule holds whatever
the stain does to red cells and plasma (pink, bluish, pale):

1. Work at ``working_size`` pixels on the longer side; smooth ``B - G`` (the nucleus score) and
   CIE L*a*b*. *Stained* pixels are those darker than Otsu's threshold of the grey level. The
   *red-cell colour* is the mean and covariance of the most typical ``colour_support`` share of the
   stained pixels (concentration steps of the minimum-covariance-determinant estimator): red cells
   are the bulk of a field's stained pixels whatever hue the stain gives them, so nuclei, cytoplasm
   and platelets are left out of it even when red cells stain as blue as a nucleus. The red-cell
   *score* reference is the stained pixels not already nucleus-like: their median ``B - G`` and its
   spread (95th percentile minus median).
2. Nucleus candidates: score above the largest of Otsu's threshold, the field median +
   ``blue_floor`` and the red-cell median + ``red_cell_spread`` spreads, and colour at least
   ``candidate_distance`` (Mahalanobis) from the red-cell colour -- the last is what keeps bluish
   red cells out of a nucleus's group. Parts under ``min_nucleus_area`` of the field are dropped
   (platelets, debris); parts closer than ``lobe_gap`` of the field side are one cell's lobes.
3. Each group is judged by what it is, against the field's own red cells:
   * *colour*: the median Mahalanobis distance of its L*a*b* from the red-cell colour
     (a red-cell cluster, however blue, stays near the red-cell colour; chromatin does not);
   * *size*: its area over the typical red-cell area (the red-cell radius is the median height of
     the distance-transform peaks of the stained pixels) -- platelet clumps are smaller;
   * *edge*: a group cut by the field border must be larger still (``edge_area`` red cells):
     an edge fragment is not classified.
   The confidence is ``1 / (1 + exp(-4 m))`` with ``m`` the smallest log-ratio of each measure to
   its minimum (``min_colour_distance``, ``min_area``); groups under ``min_confidence`` are dropped.
4. Each group left is cropped with a margin and segmented by
   :func:`wekawbc.cells.segmentation.segment_cell`, whose cell box is the detection's box.
   Boxes overlapping an earlier one at IoU 0.5 or more are the same cell (the most confident kept);
   a box overlapping an earlier one by ``merge_overlap`` of the smaller box or more is another part
   of that cell (lobes the threshold split): the two nucleus groups are segmented together.

Fields larger than ``max_pixels`` are refused with a clear error (:class:`FieldTooLarge`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

from wekawbc._io import WekawbcError
from wekawbc.cells.segmentation import CellSegmentation, SegmentationParams, segment_cell

__all__ = ["DetectionParams", "FieldTooLarge", "Leukocyte", "box_iou", "check_field_size", "find_leukocytes",
           "isolate_leukocytes"]

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class DetectionParams:
    """Fixed parameters of :func:`isolate_leukocytes` (chosen on the development share of ``bccd/``)."""

    working_size: int = 320
    smooth_sigma: float = 1.5
    blue_floor: float = 0.12         # B - G above the field's median, in [0, 1] intensity units
    red_cell_spread: float = 2.5     # B - G above the red cells' median, in red-cell spreads
    min_nucleus_area: float = 0.004  # fraction of the field's area
    lobe_gap: float = 0.03           # fraction of the field's longer side
    crop_margin: float = 0.35        # of the nucleus group's larger side, on each side
    merge_overlap: float = 0.1       # cells overlapping this much (of the smaller box) are segmented as one
    colour_support: float = 0.75     # share of the stained pixels that describes the red cells' colour
    candidate_distance: float = 3.0  # nucleus pixels lie this far from the red cells' colour (Mahalanobis)
    min_colour_distance: float = 4.5  # a group's median Mahalanobis L*a*b* distance from the red cells
    min_area: float = 1.65           # nucleus area, in typical red-cell areas
    edge_area: float = 2.2           # the same, for a group cut by the field border
    min_confidence: float = 0.5
    max_pixels: int = 40_000_000     # larger fields are refused (FieldTooLarge)


class FieldTooLarge(WekawbcError):
    """A field with more pixels than :attr:`DetectionParams.max_pixels`."""


@dataclass(frozen=True)
class Leukocyte:
    """One leukocyte found in a field: its box in field coordinates, its segmentation, its confidence.

    ``segmentation`` masks cover ``box`` only (crop coordinates): ``field[y0:y1, x0:x1]``.
    ``confidence`` in (0, 1]: how clearly the nucleus differs from the field's red cells in colour
    and size (see the module notes); 0.5 is the acceptance threshold.
    """

    box: Box
    segmentation: CellSegmentation
    confidence: float = 1.0
    nucleus_box: Box | None = None


def box_iou(first: Box, second: Box) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes."""
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / float(area(first) + area(second) - inter)


@dataclass(frozen=True)
class _Reference:
    """The field's red cells: nucleus-score median and spread, L*a*b* median and precision, typical area."""

    score: float
    score_spread: float
    colour: np.ndarray
    precision: np.ndarray  # inverse covariance of the red cells' L*a*b*
    cell_area: float

    def colour_distance(self, lab: np.ndarray) -> np.ndarray:
        """Mahalanobis distance of L*a*b* rows from the red cells."""
        centred = lab - self.colour
        return np.sqrt(np.einsum("ij,jk,ik->i", centred, self.precision, centred))


def _robust_colour(colours: np.ndarray, support: float, steps: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Mean and inverse covariance of the most typical ``support`` share of ``colours`` (rows of L*a*b*).

    Concentration steps of the minimum-covariance-determinant estimator, started from the median:
    the red cells, the bulk of a field's stained pixels, are described without the nuclei, cytoplasm
    and platelets among them, whatever colour the stain gives either.
    """
    centre = np.median(colours, axis=0)
    covariance = np.cov(colours, rowvar=False)
    for _ in range(steps):
        precision = np.linalg.inv(covariance + 0.5 * np.eye(3))  # half a unit of L*a*b* regularises flat fields
        centred = colours - centre
        distance = np.einsum("ij,jk,ik->i", centred, precision, centred)
        typical = colours[distance <= np.quantile(distance, support)]
        centre, covariance = typical.mean(axis=0), np.cov(typical, rowvar=False)
    return centre, np.linalg.inv(covariance + 0.5 * np.eye(3))


def _red_cells(score: np.ndarray, lab: np.ndarray, grey: np.ndarray, nucleus_like: np.ndarray,
               params: DetectionParams) -> _Reference:
    stained = grey > threshold_otsu(grey) if np.ptp(grey) > 0 else np.ones(grey.shape, bool)
    red = stained & ~nucleus_like
    few = red.sum() < 0.15 * red.size
    if red.sum() < 0.01 * red.size:  # hardly any red cell: the unstained rest stands in
        red = ~nucleus_like if (~nucleus_like).any() else np.ones(grey.shape, bool)
    values = score[red]
    median = float(np.median(values))
    # Where stained pixels are few (under 15 % of the field), leukocytes may be most of them: the
    # stained pixels that are not nucleus-like (or the unstained rest) describe the colour instead.
    colours = lab[red if stained.sum() < 0.15 * stained.size else stained].astype(np.float64)
    colour, precision = _robust_colour(colours[::max(1, len(colours) // 5000)], params.colour_support)
    depth = cv2.distanceTransform(stained.astype(np.uint8), cv2.DIST_L2, 5)
    peaks = (depth >= cv2.dilate(depth, np.ones((7, 7), np.uint8))) & (depth > 2)
    # A field with few red cells (under 15 % of it) gives no size reference, nor one stained
    # everywhere (a flat image: no background to measure depth from, every distance "infinite"): a
    # red cell is taken as 1/40 of the field's longer side across (about what the shared fields show).
    sized = not few and peaks.any() and not stained.all()
    radius = float(np.median(depth[peaks])) if sized else max(grey.shape) / 40
    return _Reference(median, max(float(np.percentile(values, 95)) - median, 1e-3), colour,
                      precision, np.pi * radius ** 2)


@dataclass(frozen=True)
class _Candidate:
    box: Box
    confidence: float
    colour: float  # distance from the red-cell colour, in red-cell spreads
    area: float    # in typical red-cell areas
    at_edge: bool


def _confidence(colour: float, area: float, minimum_area: float, params: DetectionParams) -> float:
    margin = min(np.log(max(colour, 1e-6) / params.min_colour_distance), np.log(max(area, 1e-6) / minimum_area))
    return float(1.0 / (1.0 + np.exp(-4.0 * margin)))


def _nucleus_groups(rgb: np.ndarray, params: DetectionParams) -> list[_Candidate]:
    """Grouped nucleus parts (boxes in field coordinates) with their confidence, every one kept."""
    rows, cols = rgb.shape[:2]
    scale = min(1.0, params.working_size / max(rows, cols))
    small = cv2.resize(rgb, (max(int(cols * scale), 1), max(int(rows * scale), 1)),
                       interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    data = cv2.GaussianBlur(small.astype(np.float32) / 255.0, (0, 0), params.smooth_sigma)
    score = data[..., 2] - data[..., 1]
    lab = cv2.cvtColor(data, cv2.COLOR_RGB2LAB)
    grey = 1.0 - data.mean(axis=2)
    base = float(np.median(score)) + params.blue_floor
    if np.ptp(score) > 0:
        base = max(float(threshold_otsu(score)), base)
    reference = _red_cells(score, lab, grey, score > base, params)
    threshold = max(base, reference.score + params.red_cell_spread * reference.score_spread)
    distance = reference.colour_distance(lab.reshape(-1, 3).astype(np.float64)).reshape(score.shape)
    labels, count = ndi.label((score > threshold) & (distance > params.candidate_distance))
    if count == 0:
        return []
    sizes = np.bincount(labels.ravel())
    big = sizes >= params.min_nucleus_area * labels.size
    big[0] = False
    parts = big[labels]
    radius = max(int(round(params.lobe_gap * max(small.shape[:2]) / 2)), 1)
    joined = cv2.dilate(parts.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))).astype(bool)
    groups, _ = ndi.label(joined)
    groups = np.where(parts, groups, 0)
    found = []
    for number, where in enumerate(ndi.find_objects(groups), start=1):
        if where is None:
            continue
        inside = groups[where] == number
        colour = float(np.median(distance[where][inside]))
        y, x = where
        at_edge = x.start == 0 or y.start == 0 or x.stop == small.shape[1] or y.stop == small.shape[0]
        minimum = params.edge_area if at_edge else params.min_area
        area = float(inside.sum()) / reference.cell_area
        found.append(_Candidate((int(x.start / scale), int(y.start / scale), int(np.ceil(x.stop / scale)),
                                 int(np.ceil(y.stop / scale))), _confidence(colour, area, minimum, params),
                                colour, area, at_edge))
    return found


def _overlap(first: Box, second: Box) -> float:
    """Intersection over the smaller box's area."""
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((b[2] - b[0]) * (b[3] - b[1]) for b in (first, second))
    return width * height / float(max(smaller, 1))


def _union(first: Box, second: Box) -> Box:
    return (min(first[0], second[0]), min(first[1], second[1]), max(first[2], second[2]), max(first[3], second[3]))


def _segment(rgb: np.ndarray, nucleus_box: Box, confidence: float, params: DetectionParams,
             segmentation: SegmentationParams) -> Leukocyte | None:
    """Segment the cell around a nucleus group (crop with a margin); None when no nucleus is found."""
    rows, cols = rgb.shape[:2]
    x0, y0, x1, y1 = nucleus_box
    margin = int(params.crop_margin * max(x1 - x0, y1 - y0))
    cx0, cy0 = max(x0 - margin, 0), max(y0 - margin, 0)
    cx1, cy1 = min(x1 + margin, cols), min(y1 + margin, rows)
    # A copy, not a view: OpenCV's filters on a view of the field read pixels beyond the crop, and
    # not always the same ones (the features of one field differed from run to run).
    cell = segment_cell(np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1]), segmentation)
    if not cell.found:
        return None
    bx0, by0, bx1, by1 = cell.box
    crop = tuple(slice(lo, hi) for lo, hi in ((by0, by1), (bx0, bx1)))
    return Leukocyte((cx0 + bx0, cy0 + by0, cx0 + bx1, cy0 + by1),
                     CellSegmentation(cell.nucleus_mask[crop], cell.cytoplasm_mask[crop], cell.cell_mask[crop],
                                      (0, 0, bx1 - bx0, by1 - by0)), round(confidence, 4), nucleus_box)


def check_field_size(shape: tuple[int, ...], params: DetectionParams = DetectionParams()) -> None:
    """Raise :class:`FieldTooLarge` when a field of ``shape`` has more than ``params.max_pixels`` pixels."""
    pixels = int(shape[0]) * int(shape[1])
    if pixels > params.max_pixels:
        raise FieldTooLarge(f"field of {shape[1]}x{shape[0]} pixels ({pixels:,}) exceeds the limit of "
                            f"{params.max_pixels:,} pixels; cut it into fields of at most that size")


def isolate_leukocytes(rgb: np.ndarray, params: DetectionParams = DetectionParams(),
                       segmentation: SegmentationParams = SegmentationParams(), *,
                       min_confidence: float | None = None) -> list[Leukocyte]:
    """Find and segment every leukocyte of a smear field (an empty list when there is none).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
        The field.
    params, segmentation : DetectionParams, SegmentationParams
        Fixed parameters.
    min_confidence : float, optional
        Overrides ``params.min_confidence`` (0 keeps every candidate, for validation).

    Returns
    -------
    list of Leukocyte
        In reading order (top to bottom, left to right), each with its box, crop masks and confidence.

    Raises
    ------
    FieldTooLarge
        A field over ``params.max_pixels`` pixels.
    """
    check_field_size(rgb.shape, params)
    floor = params.min_confidence if min_confidence is None else min_confidence
    found = []
    candidates = sorted(_nucleus_groups(rgb, params), key=lambda candidate: -candidate.confidence)
    for candidate in (c for c in candidates if c.confidence >= floor):
        leukocyte = _segment(rgb, candidate.box, candidate.confidence, params, segmentation)
        if leukocyte is None or any(box_iou(leukocyte.box, kept.box) >= 0.5 for kept in found):
            continue
        touching = [kept for kept in found if _overlap(leukocyte.box, kept.box) >= params.merge_overlap]
        if touching:  # parts of one cell (lobes the threshold split): segment them together
            kept = touching[0]
            merged = _segment(rgb, _union(kept.nucleus_box, candidate.box), kept.confidence, params, segmentation)
            if merged is not None:
                found[found.index(kept)] = merged
            continue
        found.append(leukocyte)
    return sorted(found, key=lambda leukocyte: (leukocyte.box[1], leukocyte.box[0]))


def find_leukocytes(rgb: np.ndarray, params: DetectionParams = DetectionParams()) -> list[Box]:
    """Boxes ``(x0, y0, x1, y1)`` (x1, y1 exclusive) of every leukocyte in a smear field."""
    return [leukocyte.box for leukocyte in isolate_leukocytes(rgb, params)]

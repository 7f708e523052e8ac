"""Finding every leukocyte of a blood-smear field (several per field possible, or none).

Method: leukocyte nuclei are the only large objects much bluer than green in Romanowsky-type
stains (red cells and plasma have blue ≈ green; platelets are blue but small). At a working scale
(``working_size`` pixels on the longer side) the smoothed ``B - G`` channel is thresholded at the
larger of Otsu's threshold and ``median + blue_floor``; components smaller than ``min_nucleus_area``
(a fraction of the field) are dropped (platelets, debris); nucleus parts closer than ``lobe_gap``
(a fraction of the field's longer side) are grouped as one cell's lobes. Each group is cropped with
a margin and segmented by :func:`wekawbc.cells.segmentation.segment_cell`, whose cell box is the
detection's box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

from wekawbc.cells.segmentation import CellSegmentation, SegmentationParams, segment_cell

__all__ = ["DetectionParams", "Leukocyte", "box_iou", "find_leukocytes", "isolate_leukocytes"]

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class DetectionParams:
    """Fixed parameters of :func:`find_leukocytes`."""

    working_size: int = 320
    smooth_sigma: float = 1.5
    blue_floor: float = 0.12         # B - G above the field's median, in [0, 1] intensity units
    min_nucleus_area: float = 0.004  # fraction of the field's area
    lobe_gap: float = 0.03           # fraction of the field's longer side
    crop_margin: float = 0.8         # of the nucleus group's larger side, on each side


@dataclass(frozen=True)
class Leukocyte:
    """One leukocyte found in a field: its box in field coordinates and its segmentation.

    ``segmentation`` masks cover ``box`` only (crop coordinates): ``field[y0:y1, x0:x1]``.
    """

    box: Box
    segmentation: CellSegmentation


def box_iou(first: Box, second: Box) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes."""
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / float(area(first) + area(second) - inter)


def _nucleus_groups(rgb: np.ndarray, params: DetectionParams) -> list[Box]:
    """Boxes (field coordinates) of grouped nucleus parts."""
    rows, cols = rgb.shape[:2]
    scale = min(1.0, params.working_size / max(rows, cols))
    small = cv2.resize(rgb, (max(int(cols * scale), 1), max(int(rows * scale), 1)),
                       interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    data = small.astype(np.float32) / 255.0
    blueness = cv2.GaussianBlur(data[..., 2] - data[..., 1], (0, 0), params.smooth_sigma)
    threshold = max(threshold_otsu(blueness), float(np.median(blueness)) + params.blue_floor)
    labels, count = ndi.label(blueness > threshold)
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
    boxes = []
    for found in ndi.find_objects(np.where(parts, groups, 0)):
        if found is None:
            continue
        y, x = found
        boxes.append((int(x.start / scale), int(y.start / scale),
                      int(np.ceil(x.stop / scale)), int(np.ceil(y.stop / scale))))
    return boxes


def isolate_leukocytes(rgb: np.ndarray, params: DetectionParams = DetectionParams(),
                       segmentation: SegmentationParams = SegmentationParams()) -> list[Leukocyte]:
    """Find and segment every leukocyte of a smear field (an empty list when there is none).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
        The field.
    params, segmentation : DetectionParams, SegmentationParams
        Fixed parameters.

    Returns
    -------
    list of Leukocyte
        In reading order (top to bottom, left to right), each with its box and crop masks.
    """
    rows, cols = rgb.shape[:2]
    found = []
    for x0, y0, x1, y1 in _nucleus_groups(rgb, params):
        margin = int(params.crop_margin * max(x1 - x0, y1 - y0))
        cx0, cy0 = max(x0 - margin, 0), max(y0 - margin, 0)
        cx1, cy1 = min(x1 + margin, cols), min(y1 + margin, rows)
        cell = segment_cell(rgb[cy0:cy1, cx0:cx1], segmentation)
        if not cell.found:
            continue
        bx0, by0, bx1, by1 = cell.box
        box = (cx0 + bx0, cy0 + by0, cx0 + bx1, cy0 + by1)
        crop = tuple(slice(lo, hi) for lo, hi in ((by0, by1), (bx0, bx1)))
        found.append(Leukocyte(box, CellSegmentation(cell.nucleus_mask[crop], cell.cytoplasm_mask[crop],
                                                     cell.cell_mask[crop], (0, 0, bx1 - bx0, by1 - by0))))
    unique = []
    for item in sorted(found, key=lambda leukocyte: (leukocyte.box[1], leukocyte.box[0])):
        if all(box_iou(item.box, kept.box) < 0.5 for kept in unique):
            unique.append(item)
    return unique


def find_leukocytes(rgb: np.ndarray, params: DetectionParams = DetectionParams()) -> list[Box]:
    """Boxes ``(x0, y0, x1, y1)`` (x1, y1 exclusive) of every leukocyte in a smear field."""
    return [leukocyte.box for leukocyte in isolate_leukocytes(rgb, params)]

"""From an image to the feature rows of its leukocytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from wekawbc.cells.detection import DetectionParams, isolate_leukocytes
from wekawbc.cells.fields import choose_cells
from wekawbc.cells.scale import Scale, estimate_scale
from wekawbc.cells.stain import StainMethod, background_colour, normalise_stain
from wekawbc.cells.segmentation import CellSegmentation, SegmentationParams, segment_cell
from wekawbc.features.compute import compute_features
from wekawbc.features.registry import feature_names

__all__ = ["CellFeatures", "Mode", "extract_features", "FIELD_MIN_SIDE"]

Mode = Literal["auto", "crop", "field"]
#: In ``mode="auto"``, images whose longer side reaches this many pixels are smear fields.
FIELD_MIN_SIDE = 480
_NAMES = feature_names()  # the row's names, in registry order


@dataclass(frozen=True)
class CellFeatures:
    """The features of one leukocyte.

    Attributes
    ----------
    box : tuple of int
        ``(x0, y0, x1, y1)`` in image coordinates (x1, y1 exclusive).
    cell : int
        The leukocyte's number in its image (the detector's reading order; 0 for a crop).
    confidence : float
        The detector's confidence (1 for a crop).
    values : dict
        Feature name → float (NaN where undefined), in registry order.
    segmentation : CellSegmentation
        The masks, in image coordinates (full image size).
    scale : Scale or None
        The image's µm per pixel and its source (what the ``size`` features used).
    """

    box: tuple[int, int, int, int]
    values: dict[str, float]
    segmentation: CellSegmentation
    cell: int = 0
    confidence: float = 1.0
    scale: Scale | None = None


def _measure(rgb: np.ndarray, segmentation: CellSegmentation, pixel_size: float | None,
             pad: int = 2) -> tuple[dict[str, float], Scale]:
    """Features computed on the cell's box (plus ``pad`` pixels): same values, much less work.

    The scale and the plasma's colour are read on the whole image (the leukocyte kept out).
    """
    scale = estimate_scale(rgb, segmentation.cell_mask, pixel_size=pixel_size)
    background, _ = background_colour(rgb, segmentation.cell_mask)
    x0, y0, x1, y1 = segmentation.box
    window = (slice(max(y0 - pad, 0), y1 + pad), slice(max(x0 - pad, 0), x1 + pad))
    values = compute_features(rgb[window], segmentation.nucleus_mask[window], segmentation.cell_mask[window],
                              um_per_pixel=scale.um_per_pixel if scale.known else None, background=background)
    return dict(zip(_NAMES, values.tolist())), scale


def _full_size(shape: tuple[int, int], box: tuple[int, int, int, int], crop: CellSegmentation) -> CellSegmentation:
    x0, y0, x1, y1 = box
    masks = []
    for part in (crop.nucleus_mask, crop.cytoplasm_mask, crop.cell_mask):
        full = np.zeros(shape, bool)
        full[y0:y1, x0:x1] = part
        masks.append(full)
    return CellSegmentation(*masks, box)


def extract_features(rgb: np.ndarray, *, mode: Mode = "auto",
                     segmentation: SegmentationParams = SegmentationParams(),
                     detection: DetectionParams = DetectionParams(),
                     one_per_image: bool = False, pixel_size: float | None = None,
                     stain: StainMethod = "none") -> list[CellFeatures]:
    """Find, segment and measure the leukocytes of an image.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
        A single-cell crop or a smear field (see :func:`wekawbc.cells.dataset.read_image`).
    mode : {"auto", "crop", "field"}, default="auto"
        ``crop``: the image holds one leukocyte (the one nearest the centre is measured);
        ``field``: every leukocyte is found (:func:`wekawbc.cells.detection.isolate_leukocytes`);
        ``auto``: ``field`` when the longer side is at least :data:`FIELD_MIN_SIDE` pixels.
    segmentation, detection : SegmentationParams, DetectionParams
        Fixed parameters.
    one_per_image : bool, default=False
        In a field, only the largest, most central leukocyte (:func:`wekawbc.cells.fields.choose_cells`).
    pixel_size : float, optional
        µm per pixel (``--pixel-size``); without it each image's scale is estimated from its red
        cells, else its leukocyte (:func:`wekawbc.cells.scale.estimate_scale`).
    stain : {"none", "white-balance", "reinhard"}, default="none"
        Colour normalisation of the image before segmentation and features
        (:func:`wekawbc.cells.stain.normalise_stain`).

    Returns
    -------
    list of CellFeatures
        One per leukocyte found (an empty list when there is none).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image of shape (rows, cols, 3), got {rgb.dtype} {rgb.shape}")
    if mode not in ("auto", "crop", "field"):
        raise ValueError(f"mode must be 'auto', 'crop' or 'field', got {mode!r}")
    if mode == "auto":
        mode = "field" if max(rgb.shape[:2]) >= FIELD_MIN_SIDE else "crop"
    if stain != "none":
        rgb = normalise_stain(rgb, stain).rgb
    if mode == "crop":
        cell = segment_cell(rgb, segmentation)
        if not cell.found:
            return []
        values, scale = _measure(rgb, cell, pixel_size)
        return [CellFeatures(cell.box, values, cell, scale=scale)]
    found = []
    leukocytes = isolate_leukocytes(rgb, detection, segmentation)
    for number, leukocyte in choose_cells(leukocytes, rgb.shape[:2], one_per_image):
        cell = _full_size(rgb.shape[:2], leukocyte.box, leukocyte.segmentation)
        values, scale = _measure(rgb, cell, pixel_size)
        found.append(CellFeatures(leukocyte.box, values, cell, number, leukocyte.confidence, scale))
    return found

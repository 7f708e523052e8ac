"""Physical scale of a blood-cell image (µm per pixel), estimated from what the image shows.

A normal red cell is about :data:`RED_CELL_DIAMETER_UM` (7.5 µm) across whatever the microscope,
so the red cells around a leukocyte are a ruler. :func:`estimate_scale` finds them: objects of
the stained foreground (``1 - G`` above the plasma's lower three-class Otsu threshold, as in
:mod:`wekawbc.cells.segmentation`) whose central pallor is filled, that do not touch the image's
border or the leukocyte, are round (solidity, eccentricity) and not nucleated; the interquartile
mean of their equivalent diameters gives the scale. When no red cell qualifies, the leukocyte itself is
the ruler (:data:`LEUKOCYTE_DIAMETER_UM`; rough, since leukocyte types differ in size), and a
user's ``--pixel-size`` always wins.

>>> from wekawbc.cells.scale import estimate_scale
>>> scale = estimate_scale(rgb)                     # doctest: +SKIP
>>> scale.um_per_pixel, scale.source, scale.note    # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal, Sequence

import cv2
import numpy as np

from wekawbc.cells._kernels import label_shape, region_statistics, stain_planes, to_unit_float
from wekawbc.cells.segmentation import dilated, fill_holes, kept_buffer, three_class_thresholds

__all__ = ["LEUKOCYTE_DIAMETER_UM", "MIN_RED_CELL_IMAGES", "RED_CELL_DIAMETER_UM", "RedCellParams", "Scale",
           "ScaleSource", "convex_area", "dataset_scale", "estimate_scale", "find_red_cells", "red_cell_diameters"]

#: Mean diameter of a normal red cell on a dried, stained smear (µm).
RED_CELL_DIAMETER_UM = 7.5
#: Assumed diameter of a leukocyte on a smear when it is the only ruler (µm): a middle value of
#: lymphocytes (7-10), neutrophils and eosinophils (12-15) and monocytes (15-20).
LEUKOCYTE_DIAMETER_UM = 12.0

ScaleSource = Literal["red cells", "leukocyte", "user", "none"]
#: :func:`dataset_scale` trusts red cells when at least this many images showed some.
MIN_RED_CELL_IMAGES = 3


@dataclass(frozen=True)
class Scale:
    """An image's physical scale and where it came from.

    Attributes
    ----------
    um_per_pixel : float
        Micrometres per pixel (NaN when ``source`` is ``"none"``).
    source : {"red cells", "leukocyte", "user", "none"}
        What gave it.
    note : str
        One line for the output: how many red cells were measured, or why it fell back.
    red_cells : int
        Red cells measured (0 unless ``source`` is ``"red cells"``).
    """

    um_per_pixel: float
    source: ScaleSource
    note: str
    red_cells: int = 0

    @property
    def known(self) -> bool:
        """True when a scale is available (any source but ``"none"``)."""
        return self.source != "none" and math.isfinite(self.um_per_pixel)

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class RedCellParams:
    """Fixed parameters of :func:`find_red_cells` (fractions of the image's longer side unless noted)."""

    min_diameter: float = 0.04     # smaller objects are platelets, debris
    max_diameter: float = 0.45     # larger ones are clumps or the background's shading
    min_solidity: float = 0.9      # overlapping or crenated clumps are not convex
    max_eccentricity: float = 0.75  # a red cell seen flat is nearly round
    min_red_cells: int = 1          # fewer than this: fall back to the leukocyte
    border: int = 2                # pixels: objects this close to the border are cut off
    nucleus_fraction: float = 0.05  # an object with more nucleus-stained pixels than this is no red cell
    #: With a leukocyte given, a red cell's diameter lies in this range of the leukocyte's
    #: (7.5 µm against leukocytes of 7-20 µm, with margin): drops platelets, debris and clumps.
    leukocyte_ratio: tuple[float, float] = (0.3, 1.1)


def _stain_channels(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``darkness = 1 - G``, the nucleus score ``darkness + (B - R)`` (see the segmentation module), ``B > R``."""
    data = to_unit_float(rgb, kept_buffer("scale_rgb", rgb.shape, np.float32))  # rgb.astype(np.float32) / 255.0
    blurred = cv2.GaussianBlur(data, (0, 0), 1.0, dst=kept_buffer("scale_blurred", rgb.shape, np.float32))
    return stain_planes(blurred)


def _central_moments(moments: np.ndarray) -> tuple[float, float, float, float]:
    """``m00, mu20, mu11, mu02`` from :func:`label_shape`'s raw moments, as ``cv2.moments`` derives them (the same
    double operations, so the same numbers)."""
    m00, m10, m01, m20, m11, m02 = (float(value) for value in moments)
    inverse = 1.0 / m00
    x_mean, y_mean = m10 * inverse, m01 * inverse
    return m00, m20 - m10 * x_mean, m11 - m10 * y_mean, m02 - m01 * y_mean


def _eccentricity(moments: np.ndarray) -> float:
    """``skimage.measure.regionprops``' eccentricity of a binary region, from its raw moments (:func:`label_shape`'s).

    The central moments (:func:`_central_moments`), then scikit-image's inertia tensor (rows, cols):
    ``[[mu_cols, -mu11], [-mu11, mu_rows]] / area`` and its eigenvalues.
    """
    m00, mu20, mu11, mu02 = _central_moments(moments)
    tensor = np.array([[mu20, -mu11], [-mu11, mu02]]) / m00
    small, large = np.clip(np.linalg.eigvalsh(tensor), 0, None)
    return 0.0 if large == 0 else math.sqrt(1 - small / large)


def _too_eccentric(moments: np.ndarray, limit: float) -> bool:
    """``_eccentricity(moments) > limit``, mostly without LAPACK.

    The tensor's eigenvalues in closed form (half the trace plus or minus the hypotenuse of half the
    diagonal's difference and the off-diagonal term) agree with ``eigvalsh``'s to within a few units
    in the last place, and so do the squared eccentricities (``1 - small / large``); only a squared
    eccentricity within ``1e-9`` of the squared limit is left to :func:`_eccentricity` itself, so the
    answer is its answer.
    """
    _, mu20, mu11, mu02 = _central_moments(moments)
    middle, spread = (mu20 + mu02) / 2.0, math.hypot((mu20 - mu02) / 2.0, mu11)
    large, small = middle + spread, max(middle - spread, 0.0)
    squared = 0.0 if large <= 0 else 1.0 - small / large  # the eccentricity's square
    if limit <= 0 or abs(squared - limit * limit) < 1e-9:
        return _eccentricity(moments) > limit
    return squared > limit * limit


def convex_area(region: np.ndarray) -> int:
    """``np.count_nonzero(skimage.morphology.convex_hull_image(region))`` of a non-empty 2-D bool region, testing fewer pixels.

    The same polygon as scikit-image's: the convex hull of the midpoints of the four edges of the
    region's pixels (here of the first and the last on each half-pixel row only, which have the same
    hull), found on the midpoints' exact integer coordinates in half pixels (scikit-image asks Qhull, several times
    slower on these few hundred points; the hull of a point set is one polygon). The centre of
    each pixel of the region lies inside its own four midpoints, well inside that polygon, so only
    the other pixels of the box are tested: in the closed polygon, as ``skimage.measure.points_in_poly``
    (which ``grid_points_in_poly`` applies to every pixel) counts them, here in exact integer
    arithmetic on the half-pixel grid, a row at a time. All of it one compiled pass
    (:func:`wekawbc.cells._kernels.label_shape`, which :func:`find_red_cells` calls on its label image).
    """
    return label_shape(np.ascontiguousarray(region, dtype=bool).view(np.uint8), 1, (0, region.shape[0], 0, region.shape[1]))[1]


def _red_cell_labels(rgb: np.ndarray, leukocyte: np.ndarray | None, params: RedCellParams
                     ) -> tuple[np.ndarray, list[int], np.ndarray]:
    """The labelled foreground, the labels of its red cells and every label's area (see :func:`find_red_cells`)."""
    darkness, score, bluish = _stain_channels(rgb)
    try:
        low, _ = three_class_thresholds(darkness, remember=True)
        _, high = three_class_thresholds(score)
    except ValueError:  # a flat image
        return np.zeros(rgb.shape[:2], np.int32), [], np.zeros(1, np.int64)
    # (bool masks handed to OpenCV and back as views of their 0/1 bytes: no copies of the whole image)
    foreground = fill_holes(cv2.morphologyEx((darkness > low).view(np.uint8), cv2.MORPH_OPEN,
                                             np.ones((3, 3), np.uint8)).view(bool))
    nucleus = (score > high) & bluish  # without a leukocyte the top class may be the red cells
    if leukocyte is not None and leukocyte.any():
        foreground &= ~dilated(leukocyte, 5)
    # 4-connected objects, numbered as scipy.ndimage.label numbers them (raster order).
    count, labels = cv2.connectedComponents(foreground.view(np.uint8), connectivity=4)
    areas, nucleus_pixels, boxes = region_statistics(labels, count, nucleus)
    rows, cols = rgb.shape[:2]
    side = max(rows, cols)
    low_d, high_d = params.min_diameter * side, params.max_diameter * side
    if leukocyte is not None and leukocyte.any():
        reference = 2.0 * math.sqrt(np.count_nonzero(leukocyte) / math.pi)
        low_d = max(low_d, params.leukocyte_ratio[0] * reference)
        high_d = min(high_d, params.leukocyte_ratio[1] * reference)
    found = []
    # Cheap tests first (every test must pass: their order changes nothing found); the moments and
    # the convex hull (eccentricity, solidity) only for the objects left. The measures are
    # regionprops' (equivalent_diameter_area, eccentricity, solidity).
    for label in range(1, count):  # (OpenCV's labels are consecutive: none is empty)
        area = int(areas[label])
        if not low_d <= (4 * area / math.pi) ** 0.5 <= high_d or nucleus_pixels[label] / area > params.nucleus_fraction:
            continue
        y0, y1, x0, x1 = (int(edge) for edge in boxes[label])
        if y0 < params.border or x0 < params.border or y1 > rows - params.border or x1 > cols - params.border:
            continue
        moments, hull = label_shape(labels, label, (y0, y1, x0, x1))  # (the convex area: see convex_area)
        if _too_eccentric(moments, params.max_eccentricity) or area / hull < params.min_solidity:
            continue
        found.append(label)
    return labels, found, areas


def find_red_cells(rgb: np.ndarray, leukocyte: np.ndarray | None = None,
                   params: RedCellParams = RedCellParams()) -> list[np.ndarray]:
    """Masks of the whole, isolated red cells of an image.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
    leukocyte : ndarray of bool, optional
        The leukocyte's cell mask; objects touching it (dilated by 2 pixels) are left out. Without
        it, objects holding nucleus-stained pixels are still left out.
    params : RedCellParams

    Returns
    -------
    list of ndarray of bool
        One full-size mask per red cell.
    """
    labels, found, _ = _red_cell_labels(rgb, leukocyte, params)
    return [labels == label for label in found]


def red_cell_diameters(rgb: np.ndarray, leukocyte: np.ndarray | None = None,
                       params: RedCellParams = RedCellParams()) -> np.ndarray:
    """Equivalent diameters (pixels) of the red cells :func:`find_red_cells` finds."""
    _, found, areas = _red_cell_labels(rgb, leukocyte, params)
    return np.array([2.0 * math.sqrt(int(areas[label]) / math.pi) for label in found])


def _interquartile_mean(values: np.ndarray) -> float:
    """``scipy.stats.trim_mean(values, 0.25)`` of a 1-D array: the same partition and mean, without SciPy's checks."""
    cut = int(0.25 * len(values))
    return float(np.mean(np.partition(values, (cut, len(values) - cut - 1))[cut:len(values) - cut]))


def estimate_scale(rgb: np.ndarray, leukocyte: np.ndarray | None = None, *, pixel_size: float | None = None,
                   params: RedCellParams = RedCellParams()) -> Scale:
    """The image's µm per pixel: the user's, else from its red cells, else from its leukocyte.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
    leukocyte : ndarray of bool, optional
        The leukocyte's cell mask (:class:`wekawbc.cells.segmentation.CellSegmentation.cell_mask`):
        kept out of the red cells, and the fallback ruler.
    pixel_size : float, optional
        The user's µm per pixel (``--pixel-size``); when given it is used as is.
    params : RedCellParams

    Returns
    -------
    Scale
        ``source`` says which ruler was used; ``"none"`` (NaN scale) when there was none.
    """
    if pixel_size is not None:
        if not (math.isfinite(pixel_size) and pixel_size > 0):
            raise ValueError(f"pixel size must be a positive number of µm, got {pixel_size!r}")
        return Scale(float(pixel_size), "user", f"{pixel_size:g} µm per pixel given by the user")
    diameters = red_cell_diameters(rgb, leukocyte, params)
    if len(diameters) >= params.min_red_cells:
        # The interquartile mean: robust to a stray clump, and smoother than the median when a
        # borderline cell joins or leaves the set.
        typical = _interquartile_mean(diameters)
        return Scale(RED_CELL_DIAMETER_UM / typical, "red cells",
                     f"interquartile mean diameter of {len(diameters)} red cell(s): {typical:.1f} px "
                     f"= {RED_CELL_DIAMETER_UM} µm",
                     len(diameters))
    if leukocyte is not None and leukocyte.any():
        diameter = 2.0 * math.sqrt(np.count_nonzero(leukocyte) / math.pi)
        return Scale(LEUKOCYTE_DIAMETER_UM / diameter, "leukocyte",
                     f"no whole red cell found; leukocyte taken as {LEUKOCYTE_DIAMETER_UM} µm across "
                     f"({diameter:.1f} px; rough: types differ in size)")
    return Scale(math.nan, "none", "no whole red cell and no leukocyte found, and no --pixel-size given: "
                                   "sizes stay in pixels")


def dataset_scale(scales: Sequence[Scale]) -> Scale:
    """One scale for images from one microscope: the median of the images' best estimates.

    Single-cell crops often show no whole red cell (they are cut by the crop's border), and a
    leukocyte is a poor ruler for its own image (types differ in size); over a data set taken at
    one magnification the few images with red cells give the scale of all. Priority: the user's
    scale, the median over images measured by red cells (at least :data:`MIN_RED_CELL_IMAGES`),
    else the median over leukocyte-measured images, else none.
    """
    by_source = {source: [s.um_per_pixel for s in scales if s.source == source and s.known]
                 for source in ("user", "red cells", "leukocyte")}
    if by_source["user"]:
        return Scale(float(np.median(by_source["user"])), "user", "given by the user")
    red = by_source["red cells"]
    if len(red) >= MIN_RED_CELL_IMAGES:
        return Scale(float(np.median(red)), "red cells",
                     f"data set: median over the {len(red)} of {len(scales)} images with whole red cells",
                     sum(s.red_cells for s in scales))
    leukocyte = by_source["leukocyte"] + red
    if leukocyte:
        return Scale(float(np.median(leukocyte)), "leukocyte",
                     f"data set: {len(red)} image(s) with whole red cells (fewer than {MIN_RED_CELL_IMAGES}); "
                     f"median over {len(leukocyte)} images, leukocytes taken as {LEUKOCYTE_DIAMETER_UM} µm across")
    return Scale(math.nan, "none", "no image gave a scale and no --pixel-size was given: sizes stay missing")

"""Computing the registry's features for one segmented cell (vectorised per compartment)."""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.feature import graycomatrix, graycoprops, local_binary_pattern

from wekawbc.cells.granules import granule_measures
from wekawbc.cells.lobes import assess_lobes
from wekawbc.features.registry import (CHANNELS, FEATURES, GLCM_LEVELS, GLCM_SIZE, LBP_BINS, LBP_POINTS,
                                       SIZE_MEASURES)

__all__ = ["colour_channels", "compute_features"]

_ANGLES = np.deg2rad(np.arange(0, 180, 2.0))
_DIRECTIONS = np.stack([np.cos(_ANGLES), np.sin(_ANGLES)])


def colour_channels(rgb: np.ndarray) -> np.ndarray:
    """The nine channels of :data:`~wekawbc.features.registry.CHANNELS`, shape (rows, cols, 9), float32."""
    unit = rgb.astype(np.float32) / 255.0
    hsv = cv2.cvtColor(unit, cv2.COLOR_RGB2HSV)  # H in degrees, S and V in [0, 1]
    lab = cv2.cvtColor(unit, cv2.COLOR_RGB2Lab)  # L in [0, 100], a and b signed
    return np.concatenate([rgb.astype(np.float32), hsv, lab], axis=2)


def _shape(mask: np.ndarray) -> dict[str, float]:
    area = float(mask.sum())
    if area == 0:
        return {}
    mask8 = mask.astype(np.uint8)
    contours, _ = cv2.findContours(mask8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    perimeter = float(sum(cv2.arcLength(contour, True) for contour in contours))
    points = np.vstack([contour.reshape(-1, 2) for contour in contours]).astype(np.float64)
    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    hull_area = max(float(cv2.contourArea(hull.astype(np.float32))), area)
    hull_perimeter = float(cv2.arcLength(hull.astype(np.float32), True))
    ys, xs = np.nonzero(mask)
    box_area = float((xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1))
    moments = cv2.moments(mask8, binaryImage=True)
    mu20, mu02, mu11 = (moments[key] / moments["m00"] for key in ("mu20", "mu02", "mu11"))
    root = math.sqrt(max(((mu20 - mu02) / 2) ** 2 + mu11 ** 2, 0.0))
    major, minor = (mu20 + mu02) / 2 + root, max((mu20 + mu02) / 2 - root, 0.0)
    widths = np.ptp(hull @ _DIRECTIONS, axis=0) + 1.0  # +1: pixel centres to pixel edges
    values = {
        "Area": area, "Perimeter": perimeter,
        "FormFactor": 4 * math.pi * area / perimeter ** 2 if perimeter > 0 else math.nan,
        "Solidity": area / hull_area, "Extent": area / box_area,
        "Eccentricity": math.sqrt(1 - minor / major) if major > 0 else 0.0,
        "MajorAxisLength": 4 * math.sqrt(major), "MinorAxisLength": 4 * math.sqrt(minor),
        "MaxFeretDiameter": float(widths.max()), "MinFeretDiameter": float(widths.min()),
        "Convexity": hull_perimeter / perimeter if perimeter > 0 else math.nan,
    }
    values.update({f"HuMoment_{i}": float(h) for i, h in enumerate(cv2.HuMoments(moments).ravel())})
    return values


_STAT_QUANTILES = {"Quantile25": 0, "Median": 1, "Quantile75": 2}
_QUANTILE_SAMPLE = 2048


def _intensity(channels: np.ndarray, mask: np.ndarray) -> dict[tuple[str, str], float]:
    pixels = channels[mask]
    if len(pixels) == 0:
        return {}
    stats = {"Mean": pixels.mean(axis=0), "Std": pixels.std(axis=0)}
    # Quantiles from a regular sample of at most _QUANTILE_SAMPLE pixels: the same to within a grey
    # level, at a fraction of the cost of partitioning every pixel of a large cell.
    sample = pixels[:: max(len(pixels) // _QUANTILE_SAMPLE, 1)]
    quantiles = np.percentile(sample, [25, 50, 75], axis=0)
    stats.update({name: quantiles[row] for name, row in _STAT_QUANTILES.items()})
    return {(name, channel): float(values[index])
            for name, values in stats.items() for index, channel in enumerate(CHANNELS)}


def _glcm(lightness: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Haralick features of the compartment only: outside pixels get grey level 0, dropped from P."""
    if mask.sum() < 4:
        return {}
    ys, xs = np.nonzero(mask)
    patch = lightness[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    inside = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scale = min(1.0, GLCM_SIZE / max(patch.shape))
    if scale < 1.0:
        size = (max(int(patch.shape[1] * scale), 2), max(int(patch.shape[0] * scale), 2))
        patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
        inside = cv2.resize(inside.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    low, high = np.percentile(patch[inside], [1, 99]) if inside.any() else (0.0, 1.0)
    levels = np.clip((patch - low) / max(high - low, 1e-6) * GLCM_LEVELS, 0, GLCM_LEVELS - 1).astype(np.uint8) + 1
    levels[~inside] = 0
    matrix = graycomatrix(levels, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=GLCM_LEVELS + 1,
                          symmetric=True)[1:, 1:].astype(np.float64)
    totals = matrix.sum(axis=(0, 1), keepdims=True)
    if not totals.all():
        return {}
    matrix /= totals
    values = {name: float(graycoprops(matrix, name.lower() if name != "ASM" else "ASM").mean())
              for name in ("Contrast", "Dissimilarity", "Homogeneity", "ASM", "Correlation")}
    with np.errstate(divide="ignore", invalid="ignore"):
        values["Entropy"] = float(np.nansum(-matrix * np.log2(matrix), axis=(0, 1)).mean())
    return {name: (value if math.isfinite(value) else math.nan) for name, value in values.items()}


def _lbp(lightness: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    if not mask.any():
        return {}
    ys, xs = np.nonzero(mask)
    window = (slice(max(ys.min() - 1, 0), ys.max() + 2), slice(max(xs.min() - 1, 0), xs.max() + 2))
    grey = np.round(lightness[window] * 2.55).astype(np.uint8)  # integer input, as skimage advises
    codes = local_binary_pattern(grey, LBP_POINTS, 1, method="uniform")[mask[window]]
    histogram = np.bincount(codes.astype(np.int64), minlength=LBP_BINS)[:LBP_BINS] / len(codes)
    return {f"LBP_{code:02d}": float(value) for code, value in enumerate(histogram)}


def _size(shape: dict[str, dict[str, float]], um_per_pixel: float | None) -> dict[tuple[str, str], float]:
    """The ``size`` group: shape measures converted to µm / µm² (empty without a scale)."""
    if um_per_pixel is None or not math.isfinite(um_per_pixel):
        return {}
    values = {}
    for compartment, measures in shape.items():
        for measure, source, power, _, _ in SIZE_MEASURES:
            if source in measures:
                values[(compartment, measure)] = measures[source] * um_per_pixel ** power
    if "Area" in shape["Cell"]:
        values[("Cell", "Diameter_um")] = 2 * math.sqrt(shape["Cell"]["Area"] / math.pi) * um_per_pixel
    return values


def _density(rgb: np.ndarray, masks: dict[str, np.ndarray], background: np.ndarray | None
             ) -> dict[tuple[str, str, str | None], float]:
    """The ``density`` group: colour relative to the plasma (empty without the plasma's colour)."""
    if background is None:
        return {}
    from wekawbc.cells.stain import WHITE, optical_density

    background = np.asarray(background, np.float64)
    values: dict[tuple[str, str, str | None], float] = {}
    totals = {}
    for compartment in ("Nucleus", "Cytoplasm"):
        pixels = rgb[masks[compartment]].astype(np.float64)
        if len(pixels) == 0:
            continue
        density = optical_density(pixels, background)
        mean = density.mean(axis=0)
        summed = density.sum(axis=1)
        totals[compartment] = float(mean.sum())
        for index, channel in enumerate("RGB"):
            values[(compartment, "Mean", channel)] = float(mean[index])
            if mean.sum() > 0:
                values[(compartment, "Fraction", channel)] = float(mean[index] / mean.sum())
        if summed.mean() > 0:
            values[(compartment, "Std", None)] = float(summed.std() / summed.mean())
        balanced = np.clip(pixels.mean(axis=0) * WHITE / np.maximum(background, 1.0), 0, 255) / 255.0
        lab = cv2.cvtColor(balanced.astype(np.float32).reshape(1, 1, 3), cv2.COLOR_RGB2Lab).ravel()
        for index, channel in enumerate("Lab"):
            values[(compartment, "Balanced", channel)] = float(lab[index])
    if totals.get("Cytoplasm", 0) > 0 and "Nucleus" in totals:
        values[("NucleusCytoplasm", "Ratio", None)] = totals["Nucleus"] / totals["Cytoplasm"]
    return values


def compute_features(rgb: np.ndarray, nucleus: np.ndarray, cell: np.ndarray, *, um_per_pixel: float | None = None,
                     background: np.ndarray | None = None) -> np.ndarray:
    """Every registry feature of one cell, in registry order (NaN where undefined).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
        The image, or a crop around the cell.
    nucleus, cell : ndarray of bool, shape (rows, cols)
        The cell's nucleus and whole-cell masks (the cytoplasm is ``cell & ~nucleus``).
    um_per_pixel : float, optional
        The image's scale (:class:`wekawbc.cells.scale.Scale`); without it the ``size`` features are NaN.
    background : array of 3 floats, optional
        The plasma's RGB (:func:`wekawbc.cells.stain.background_colour`); without it the ``density``
        features are NaN.

    Returns
    -------
    ndarray of float64, shape (len(FEATURES),)
    """
    nucleus = nucleus & cell
    masks = {"Nucleus": nucleus, "Cytoplasm": cell & ~nucleus, "Cell": cell}
    channels = colour_channels(rgb)
    lightness = np.ascontiguousarray(channels[..., CHANNELS.index("L")])
    shape = {name: _shape(masks[name]) for name in ("Nucleus", "Cell")}
    shape["Cytoplasm"] = {"Area": float(masks["Cytoplasm"].sum())}
    intensity = {name: _intensity(channels, mask) for name, mask in masks.items()}
    texture = {name: _glcm(lightness, masks[name]) for name in ("Nucleus", "Cytoplasm")}
    lbp = _lbp(lightness, nucleus)
    cell_area = float(cell.sum())
    granules = granule_measures(rgb, nucleus, cell, background)
    lobe_count = assess_lobes(nucleus, rgb, granules)
    lobes = {"Count": float(lobe_count.count), "Parts": float(ndi.label(nucleus)[1]),
             "Confidence": lobe_count.confidence, "BorderTouch": float(lobe_count.touches_border)}
    size = _size(shape, um_per_pixel)
    density = _density(rgb, masks, background)
    values = np.full(len(FEATURES), np.nan)
    for index, feature in enumerate(FEATURES):
        if feature.group == "shape":
            value = shape[feature.compartment].get(feature.measure)
        elif feature.group == "intensity":
            value = intensity[feature.compartment].get((feature.measure, feature.channel))
        elif feature.group == "texture":
            value = texture[feature.compartment].get(feature.measure)
        elif feature.group == "lbp":
            value = lbp.get(feature.measure)
        elif feature.group == "lobes":
            value = lobes[feature.measure]
        elif feature.group == "granule":
            value = granules[feature.measure]
        elif feature.group == "size":
            value = size.get((feature.compartment, feature.measure))
        elif feature.group == "density":
            value = density.get((feature.compartment, feature.measure, feature.channel))
        elif feature.measure == "NucleusAreaRatio":
            value = nucleus.sum() / cell_area if cell_area else None
        else:
            inner = intensity["Nucleus"].get(("Mean", feature.channel))
            outer = intensity["Cytoplasm"].get(("Mean", feature.channel))
            if inner is None or outer is None:
                value = None
            elif feature.measure == "MeanDifference":
                value = inner - outer
            else:
                value = inner / outer if outer else None
        if value is not None and math.isfinite(value):
            values[index] = value
    return values

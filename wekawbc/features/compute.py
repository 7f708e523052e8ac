"""Computing the registry's features for one segmented cell (vectorised per compartment)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from wekawbc.cells.granules import compartment_densities, granule_measures
from wekawbc.cells.lobes import assess_lobes
from wekawbc.cells.segmentation import mask_box
from wekawbc.features._stat_kernels import (colour_sums, compartment_moments, density_spread, lbp_counts,
                                            quantised_cooccurrences, sorted_quantiles)
from wekawbc.features.registry import (CHANNELS, FEATURES, GLCM_LEVELS, GLCM_SIZE, LBP_BINS, LBP_POINTS,
                                       SIZE_MEASURES)

__all__ = ["colour_channels", "colour_planes", "compute_features", "uniform_lbp"]

_ANGLES = np.deg2rad(np.arange(0, 180, 2.0))
_DIRECTIONS = np.stack([np.cos(_ANGLES), np.sin(_ANGLES)])


def colour_planes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The channels of :data:`~wekawbc.features.registry.CHANNELS` as three float32 arrays of shape
    (rows, cols, 3): the RGB levels, HSV (H in degrees, S and V in [0, 1]) and CIE Lab (L in [0, 100],
    a and b signed), OpenCV's conversions of the levels over 255."""
    levels = rgb.astype(np.float32)
    unit = levels / 255.0
    return levels, cv2.cvtColor(unit, cv2.COLOR_RGB2HSV), cv2.cvtColor(unit, cv2.COLOR_RGB2Lab)


def colour_channels(rgb: np.ndarray) -> np.ndarray:
    """The nine channels of :data:`~wekawbc.features.registry.CHANNELS`, shape (rows, cols, 9), float32:
    :func:`colour_planes` side by side."""
    return np.concatenate(colour_planes(rgb), axis=2)


def _shape(mask: np.ndarray) -> dict[str, float]:
    area = float(np.count_nonzero(mask))
    if area == 0:
        return {}
    mask8 = mask.astype(np.uint8)
    contours, _ = cv2.findContours(mask8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    perimeter = float(sum(cv2.arcLength(contour, True) for contour in contours))
    points = np.vstack([contour.reshape(-1, 2) for contour in contours])
    hull32 = cv2.convexHull(points.astype(np.float32))
    hull = hull32.reshape(-1, 2).astype(np.float64)
    hull_area = max(float(cv2.contourArea(hull32)), area)
    hull_perimeter = float(cv2.arcLength(hull32, True))
    # the mask's box (mask_box): its outer contours pass through its extreme pixels
    _, _, width, height = cv2.boundingRect(points)
    box_area = float(width * height)
    moments = cv2.moments(mask8, binaryImage=True)
    mu20, mu02, mu11 = (moments[key] / moments["m00"] for key in ("mu20", "mu02", "mu11"))
    root = math.sqrt(max(((mu20 - mu02) / 2) ** 2 + mu11 ** 2, 0.0))
    major, minor = (mu20 + mu02) / 2 + root, max((mu20 + mu02) / 2 - root, 0.0)
    projections = hull @ _DIRECTIONS
    widths = projections.max(axis=0) - projections.min(axis=0) + 1.0  # np.ptp's; +1: pixel centres to pixel edges
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


_QUANTILE_SAMPLE = 2048
_QUANTILES = (0.25, 0.5, 0.75)
_QUANTILE_FRACTIONS = np.array(_QUANTILES)
_COMPARTMENTS = ("Nucleus", "Cytoplasm", "Cell")


def _quantiles(values: np.ndarray, fractions: tuple[float, ...] = _QUANTILES) -> np.ndarray:
    """``np.percentile(values, 100 * fractions, axis=0)`` (linear method), the same numbers, from one sort.

    numpy partitions the data again for every call; one sort per column serves every quantile (and
    numpy's float sort is several times faster than a partition at several places). The steps are
    numpy's: the virtual index ``(n - 1) q``, its floor and the next index (kept inside the data), and
    the interpolation ``a + (b - a) t`` (from ``b`` where ``t >= 0.5``), the difference taken in the
    data's type and the rest in float64.
    """
    ordered = values.T.copy()  # each column's values side by side: sorted in place, faster than along axis 0
    ordered.sort(axis=-1)
    ordered = ordered.T
    count = len(ordered)
    rows = []
    for fraction in fractions:
        position = (count - 1) * fraction
        below = min(max(math.floor(position), 0), count - 1)
        above = min(below + 1, count - 1)
        weight = position - below
        low, high = ordered[below], ordered[above]
        difference = (high - low).astype(np.float64)
        rows.append(high.astype(np.float64) - difference * (1 - weight) if weight >= 0.5
                    else low.astype(np.float64) + difference * weight)
    return np.array(rows)


def _intensities(planes: tuple[np.ndarray, ...], nucleus: np.ndarray, cell: np.ndarray
                 ) -> dict[str, dict[str, np.ndarray]]:
    """Mean, Std and quartiles of each channel (arrays over :data:`CHANNELS`) over the nucleus, the cytoplasm and
    the cell (``nucleus`` inside ``cell``); an empty compartment gets an empty dict. ``planes``: three float32
    arrays of shape (rows, cols, 3) whose channels side by side are ``channels`` below (:func:`colour_planes`).

    Each compartment's numbers are numpy's over ``channels[mask]``: the float32 sums of its pixels one after
    the other, divided as ``pixels.mean(axis=0)`` divides (by the count, an intp, into float32); the standard
    deviation as numpy's std computes it from that mean (float32 deviations, squared, summed in the same
    order, over the count). Quantiles from a regular sample of at most about 2 × :data:`_QUANTILE_SAMPLE`
    pixels: the same to within a grey level, at a fraction of the cost of partitioning every pixel of a large
    cell; numpy's percentiles of that sample (:func:`_quantiles`). Two compiled passes over the window
    (:mod:`wekawbc.features._stat_kernels`) and one sort of the three samples side by side.
    """
    compartment = (cell.view(np.uint8) << 1) - nucleus.view(np.uint8)  # 1 nucleus, 2 cytoplasm, 0 outside
    counts, means, stds, samples, lengths = compartment_moments(*planes, compartment, _QUANTILE_SAMPLE)
    samples.sort(axis=-1)  # each sample's padding (+inf) stays at its end
    quartiles = sorted_quantiles(samples, lengths, _QUANTILE_FRACTIONS)
    found: dict[str, dict[str, np.ndarray]] = {}
    for which, name in enumerate(_COMPARTMENTS):
        found[name] = ({"Mean": means[which], "Std": stds[which], "Quantile25": quartiles[which, 0],
                        "Median": quartiles[which, 1], "Quantile75": quartiles[which, 2]} if counts[which] else {})
    return found


def _glcm(lightness: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Haralick features of the compartment only: outside pixels get grey level 0, dropped from P."""
    if np.count_nonzero(mask) < 4:
        return {}
    x0, y0, x1, y1 = mask_box(mask)
    patch, inside = lightness[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    scale = min(1.0, GLCM_SIZE / max(patch.shape))
    if scale < 1.0:
        size = (max(int(patch.shape[1] * scale), 2), max(int(patch.shape[0] * scale), 2))
        patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
        inside = cv2.resize(inside.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    matrix = quantised_glcm(patch, inside, GLCM_LEVELS)
    if matrix is None:
        return {}
    values = _haralick(matrix)
    values["Entropy"] = glcm_entropy(matrix)
    return {name: (value if math.isfinite(value) else math.nan) for name, value in values.items()}


def quantised_glcm(values: np.ndarray, inside: np.ndarray, levels: int) -> np.ndarray | None:
    """Normalised grey-level co-occurrence matrices of ``values`` where ``inside`` holds.

    ``values`` are quantised to ``levels`` grey levels between their 1st and 99th percentiles
    inside; pixels outside get level 0, which is dropped from the matrices. Distance 1, angles 0°,
    45°, 90° and 135°, symmetric: shape ``(levels, levels, 1, 4)``, each angle's matrix summing to 1.
    None when an angle has no pair of inside pixels.
    """
    low, high = _quantiles(values[inside], (0.01, 0.99)) if inside.any() else (0.0, 1.0)  # np.percentile's
    # np.clip((values - low) / max(high - low, 1e-6) * levels, 0, levels - 1).astype(np.uint8) + 1, 0 outside;
    # skimage's graycomatrix(quantised, [1], angles, levels + 1, symmetric=True)[1:, 1:] over each angle's
    # total: one compiled call
    return quantised_cooccurrences(values, inside, float(low), float(high), levels)


def glcm_entropy(matrix: np.ndarray) -> float:
    """Shannon entropy (bits) of normalised co-occurrence matrices, averaged over the angles."""
    # np.nansum(-matrix * np.log2(matrix), axis=(0, 1))'s sums: 0 log 0 counted 0, without the NaN
    logs = np.log2(matrix, out=np.zeros_like(matrix), where=matrix > 0)
    return float(np.sum(-matrix * logs, axis=(0, 1)).mean())


_I, _J = (np.repeat(np.arange(GLCM_LEVELS, dtype=np.float64), GLCM_LEVELS),
          np.tile(np.arange(GLCM_LEVELS, dtype=np.float64), GLCM_LEVELS))  # (i, j) of the flattened matrix
#: Weights of contrast, dissimilarity and homogeneity over the flattened (i, j) cells, one column each.
_WEIGHTS = np.stack([(_I - _J) ** 2, np.abs(_I - _J), 1.0 / (1.0 + (_I - _J) ** 2)], axis=1)
_ONES = np.ones(GLCM_LEVELS * GLCM_LEVELS)


def _haralick(matrix: np.ndarray) -> dict[str, float]:
    """skimage ``graycoprops``' contrast, dissimilarity, homogeneity, ASM and correlation of normalised
    GLCMs (levels, levels, 1, angles), averaged over the angles: its formulas, in one pass.

    ``graycoprops`` normalises and builds its weights again for every property; here the matrices are
    flattened to one column per angle and the weighted sums are one matrix product (the same sums,
    added in another order: equal to within rounding).
    """
    cells = matrix.reshape(GLCM_LEVELS * GLCM_LEVELS, -1)
    weighted = (_WEIGHTS.T @ cells).mean(axis=1)
    values = {"Contrast": float(weighted[0]), "Dissimilarity": float(weighted[1]),
              "Homogeneity": float(weighted[2]), "ASM": float((_ONES @ (cells * cells)).mean())}
    diff_i = _I[:, None] - _I @ cells
    diff_j = _J[:, None] - _J @ cells
    std_i = np.sqrt(_ONES @ (cells * diff_i * diff_i))
    std_j = np.sqrt(_ONES @ (cells * diff_j * diff_j))
    covariance = _ONES @ (cells * diff_i * diff_j)
    flat = (std_i < 1e-15) | (std_j < 1e-15)  # graycoprops' rule: correlation 1 where a side is constant
    correlation = np.where(flat, 1.0, covariance / np.where(flat, 1.0, std_i * std_j))
    values["Correlation"] = float(correlation.mean())
    return values


# The sampling points of skimage's local_binary_pattern(P, R=1): rounded to 5 decimals as skimage does.
_LBP_STEPS = [(round(-math.sin(2 * math.pi * p / LBP_POINTS), 5), round(math.cos(2 * math.pi * p / LBP_POINTS), 5))
              for p in range(LBP_POINTS)]


_LBP_STEP_ARRAY = np.array(_LBP_STEPS, np.float64)


def _uniform_codes() -> np.ndarray:
    """The uniform code of every bit pattern of the circle (bit p: point p at or above the centre): the number
    of ones where consecutive points change at most twice, else ``LBP_POINTS + 1`` (float64)."""
    patterns = np.arange(2 ** LBP_POINTS)
    bits = (patterns[:, None] >> np.arange(LBP_POINTS)) & 1
    changes = (bits[:, 1:] != bits[:, :-1]).sum(axis=1)
    return np.where(changes <= 2, bits.sum(axis=1), LBP_POINTS + 1).astype(np.float64)


_UNIFORM_CODES = _uniform_codes()


def uniform_lbp(grey: np.ndarray) -> np.ndarray:
    """``skimage.feature.local_binary_pattern(grey, LBP_POINTS, 1, method="uniform")``, vectorised.

    The same arithmetic on whole arrays instead of pixel by pixel: each neighbour bilinearly
    interpolated in float64 (pixels outside the image count 0), compared with the centre (``>=``);
    the code is the number of neighbours at or above the centre where the circle has at most two
    0/1 changes (counted between consecutive points, as skimage does), else ``LBP_POINTS + 1``, read
    from a table of every bit pattern.
    """
    image = grey.astype(np.float64)
    rows, cols = image.shape
    padded = np.zeros((rows + 2, cols + 2))
    padded[1:-1, 1:-1] = image

    def shifted(dy: int, dx: int) -> np.ndarray:
        return padded[1 + dy:1 + dy + rows, 1 + dx:1 + dx + cols]

    row = np.arange(rows, dtype=np.float64)[:, None]
    col = np.arange(cols, dtype=np.float64)[None, :]
    # Each column step's interpolation along the row, on every padded row: the top and bottom
    # interpolations of the points sharing that column step are row-shifted views of it.
    across: dict[float, np.ndarray] = {}
    bits = []
    for step_row, step_col in _LBP_STEPS:
        # floor/ceil of (pixel + step) is pixel + floor/ceil(step): the four corners are shifted views.
        low_r, high_r, low_c, high_c = (math.floor(step_row), math.ceil(step_row), math.floor(step_col),
                                        math.ceil(step_col))
        if low_r == high_r and low_c == high_c:  # a pixel itself: the interpolation gives it exactly
            bits.append(shifted(low_r, low_c) - image >= 0)
            continue
        if step_col not in across:
            dc = (col + step_col) - (col + low_c)
            across[step_col] = ((1 - dc) * padded[:, 1 + low_c:1 + low_c + cols]
                                + dc * padded[:, 1 + high_c:1 + high_c + cols])
        top, bottom = across[step_col][1 + low_r:1 + low_r + rows], across[step_col][1 + high_r:1 + high_r + rows]
        dr = (row + step_row) - (row + low_r)
        bits.append(((1 - dr) * top + dr * bottom) - image >= 0)
    pattern = np.zeros((rows, cols), np.uint16)  # one bit per point (up to 16 points)
    for point, bit in enumerate(bits):
        pattern |= bit.view(np.uint8).astype(np.uint16) << point
    return _UNIFORM_CODES[pattern]


def _lbp(lightness: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    if not mask.any():
        return {}
    x0, y0, x1, y1 = mask_box(mask)
    window = (slice(max(y0 - 1, 0), y1 + 1), slice(max(x0 - 1, 0), x1 + 1))
    grey = np.round(lightness[window] * 2.55).astype(np.uint8)  # integer input, as skimage advises
    # np.bincount(uniform_lbp(grey)[mask[window]].astype(np.int64))'s counts, the codes computed row by row
    counts = lbp_counts(grey, np.ascontiguousarray(mask[window]), _LBP_STEP_ARRAY, _UNIFORM_CODES, LBP_BINS)
    histogram = counts / int(counts.sum())
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


def _density(pixels: dict[str, tuple[np.ndarray, np.ndarray]], background: np.ndarray | None
             ) -> dict[tuple[str, str, str | None], float]:
    """The ``density`` group: colour relative to the plasma (empty without the plasma's colour). ``pixels``: the
    nucleus's and cytoplasm's levels and optical densities (:func:`wekawbc.cells.granules.compartment_densities`)."""
    if background is None:
        return {}
    from wekawbc.cells.stain import WHITE

    background = np.asarray(background, np.float64)
    values: dict[tuple[str, str, str | None], float] = {}
    totals = {}
    balanced = {}
    for compartment in ("Nucleus", "Cytoplasm"):
        levels, density = pixels[compartment]
        if len(levels) == 0:
            continue
        level_sums, density_sums = colour_sums(levels, density)  # exact integers; column_sums(density)'s numbers
        mean = density_sums / len(levels)  # density.mean(axis=0)'s numbers
        total = mean.sum()
        totals[compartment] = float(total)
        values.update({(compartment, "Mean", channel): value for channel, value in zip("RGB", mean.tolist())})
        if total > 0:
            values.update({(compartment, "Fraction", channel): value
                           for channel, value in zip("RGB", (mean / total).tolist())})
        summed_mean, summed_std = density_spread(density)  # pixel_totals(density)'s mean() and std()
        if summed_mean > 0:
            values[(compartment, "Std", None)] = summed_std / summed_mean
        # The mean 8-bit level: the exact integer sum over the count, as the float64 mean of the levels.
        balanced[compartment] = np.clip(level_sums / len(levels) * WHITE / np.maximum(background, 1.0), 0, 255) / 255.0
    if balanced:  # the compartments' balanced colours converted side by side, one pixel each
        lab = cv2.cvtColor(np.array([list(balanced.values())], np.float32), cv2.COLOR_RGB2Lab)[0]
        for compartment, colour in zip(balanced, lab.tolist()):
            values.update({(compartment, "Balanced", channel): value for channel, value in zip("Lab", colour)})
    if totals.get("Cytoplasm", 0) > 0 and "Nucleus" in totals:
        values[("NucleusCytoplasm", "Ratio", None)] = totals["Nucleus"] / totals["Cytoplasm"]
    return values


#: Each registry feature's key in the values :func:`compute_features` gathers, in registry order.
_KEYS = [(feature.group, feature.compartment, feature.measure, feature.channel) for feature in FEATURES]
#: Each registry feature's place in the row, by its key.
_PLACE = {key: place for place, key in enumerate(_KEYS)}
#: The places of each (compartment, measure)'s intensity over :data:`CHANNELS`.
_INTENSITY_PLACES = {(compartment, measure): np.array([_PLACE[("intensity", compartment, measure, channel)]
                                                       for channel in CHANNELS])
                     for group, compartment, measure, _ in _KEYS if group == "intensity"}
#: The places of the nucleus-to-cytoplasm mean differences and ratios, and their channels' indices in :data:`CHANNELS`.
_DIFFERENCE_PLACES, _RATIO_PLACES = ((np.array([place for place, key in enumerate(_KEYS) if key[2] == measure]),
                                      np.array([CHANNELS.index(key[3]) for key in _KEYS if key[2] == measure]))
                                     for measure in ("MeanDifference", "MeanRatio"))
#: The granule features' places and their names in :func:`wekawbc.cells.granules.granule_measures`.
_GRANULE_PLACES = [(place, key[2]) for place, key in enumerate(_KEYS) if key[0] == "granule"]


def _fill(values: np.ndarray, group: str, measures: dict, compartment: str | None = None) -> None:
    """Write ``measures`` (measure → value, or ``(compartment, measure[, channel])`` → value without
    ``compartment``) at their registry places; values that are None and keys not in the registry are left out."""
    for key, value in measures.items():
        if value is None:
            continue
        if compartment is not None:
            place = _PLACE.get((group, compartment, key, None))
        else:
            place = _PLACE.get((group, *key) if len(key) == 3 else (group, *key, None))
        if place is not None:
            values[place] = value


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
    planes = colour_planes(rgb)
    lightness = planes[2][..., 0].copy()  # CHANNELS' "L": the first channel of the Lab plane
    shape = {name: _shape(masks[name]) for name in ("Nucleus", "Cell")}
    shape["Cytoplasm"] = {"Area": float(np.count_nonzero(masks["Cytoplasm"]))}
    intensity = _intensities(planes, nucleus, cell)
    texture = {name: _glcm(lightness, masks[name]) for name in ("Nucleus", "Cytoplasm")}
    lbp = _lbp(lightness, nucleus)
    cell_area = float(np.count_nonzero(cell))
    pixels = ({name: compartment_densities(rgb, masks[name], background) for name in ("Nucleus", "Cytoplasm")}
              if background is not None else {})
    granules = granule_measures(rgb, nucleus, cell, background,
                                densities={name: density for name, (_, density) in pixels.items()} or None)
    lobe_count = assess_lobes(nucleus, rgb, granules, cell_mask=cell)
    # "Parts": scipy.ndimage.label's number of 4-connected parts, from the lobe count's labelling
    lobes = {"Count": float(lobe_count.count), "Parts": float(lobe_count.parts),
             "Confidence": lobe_count.confidence, "BorderTouch": float(lobe_count.touches_border),
             "Probability": lobe_count.probability}
    # The row in registry order, each group written at its places (NaN where a value is missing).
    values = np.full(len(_KEYS), np.nan)
    for compartment, measures in shape.items():
        _fill(values, "shape", measures, compartment)
    for (compartment, measure), places in _INTENSITY_PLACES.items():
        if intensity[compartment]:
            values[places] = intensity[compartment][measure]
    for compartment, measures in texture.items():
        _fill(values, "texture", measures, compartment)
    _fill(values, "lbp", lbp, "Nucleus")
    _fill(values, "lobes", lobes, "Nucleus")
    for place, measure in _GRANULE_PLACES:
        values[place] = granules[measure]
    _fill(values, "size", _size(shape, um_per_pixel))
    _fill(values, "density", _density(pixels, background))
    if cell_area:
        values[_PLACE[("ratio", "Cell", "NucleusAreaRatio", None)]] = np.count_nonzero(nucleus) / cell_area
    if intensity["Nucleus"] and intensity["Cytoplasm"]:
        inner, outer = (intensity[name]["Mean"].astype(np.float64) for name in ("Nucleus", "Cytoplasm"))
        places, which = _DIFFERENCE_PLACES
        values[places] = inner[which] - outer[which]
        places, which = _RATIO_PLACES
        with np.errstate(divide="ignore", invalid="ignore"):
            values[places] = np.where(outer[which] != 0, inner[which] / outer[which], np.nan)
    values[~np.isfinite(values)] = np.nan
    return values

"""Cytoplasmic granules of a leukocyte: presence, density, colour and size.

WBCAtt (Tsutsui et al. 2023) describes every ``pbc`` cell by ``granularity`` (yes/no),
``granule_type`` and ``granule_colour`` (nil, pink, red, purple). These measures follow the same
cues, at a fixed scale so they hold for any microscope:

* the cell's bounding box is resized so that the cell's equivalent diameter is
  :data:`WORKING_DIAMETER` pixels (granules are then 1-4 pixels across);
* the *granule region* is the cytoplasm, :data:`EDGE` pixels away from the nucleus and the cell's
  edge; when the nucleus fills most of the cell (a basophil whose granules were taken as nucleus),
  the whole cell (away from its edge);
* granules are dark specks: the black top-hat (closing minus image) of the grey level with a disc
  of radius 2 px; *density* is its mean over the region, *presence* the fraction of the region
  where it exceeds :data:`SPECK_CONTRAST`;
* *size*: the top-hat with a disc of radius 4 px over the one of radius 1 px (coarse granules raise
  it, fine ones lower it);
* *over the nucleus*: the same top-hat's presence and mean over the nucleus (away from its edge and
  the cell's): basophil granules strew the nucleus with dark specks, a lymphocyte's smooth chromatin
  shows few;
* *compartment colours* (model inputs only): the red, green and blue shares of the nucleus's and
  the cytoplasm's mean optical density relative to the plasma, its sum and spread (granules over the
  nucleus, as in basophils, colour it);
* *colour*: the region's optical density relative to the plasma, ``-log10(I / I_plasma)``. The
  eosinophilic index is ``(OD_B - OD_R) / (OD_R + OD_G + OD_B)`` (red-orange granules absorb blue
  and green, not red; purple basophil granules and blue agranular cytoplasm absorb red); the green
  share is ``OD_G / (OD_R + OD_G + OD_B)`` (pink to purple stains absorb green most); the strength
  is the summed optical density.

:func:`granule_calls` turns the measures into WBCAtt's categories with a small model (a
multinomial logistic regression, plain numbers in ``granule_model.json``) fitted on the ``pbc``
development share by ``docs/cells_results/train_granule_model.py``; the model's probability of
visible granules (any colour but ``nil``) is itself a measure, ``Probability``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import cv2
import numpy as np

__all__ = ["BASE_INPUTS", "COMPARTMENT_COLOURS", "GRANULE_MEASURES", "MODEL_INPUTS", "OVER_NUCLEUS_MEASURES", "model_inputs",
           "GranuleCalls", "granule_calls", "granule_measures", "granule_probabilities", "WORKING_DIAMETER"]

#: The cell's equivalent diameter, in pixels, at which granules are measured.
WORKING_DIAMETER = 64
#: Top-hat contrast (grey level in 0-1) above which a pixel belongs to a granule speck.
SPECK_CONTRAST = 0.04
#: When the nucleus covers more than this fraction of the cell, the whole cell is the granule region.
NUCLEUS_FILLS = 0.8
#: Pixels (at the working scale) kept away from the cell's edge and the nucleus (their contrast is no granule).
EDGE = 2
#: Measure keys, in registry order (``Granule_<key>``).
GRANULE_MEASURES: tuple[str, ...] = ("Presence", "Density", "Size", "Colour_Eosinophilic", "Colour_Green",
                                     "Colour_Strength")
#: The specks over the nucleus (registry features ``Granule_<key>``, after the first ones; not inputs of
#: the granule model). :func:`granule_measures` also returns ``Probability``, the granule model's
#: probability of visible granules (1 − P(``nil``), :func:`granule_probabilities`).
OVER_NUCLEUS_MEASURES: tuple[str, ...] = ("OverNucleus_Presence", "OverNucleus_Density")
#: Compartment colour keys also returned by :func:`granule_measures` (model inputs, not registry
#: features): per compartment, the red, green and blue shares of the mean optical density relative
#: to the plasma, that mean's sum, and the spread (standard deviation) of the summed density.
COMPARTMENT_COLOURS: tuple[str, ...] = tuple(
    f"{compartment}_{measure}" for compartment in ("Nucleus", "Cytoplasm")
    for measure in ("Share_R", "Share_G", "Share_B", "Density", "Spread"))


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def granule_measures(rgb: np.ndarray, nucleus: np.ndarray, cell: np.ndarray,
                     background: np.ndarray | None = None, *,
                     densities: Mapping[str, np.ndarray] | None = None) -> dict[str, float]:
    """The granule measures of one cell (NaN where undefined: no cell, no background for colour).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
        The image or a crop around the cell.
    nucleus, cell : ndarray of bool, shape (rows, cols)
        The cell's masks.
    background : array of 3 floats, optional
        The plasma's RGB (:func:`wekawbc.cells.stain.background_colour`); without it the colour
        measures are NaN.
    densities : mapping, optional
        The optical densities (not clipped) of the ``"Nucleus"`` (``nucleus & cell``) and ``"Cytoplasm"``
        (``cell & ~nucleus``) pixels relative to ``background``, one row per pixel in raster order, when
        already computed (:func:`compartment_densities`).
    """
    values = dict.fromkeys(GRANULE_MEASURES + OVER_NUCLEUS_MEASURES + ("Probability",) + COMPARTMENT_COLOURS,
                           float("nan"))
    cell_bytes = np.ascontiguousarray(cell, dtype=bool).view(np.uint8)
    area = cv2.countNonZero(cell_bytes)  # ``cell.sum()``
    if area < 16:
        return values
    if background is not None:
        table = _density_table(background)
        values.update(_compartment_colours(rgb, nucleus, cell, table, densities))
    x, y, width, height = cv2.boundingRect(cell_bytes)
    margin = 3
    window = (slice(max(y - margin, 0), y + height + margin), slice(max(x - margin, 0), x + width + margin))
    scale = WORKING_DIAMETER / (2.0 * np.sqrt(area / np.pi))
    crop = rgb[window]
    size = (max(int(round(crop.shape[1] * scale)), 8), max(int(round(crop.shape[0] * scale)), 8))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop, size, interpolation=interpolation)
    small_cell = cv2.resize(cell[window].astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    small_nucleus = cv2.resize((nucleus & cell)[window].astype(np.uint8), size,
                               interpolation=cv2.INTER_NEAREST).astype(bool)
    inner = cv2.erode(small_cell.astype(np.uint8), _disk(EDGE)).astype(bool)
    if small_nucleus.sum() > NUCLEUS_FILLS * small_cell.sum():
        region = inner
    else:
        region = inner & ~cv2.dilate(small_nucleus.astype(np.uint8), _disk(EDGE)).astype(bool)
    if region.sum() < 8:
        return values
    # small.astype(np.float32).mean(axis=2)'s numbers: the three levels added in turn, the sum divided
    # by the count (an intp, as numpy's mean divides), then / 255.
    levels = small.astype(np.float32)
    grey = levels[..., 0] + levels[..., 1]
    grey += levels[..., 2]
    np.true_divide(grey, np.intp(3), out=grey, casting="unsafe")
    grey /= np.float32(255.0)
    fine = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, _disk(1))[region]
    specks = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, _disk(2))
    tophat = specks[region]
    over_nucleus = inner & cv2.erode(small_nucleus.astype(np.uint8), _disk(EDGE)).astype(bool)
    if over_nucleus.sum() >= 8:
        values["OverNucleus_Presence"] = float((specks[over_nucleus] > SPECK_CONTRAST).mean())
        values["OverNucleus_Density"] = float(specks[over_nucleus].mean())
    coarse = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, _disk(4))[region]
    values["Presence"] = float((tophat > SPECK_CONTRAST).mean())
    values["Density"] = float(tophat.mean())
    values["Size"] = float(coarse.mean() / max(float(fine.mean()), 1e-6))
    if background is not None:
        density = level_values(table, compartment_pixels(small, region))
        mean = column_sums(density) / len(density)  # density.mean(axis=0)'s numbers
        total = float(mean.sum())
        values["Colour_Strength"] = total
        if total > 0:
            values["Colour_Eosinophilic"] = float((mean[2] - mean[0]) / total)
            values["Colour_Green"] = float(mean[1] / total)
    probabilities = granule_probabilities(values)
    if probabilities:
        values["Probability"] = 1.0 - probabilities["nil"]
    return values


def _density_levels(background: np.ndarray) -> np.ndarray:
    """The optical density relative to the plasma of every 8-bit level of each channel (shape (256, 3)): a
    look-up replaces a logarithm per pixel, with the same numbers."""
    from wekawbc.cells.stain import optical_density

    return optical_density(np.repeat(np.arange(256, dtype=np.float64)[:, None], 3, axis=1), background)


def _density_table(background: np.ndarray) -> np.ndarray:
    """:func:`_density_levels` clipped at 0."""
    return np.maximum(_density_levels(background), 0.0)


def compartment_densities(rgb: np.ndarray, mask: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 8-bit levels of the ``mask`` pixels (:func:`compartment_pixels`) and their optical densities relative to
    the plasma, not clipped (:func:`wekawbc.cells.stain.optical_density` of every level, looked up)."""
    levels = compartment_pixels(rgb, mask)
    return levels, level_values(_density_levels(background), levels)


def _compartment_colours(rgb: np.ndarray, nucleus: np.ndarray, cell: np.ndarray, table: np.ndarray,
                         densities: Mapping[str, np.ndarray] | None = None) -> dict[str, float]:
    """The :data:`COMPARTMENT_COLOURS` of the nucleus (``nucleus & cell``) and the cytoplasm (``cell & ~nucleus``)
    (optical density clipped at 0, ``table``: :func:`_density_table`; compartments under 10 pixels left out).
    ``densities``: the compartments' densities not clipped (:func:`granule_measures`), clipped here elementwise as
    the table's levels are (the same numbers); the masks are then not needed."""
    values = {}
    for name in ("Nucleus", "Cytoplasm"):
        if densities is None:
            mask = nucleus & cell if name == "Nucleus" else cell & ~nucleus
            density = level_values(table, compartment_pixels(rgb, mask))
        else:
            density = densities[name]
            if not (len(density) and density.min() > 0.0):  # positive densities are their own clipped values
                density = np.maximum(density, 0.0)
        if len(density) < 10:
            continue
        mean = column_sums(density) / len(density)  # density.mean(axis=0)'s numbers
        total = float(mean.sum())
        shares = mean / max(total, 1e-6)
        values.update({f"{name}_Share_R": float(shares[0]), f"{name}_Share_G": float(shares[1]),
                       f"{name}_Share_B": float(shares[2]), f"{name}_Density": total,
                       f"{name}_Spread": float(pixel_totals(density).std())})
    return values


def compartment_pixels(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image[mask]`` (the mask's pixels in raster order, one row each), by ``np.compress``: the same rows,
    copied in about half the time of boolean indexing for a multi-channel image."""
    return np.compress(mask.ravel(), image.reshape(mask.size, -1), axis=0)


def level_values(table: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``table[levels, np.arange(3)]``: each pixel's value per channel looked up from its 8-bit level
    (``table`` of shape (256, 3), ``levels`` uint8 of shape (n, 3)), by one flat ``np.take``."""
    return np.take(table.ravel(), levels * np.uint16(3) + np.arange(3, dtype=np.uint16))


def column_sums(rows: np.ndarray) -> np.ndarray:
    """``np.add.reduce(rows, axis=0)`` of a float32 or float64 array of shape (n, channels), the same numbers.

    numpy adds the rows one after the other (a running sum per column, in the rows' type) when it
    reduces along the first axis; OpenCV's reduction to one row (``cv2.reduce``) does the same adds in
    the same order, several times faster for a few columns (``tests/test_fast_paths.py`` compares them).
    """
    depth = cv2.CV_32F if rows.dtype == np.float32 else cv2.CV_64F
    return cv2.reduce(np.ascontiguousarray(rows), 0, cv2.REDUCE_SUM, dtype=depth).ravel()


def pixel_totals(values: np.ndarray) -> np.ndarray:
    """``values.sum(axis=1)`` of an (n, 3) array, the same numbers (``(first + second) + third``), faster."""
    return (values[:, 0] + values[:, 1]) + values[:, 2]


@dataclass(frozen=True)
class GranuleCalls:
    """WBCAtt-style categories read from :func:`granule_measures`."""

    granularity: str       # "yes" or "no"
    granule_colour: str    # "nil", "pink", "red" or "purple"


#: The model's inputs: the measures, the logarithms of the two skewed ones, and the compartment colours.
MODEL_INPUTS: tuple[str, ...] = GRANULE_MEASURES + ("log_Size", "log_Colour_Strength") + COMPARTMENT_COLOURS
#: The leading :data:`MODEL_INPUTS` without which no call is made (the granule measures and their logarithms).
BASE_INPUTS = len(GRANULE_MEASURES) + 2
_MODEL = Path(__file__).with_name("granule_model.json")


def model_inputs(measures: Mapping[str, float]) -> np.ndarray:
    """The :data:`MODEL_INPUTS` of one cell's measures (NaN where a measure is missing)."""
    values = [float(measures.get(name, np.nan)) for name in GRANULE_MEASURES]
    logs = [np.log(v) if v > 0 else np.nan for v in (measures.get("Size", np.nan), measures.get("Colour_Strength", np.nan))]
    colours = [float(measures.get(name, np.nan)) for name in COMPARTMENT_COLOURS]
    return np.array(values + logs + colours, float)


@lru_cache(maxsize=1)
def _model() -> dict:
    return json.loads(_MODEL.read_text())


def granule_probabilities(measures: Mapping[str, float]) -> dict[str, float]:
    """The granule model's probability of each WBCAtt ``granule_colour`` (empty where it cannot tell).

    A multinomial logistic regression on :data:`MODEL_INPUTS`, fitted on the ``pbc`` development
    share by ``docs/cells_results/train_granule_model.py`` (its command, commit and size are in
    ``granule_model.json``). A cell with a missing granule measure (no plasma colour) gets no
    probabilities; a missing compartment colour (a compartment under 10 pixels) takes the
    development share's median.
    """
    inputs = model_inputs(measures)
    finite = np.isfinite(inputs)
    if not finite[:BASE_INPUTS].all():
        return {}
    classes, median, mean, scale, coef, intercept = _model_arrays()
    inputs = np.where(finite, inputs, median)
    scores = coef @ ((inputs - mean) / scale)
    scores = scores + intercept
    weights = np.exp(scores - scores.max())
    return dict(zip(classes, (weights / weights.sum()).tolist()))


@lru_cache(maxsize=1)
def _model_arrays() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The granule model's classes, and its median, mean, scale, coefficients and intercepts as arrays (made once)."""
    model = _model()
    return (list(model["classes"]), *(np.asarray(model[key]) for key in ("median", "mean", "scale", "coef", "intercept")))


def granule_calls(measures: Mapping[str, float]) -> GranuleCalls:
    """WBCAtt's ``granule_colour`` and ``granularity`` (``yes`` unless the colour is ``nil``) of a cell.

    The most probable colour of :func:`granule_probabilities`; ``no``/``nil`` where it gives none.
    """
    probabilities = granule_probabilities(measures)
    if not probabilities:
        return GranuleCalls("no", "nil")
    colour = max(probabilities, key=probabilities.__getitem__)
    return GranuleCalls("no" if colour == "nil" else "yes", colour)

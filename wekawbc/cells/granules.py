"""Cytoplasmic granules of a leukocyte: presence, density, colour and size.

WBCAtt (Tsutsui et al. 2023) describes every ``pbc`` cell by ``granularity`` (yes/no),
``granule_type`` and ``granule_colour`` (nil, pink, red, purple). These measures follow the same
cues, at a fixed scale so they hold for any microscope:

* the cell's bounding box is resized so that the cell's equivalent diameter is
  :data:`WORKING_DIAMETER` pixels (granules are then 1-4 pixels across);
* the *granule region* is the cytoplasm (cell minus the nucleus dilated by one pixel); when the
  nucleus fills most of the cell (a basophil whose granules were taken as nucleus) the whole cell;
* granules are dark specks: the black top-hat (closing minus image) of the grey level with a disc
  of radius 2 px; *density* is its mean over the region, *presence* the fraction of the region
  where it exceeds :data:`SPECK_CONTRAST`;
* *size*: the top-hat with a disc of radius 4 px over the one of radius 1 px (coarse granules raise
  it, fine ones lower it);
* *colour*: the region's optical density relative to the plasma, ``-log10(I / I_plasma)``. The
  eosinophilic index is ``(OD_B - OD_R) / (OD_R + OD_G + OD_B)`` (red-orange granules absorb blue
  and green, not red; purple basophil granules and blue agranular cytoplasm absorb red); the
  strength is the summed optical density.

:func:`granule_calls` turns the measures into WBCAtt's categories with fixed thresholds, chosen
on the ``pbc`` development share (``docs/cells_results/granule_thresholds.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import cv2
import numpy as np

__all__ = ["CALL_THRESHOLDS", "GRANULE_MEASURES", "GranuleCalls", "granule_calls", "granule_measures", "WORKING_DIAMETER"]

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


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def granule_measures(rgb: np.ndarray, nucleus: np.ndarray, cell: np.ndarray,
                     background: np.ndarray | None = None) -> dict[str, float]:
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
    """
    values = dict.fromkeys(GRANULE_MEASURES, float("nan"))
    area = int(cell.sum())
    if area < 16:
        return values
    ys, xs = np.nonzero(cell)
    margin = 3
    top, left = max(ys.min() - margin, 0), max(xs.min() - margin, 0)
    window = (slice(top, ys.max() + margin + 1), slice(left, xs.max() + margin + 1))
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
    grey = small.astype(np.float32).mean(axis=2) / 255.0
    fine = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, _disk(1))[region]
    tophat = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, _disk(2))[region]
    coarse = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, _disk(4))[region]
    values["Presence"] = float((tophat > SPECK_CONTRAST).mean())
    values["Density"] = float(tophat.mean())
    values["Size"] = float(coarse.mean() / max(float(fine.mean()), 1e-6))
    if background is not None:
        intensity = np.maximum(small[region].astype(np.float64), 1.0)
        density = np.maximum(-np.log10(intensity / np.maximum(np.asarray(background, np.float64), 1.0)), 0.0)
        mean = density.mean(axis=0)
        total = float(mean.sum())
        values["Colour_Strength"] = total
        if total > 0:
            values["Colour_Eosinophilic"] = float((mean[2] - mean[0]) / total)
            values["Colour_Green"] = float(mean[1] / total)
    return values


@dataclass(frozen=True)
class GranuleCalls:
    """WBCAtt-style categories read from :func:`granule_measures`."""

    granularity: str       # "yes" or "no"
    granule_colour: str    # "nil", "pink", "red" or "purple"


#: Thresholds of :func:`granule_calls` (a depth-3 decision tree fitted on a third of the ``pbc``
#: development share, rounded and simplified by hand).
CALL_THRESHOLDS = {"blue": -0.22, "green": 0.46, "red": -0.08, "dense": 0.07, "purple_green": 0.52}


def granule_calls(measures: Mapping[str, float]) -> GranuleCalls:
    """WBCAtt's ``granularity`` and ``granule_colour`` from the measures (:data:`CALL_THRESHOLDS`).

    Granular: red-orange (eosinophilic index above ``red``), or not blue (index above ``blue``)
    with a green-absorbing, pink-to-purple stain (green share of the optical density above
    ``green``), or dense dark specks (``Density`` above ``dense``). Colour of a granular cell:
    red above ``red`` with a green share above ``purple_green``; purple when the green share is
    above ``purple_green`` or the stain is blue; pink otherwise. Missing measures give ``no``/``nil``.
    """
    thresholds = CALL_THRESHOLDS
    index = measures.get("Colour_Eosinophilic", np.nan)
    green = measures.get("Colour_Green", np.nan)
    dense = measures.get("Density", np.nan)
    granular = bool(index > thresholds["red"] or (index > thresholds["blue"] and green > thresholds["green"])
                    or dense > thresholds["dense"])
    if not granular:
        return GranuleCalls("no", "nil")
    if green > thresholds["purple_green"]:
        return GranuleCalls("yes", "red" if index > thresholds["red"] else "purple")
    return GranuleCalls("yes", "purple" if index <= thresholds["blue"] else "pink")

"""Illumination and stain: white balance on the plasma, Reinhard colour normalisation, optical density.

Three tools, each usable alone:

* :func:`background_mask` finds the plasma (unstained background): pixels whose ``1 - G`` lies
  under the lower three-class Otsu threshold (the threshold :mod:`wekawbc.cells.segmentation`
  uses for the stained foreground), eroded, away from the leukocyte.
* :func:`white_balance` scales each channel so that the plasma becomes :data:`WHITE` (a von Kries
  correction: it removes the lamp's colour and brightness, a multiplicative change per channel).
* :func:`reinhard_normalise` moves the CIE Lab mean and standard deviation of the stained pixels to
  a reference's (Reinhard et al. 2001, here in CIE Lab via scikit-image's colour conversions), which
  also evens out stain strength and hue.

:func:`optical_density` turns intensities into absorbance relative to the plasma
(Beer-Lambert: ``OD = -log10(I / I_plasma)``): the relative colour features of
:mod:`wekawbc.features.registry` are built on it, and do not change when the illumination does.

>>> from wekawbc.cells.stain import normalise_stain
>>> result = normalise_stain(rgb, "white-balance")   # doctest: +SKIP
>>> result.rgb, result.background, result.note      # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from skimage.color import lab2rgb, rgb2lab

from wekawbc.cells._kernels import masked_histograms, to_unit_float
from wekawbc.cells.segmentation import dilated, kept_buffer, three_class_thresholds

__all__ = ["MIN_BACKGROUND_FRACTION", "REFERENCE_LAB", "StainMethod", "StainResult", "WHITE", "background_colour",
           "background_mask", "channel_medians", "normalise_stain", "optical_density", "reinhard_normalise", "white_balance"]

StainMethod = Literal["none", "white-balance", "reinhard"]
#: The plasma's colour after :func:`white_balance` (a little under 255 so nothing clips).
WHITE = 240.0
#: Under this fraction of the image, the plasma is too small to trust: the brightest pixels are used.
MIN_BACKGROUND_FRACTION = 0.02
#: Reinhard reference: CIE Lab mean and standard deviation of the stained (non-plasma) pixels,
#: after white balance, as ``((L, a, b) means, (L, a, b) standard deviations)``. The values are the
#: medians over ``pbc/`` (every 10th image, 350), from ``python -m wekawbc.cells.stain ../shared/datasets/pbc``.
REFERENCE_LAB: tuple[tuple[float, float, float], tuple[float, float, float]] = (
    (70.5, 14.2, -14.7), (16.0, 13.2, 16.7))


@dataclass(frozen=True)
class StainResult:
    """A colour-normalised image and what was done.

    Attributes
    ----------
    rgb : ndarray of uint8
        The normalised image (the input itself for ``"none"``).
    method : str
    background : tuple of float
        The plasma's RGB before correction (what :func:`white_balance` mapped to :data:`WHITE`).
    note : str
        One line for the output (e.g. that the plasma was too small and the brightest pixels were used).
    """

    rgb: np.ndarray
    method: str
    background: tuple[float, float, float]
    note: str = ""


def _darkness(rgb: np.ndarray) -> np.ndarray:
    """``1.0 - cv2.GaussianBlur(rgb[..., 1].astype(np.float32) / 255.0, (0, 0), 1.0)`` in this thread's kept
    buffers (:func:`wekawbc.cells.segmentation.kept_buffer`): only for use within one call."""
    green = to_unit_float(rgb[..., 1], kept_buffer("stain_green", rgb.shape[:2], np.float32))
    darkness = cv2.GaussianBlur(green, (0, 0), 1.0, dst=kept_buffer("stain_darkness", rgb.shape[:2], np.float32))
    return np.subtract(np.float32(1.0), darkness, out=darkness)


def background_mask(rgb: np.ndarray, leukocyte: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The plasma's pixels, and a note when a fallback was needed.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
    leukocyte : ndarray of bool, optional
        The leukocyte's cell mask, kept out (dilated by 5 pixels).

    Returns
    -------
    mask : ndarray of bool
        Never empty: when the plasma covers under :data:`MIN_BACKGROUND_FRACTION` of the image, the
        brightest 5 % of the pixels outside the leukocyte (and the note says so).
    note : str
    """
    darkness = _darkness(rgb)
    keep_out = np.zeros(darkness.shape, bool)
    if leukocyte is not None and leukocyte.any():
        keep_out = dilated(leukocyte, 11)
    try:
        low, _ = three_class_thresholds(darkness, remember=True)
        plasma = cv2.erode((darkness < low).view(np.uint8), np.ones((5, 5), np.uint8)).view(bool) & ~keep_out
    except ValueError:  # a flat image: all of it is "plasma"
        plasma = ~keep_out
    if np.count_nonzero(plasma) / plasma.size >= MIN_BACKGROUND_FRACTION:  # (the mean of the mask)
        return plasma, ""
    candidates = ~keep_out if (~keep_out).any() else np.ones(darkness.shape, bool)
    cut = np.percentile(darkness[candidates], 5)
    return candidates & (darkness <= cut), "little plasma visible: the brightest 5 % of the pixels taken as plasma"


def background_colour(rgb: np.ndarray, leukocyte: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The plasma's median RGB (float, at least 1 per channel) and the note of :func:`background_mask`."""
    mask, note = background_mask(rgb, leukocyte)
    return np.maximum(channel_medians(rgb, mask), 1.0), note


def channel_medians(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``np.median(rgb[mask].astype(float), axis=0)`` of an 8-bit image, from one histogram per channel.

    The median of integers is a middle value (or the mean of the two middle ones, for an even
    count): the cumulative histogram finds them exactly, without copying and sorting the pixels
    (the three histograms in one pass, :func:`wekawbc.cells._kernels.masked_histograms`).
    """
    count = int(np.count_nonzero(mask))
    if count == 0:
        return np.full(rgb.shape[-1], np.nan)
    medians = []
    for histogram in masked_histograms(rgb, mask):
        cumulative = np.cumsum(histogram)
        lower, upper = np.searchsorted(cumulative, [(count - 1) // 2 + 1, count // 2 + 1])
        medians.append((float(lower) + float(upper)) / 2)
    return np.array(medians)


def white_balance(rgb: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``rgb`` with each channel scaled so that ``background`` (RGB) becomes :data:`WHITE` (uint8, clipped)."""
    gain = WHITE / np.maximum(np.asarray(background, np.float64), 1.0)
    return np.clip(rgb.astype(np.float64) * gain + 0.5, 0, 255).astype(np.uint8)


def optical_density(values: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Absorbance ``-log10(I / I_plasma)`` per channel (``values``: RGB, any shape ending in 3)."""
    intensity = np.maximum(np.asarray(values, np.float64), 1.0)
    return -np.log10(intensity / np.maximum(np.asarray(background, np.float64), 1.0))


def _lab_stats(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return lab.mean(axis=0), np.maximum(lab.std(axis=0), 1e-3)


def reinhard_normalise(rgb: np.ndarray, stained: np.ndarray,
                       reference: tuple[tuple[float, float, float], tuple[float, float, float]] = REFERENCE_LAB
                       ) -> np.ndarray:
    """Reinhard colour transfer in CIE Lab, fitted on the ``stained`` pixels, applied to the whole image.

    Each Lab channel of the whole image is shifted and scaled so that the stained pixels' mean and
    standard deviation become ``reference``'s; the plasma moves with them.
    """
    lab = rgb2lab(rgb)
    if stained.sum() < 16:
        return rgb.copy()
    mean, std = _lab_stats(lab[stained])
    target_mean, target_std = (np.asarray(part, np.float64) for part in reference)
    normalised = (lab - mean) / std * target_std + target_mean
    normalised[..., 0] = np.clip(normalised[..., 0], 0, 100)
    return np.clip(lab2rgb(normalised) * 255 + 0.5, 0, 255).astype(np.uint8)


def normalise_stain(rgb: np.ndarray, method: StainMethod = "white-balance",
                    leukocyte: np.ndarray | None = None) -> StainResult:
    """Colour-normalise an image: ``"none"``, ``"white-balance"`` or ``"reinhard"`` (white balance first).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
    method : {"none", "white-balance", "reinhard"}
    leukocyte : ndarray of bool, optional
        The leukocyte's cell mask (kept out of the plasma estimate).

    Returns
    -------
    StainResult
    """
    if method not in ("none", "white-balance", "reinhard"):
        raise ValueError(f"stain method must be 'none', 'white-balance' or 'reinhard', got {method!r}")
    background, note = background_colour(rgb, leukocyte)
    plain = tuple(float(v) for v in background)
    if method == "none":
        return StainResult(rgb, method, plain, note)
    balanced = white_balance(rgb, background)
    if method == "white-balance":
        return StainResult(balanced, method, plain, note)
    plasma, _ = background_mask(balanced, leukocyte)
    return StainResult(reinhard_normalise(balanced, ~plasma), method, plain, note)


def _reference_statistics(folder: str, step: int = 10) -> tuple[list[float], list[float]]:
    """Median Lab mean/std of the stained pixels, after white balance, over every ``step``-th image."""
    from wekawbc.cells.dataset import load_dataset, read_image

    means, stds = [], []
    for record in list(load_dataset(folder))[::step]:
        rgb = read_image(record.image)
        balanced = white_balance(rgb, background_colour(rgb)[0])
        plasma, _ = background_mask(balanced)
        mean, std = _lab_stats(rgb2lab(balanced)[~plasma])
        means.append(mean)
        stds.append(std)
    return (np.round(np.median(means, axis=0), 1).tolist(), np.round(np.median(stds, axis=0), 1).tolist())


if __name__ == "__main__":  # python -m wekawbc.cells.stain FOLDER: the REFERENCE_LAB of a data set
    import sys

    print(_reference_statistics(sys.argv[1]))

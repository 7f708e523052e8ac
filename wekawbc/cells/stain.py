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
* :func:`macenko_normalise` unmixes the image on its own two stain vectors in optical density
  (Macenko et al. 2009, through ``torchstain``'s numpy backend) and re-mixes the concentrations on a
  reference's vectors (:data:`MACENKO_REFERENCE`, measured on ``pbc``).

:func:`optical_density` turns intensities into absorbance relative to the plasma
(Beer-Lambert: ``OD = -log10(I / I_plasma)``): the relative colour features of
:mod:`wekawbc.features.registry` are built on it, and do not change when the illumination does.

>>> from wekawbc.cells.stain import normalise_stain
>>> result = normalise_stain(rgb, "white-balance")   # doctest: +SKIP
>>> result.rgb, result.background, result.note      # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterable, Literal

import cv2
import numpy as np
from skimage.color import lab2rgb, rgb2lab
from skimage.filters import threshold_multiotsu

__all__ = ["MIN_BACKGROUND_FRACTION", "REFERENCE_LAB", "StainMethod", "StainResult", "WHITE", "background_colour",
           "background_mask", "channel_medians", "MACENKO_REFERENCE", "STAIN_METHODS", "StainVectors", "fit_stain_vectors",
           "macenko_normalise", "normalise_stain", "remix_stains",
           "optical_density", "reinhard_normalise", "white_balance"]

StainMethod = Literal["none", "white-balance", "reinhard", "macenko"]
#: The methods of :func:`normalise_stain`.
STAIN_METHODS: tuple[str, ...] = ("none", "white-balance", "reinhard", "macenko")
#: The plasma's colour after :func:`white_balance` (a little under 255 so nothing clips).
WHITE = 240.0
#: Under this fraction of the image, the plasma is too small to trust: the brightest pixels are used.
MIN_BACKGROUND_FRACTION = 0.02
#: Reinhard reference: CIE Lab mean and standard deviation of the stained (non-plasma) pixels,
#: after white balance, as ``((L, a, b) means, (L, a, b) standard deviations)``. The values are the
#: medians over ``pbc/`` (every 10th image, 350), from ``python -m wekawbc.cells.stain ../shared/datasets/pbc``.
REFERENCE_LAB: tuple[tuple[float, float, float], tuple[float, float, float]] = (
    (70.5, 14.2, -14.7), (16.0, 13.2, 16.7))
#: Macenko reference: the two stain vectors in optical density (R, G, B rows; columns: the basic dye
#: that stains the nucleus, then eosin) and the 99th percentiles of their concentrations, after white
#: balance; medians over ``pbc/`` (every 10th image), from ``python -m wekawbc.cells.stain ../shared/datasets/pbc``.
MACENKO_REFERENCE: tuple[tuple[tuple[float, float], ...], tuple[float, float]] = (
    ((0.7105, 0.407), (0.6739, 0.9096), (0.2027, 0.0833)), (1.0102, 2.1194))


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
    return 1.0 - cv2.GaussianBlur(rgb[..., 1].astype(np.float32) / 255.0, (0, 0), 1.0)


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
        keep_out = cv2.dilate(leukocyte.astype(np.uint8), np.ones((11, 11), np.uint8)).astype(bool)
    try:
        low, _ = threshold_multiotsu(darkness, classes=3, nbins=128)
        plasma = cv2.erode((darkness < low).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~keep_out
    except ValueError:  # a flat image: all of it is "plasma"
        plasma = ~keep_out
    if plasma.mean() >= MIN_BACKGROUND_FRACTION:
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
    count): the cumulative histogram finds them exactly, without copying and sorting the pixels.
    """
    count = int(np.count_nonzero(mask))
    if count == 0:
        return np.full(rgb.shape[-1], np.nan)
    mask8 = mask.astype(np.uint8)
    medians = []
    for channel in range(rgb.shape[-1]):
        histogram = cv2.calcHist([rgb], [channel], mask8, [256], [0, 256]).ravel()
        cumulative = np.cumsum(histogram.astype(np.int64))
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


def _macenko(reference=None):
    import torchstain

    normaliser = torchstain.normalizers.MacenkoNormalizer(backend="numpy")
    if reference is not None:
        normaliser.HERef = np.asarray(reference[0], np.float64)
        normaliser.maxCRef = np.asarray(reference[1], np.float64)
    return normaliser


def macenko_normalise(rgb: np.ndarray, reference=MACENKO_REFERENCE) -> tuple[np.ndarray, str]:
    """Macenko stain normalisation of a white-balanced image (plasma at :data:`WHITE`) to ``reference``.

    The image's two stain vectors are the extreme angles of its stained pixels' optical densities in
    the plane of their two main directions; each pixel's concentrations on them, scaled so their 99th
    percentiles match the reference's, are re-mixed with the reference's vectors (``torchstain``'s
    ``MacenkoNormalizer``, numpy backend). An image too plain to find two stains is returned unchanged,
    with a note.
    """
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # a plain image fails below, with a note
            warnings.simplefilter("ignore", RuntimeWarning)
            normalised, _, _ = _macenko(reference).normalize(I=rgb, Io=WHITE, stains=False)
    except (np.linalg.LinAlgError, ValueError, IndexError) as error:
        return rgb.copy(), f"Macenko not applied ({type(error).__name__}: too few stained pixels?)"
    return normalised, ""


@dataclass(frozen=True)
class StainVectors:
    """A lab's two stain vectors in optical density (3 × 2: R, G, B rows; the nucleus's basic dye, then eosin)
    and the 99th percentiles of their concentrations."""

    vectors: np.ndarray
    maxima: np.ndarray


def fit_stain_vectors(images: Iterable[np.ndarray], pixels_per_image: int = 4000, seed: int = 0) -> StainVectors:
    """One Macenko fit (``torchstain``'s) on pixels pooled over a lab's images, each white-balanced first.

    Fitted per image, Macenko's vectors follow what the image shows (an eosinophil's granules pull the eosin
    vector), which on single-cell crops normalises away the colour that tells the types apart; pooled over
    many images of one lab they describe the lab's stain.
    """
    rng = np.random.default_rng(seed)
    pooled = []
    for rgb in images:
        pixels = white_balance(rgb, background_colour(rgb)[0]).reshape(-1, 3)
        pooled.append(pixels[rng.choice(len(pixels), min(pixels_per_image, len(pixels)), replace=False)])
    macenko = _macenko()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        macenko.fit(np.concatenate(pooled)[:, None, :], Io=WHITE)
    return StainVectors(np.asarray(macenko.HERef, np.float64), np.asarray(macenko.maxCRef, np.float64))


def remix_stains(rgb: np.ndarray, source: StainVectors, reference: StainVectors) -> np.ndarray:
    """A white-balanced image's stains moved from its lab's vectors to a reference lab's (Macenko at lab level).

    Each pixel's optical density (relative to :data:`WHITE`, ``torchstain``'s convention) is unmixed on
    ``source``'s two vectors (least squares), the concentrations scaled by the reference's maxima over the
    lab's, and re-mixed on the reference's vectors, as Macenko's method does; what the two vectors leave
    unexplained is dropped (keeping it moved a refit's vectors away from the reference's, measured on jtsc).
    """
    od = -np.log((rgb.reshape(-1, 3).astype(np.float64) + 1.0) / WHITE).T
    concentrations = np.linalg.lstsq(source.vectors, od, rcond=None)[0]
    scaled = concentrations * (reference.maxima / source.maxima)[:, None]
    remixed = WHITE * np.exp(-(reference.vectors @ scaled))
    return np.clip(remixed.T.reshape(rgb.shape) - 1.0 + 0.5, 0, 255).astype(np.uint8)


def normalise_stain(rgb: np.ndarray, method: StainMethod = "white-balance",
                    leukocyte: np.ndarray | None = None) -> StainResult:
    """Colour-normalise an image: ``"none"``, ``"white-balance"``, ``"reinhard"`` or ``"macenko"`` (white balance first).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
    method : {"none", "white-balance", "reinhard", "macenko"}
    leukocyte : ndarray of bool, optional
        The leukocyte's cell mask (kept out of the plasma estimate).

    Returns
    -------
    StainResult
    """
    if method not in STAIN_METHODS:
        raise ValueError(f"stain method must be one of {', '.join(STAIN_METHODS)}, got {method!r}")
    background, note = background_colour(rgb, leukocyte)
    plain = tuple(float(v) for v in background)
    if method == "none":
        return StainResult(rgb, method, plain, note)
    balanced = white_balance(rgb, background)
    if method == "white-balance":
        return StainResult(balanced, method, plain, note)
    if method == "macenko":
        normalised, problem = macenko_normalise(balanced)
        return StainResult(normalised, method, plain, "; ".join(n for n in (note, problem) if n))
    plasma, _ = background_mask(balanced, leukocyte)
    return StainResult(reinhard_normalise(balanced, ~plasma), method, plain, note)


def _reference_statistics(folder: str, step: int = 10) -> dict[str, list]:
    """Median Lab mean/std of the stained pixels, and the median Macenko stain vectors (each unit length)
    and concentration percentiles, after white balance, over every ``step``-th image."""
    from wekawbc.cells.dataset import load_dataset, read_image

    means, stds, vectors, maxima = [], [], [], []
    for record in list(load_dataset(folder))[::step]:
        rgb = read_image(record.image)
        balanced = white_balance(rgb, background_colour(rgb)[0])
        plasma, _ = background_mask(balanced)
        mean, std = _lab_stats(rgb2lab(balanced)[~plasma])
        means.append(mean)
        stds.append(std)
        macenko = _macenko()
        macenko.fit(balanced, Io=WHITE)
        vectors.append(macenko.HERef / np.linalg.norm(macenko.HERef, axis=0))
        maxima.append(macenko.maxCRef)
    he = np.median(vectors, axis=0)
    return {"REFERENCE_LAB": [np.round(np.median(means, axis=0), 1).tolist(), np.round(np.median(stds, axis=0), 1).tolist()],
            "MACENKO_REFERENCE": [np.round(he / np.linalg.norm(he, axis=0), 4).tolist(),
                                  np.round(np.median(maxima, axis=0), 4).tolist()]}


if __name__ == "__main__":  # python -m wekawbc.cells.stain FOLDER: the REFERENCE_LAB and MACENKO_REFERENCE of a data set
    import sys

    print(_reference_statistics(sys.argv[1]))

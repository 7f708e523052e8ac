"""Synthetic single-leukocyte crops of the five types, with masks and lobe counts as truth.

Each crop shows one leukocyte among red cells on plasma, drawn from a seeded random generator:

========== ============ ====================================================================
type       cell radius  nucleus and cytoplasm
========== ============ ====================================================================
neutrophil medium       2-5 lobes on an arc, joined by thin strands (touching lobes); pale lilac
                        cytoplasm with fine granules
eosinophil medium       2 large lobes joined by a strand; cytoplasm packed with orange granules
basophil   small-medium 1-2 lobes hidden under coarse dark purple granules
lymphocyte small        one large round nucleus, a thin rim of pale blue cytoplasm
monocyte   large        one indented (kidney) nucleus; grey-blue cytoplasm with vacuoles
========== ============ ====================================================================

Stain (two palettes, like the May-Grünwald-Giemsa and rapid stains of the shared sets, each with
random channel gains), illumination gradient, pale chromatin patches, soft edges, blur and noise
vary from crop to crop, so a fixed colour threshold does not recover the nucleus exactly.

The truth mask uses the ``jtsc/`` encoding: 0 background (red cells included), 128 cytoplasm,
255 nucleus. The lobe count is the number of nucleus lobes drawn (1 for round and indented nuclei).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from wekawbc import __version__
from wekawbc._io import WekawbcError, atomic_write, atomic_write_bytes
from wekawbc._progress import progress_bar
from wekawbc.cells.dataset import CLASSES, binary_label
from wekawbc.papers import load_paper

__all__ = ["CELL_TYPES", "PAPER_CLASS_COUNTS", "SyntheticCell", "generate_cell", "scaled_counts", "write_dataset"]

CELL_TYPES: tuple[str, ...] = CLASSES
"""The five leukocyte types, granulocytes first (the project's one class vocabulary)."""

PAPER_CLASS_COUNTS: dict[str, int] = dict(sorted(load_paper("alkrimi2023").class_counts("five").items(),
                                                  key=lambda item: -item[1]))
"""Class counts of Alkrimi et al. (2023), Table 2: 1,000 cells (from the paper's data file), largest
first: the order the seeded generator has always drawn the types in."""

BACKGROUND, CYTOPLASM, NUCLEUS = 0, 128, 255

# Cell radius as a fraction of the crop side (mean, spread).
_CELL_RADIUS = {
    "neutrophil": (0.25, 0.02), "eosinophil": (0.26, 0.02), "basophil": (0.23, 0.02),
    "lymphocyte": (0.19, 0.02), "monocyte": (0.31, 0.025),
}
_NEUTROPHIL_LOBES = ((2, 3, 4, 5), (0.25, 0.4, 0.25, 0.1))


@dataclass(frozen=True)
class _Palette:
    """Colours (RGB, 0-255) of one stain."""

    plasma: tuple[float, float, float]
    red_cell: tuple[float, float, float]
    nucleus: tuple[float, float, float]
    chromatin_pale: tuple[float, float, float]
    cytoplasm: dict[str, tuple[float, float, float]]
    granule: dict[str, tuple[float, float, float]]


_PALETTES = (
    # May-Grünwald-Giemsa-like (pbc/): violet nuclei on a pale background.
    _Palette(
        plasma=(232, 222, 212), red_cell=(222, 160, 160), nucleus=(105, 55, 140),
        chromatin_pale=(160, 115, 185),
        cytoplasm={"neutrophil": (214, 190, 210), "eosinophil": (226, 178, 160), "basophil": (200, 170, 210),
                   "lymphocyte": (175, 185, 225), "monocyte": (190, 180, 210)},
        granule={"neutrophil": (190, 150, 190), "eosinophil": (232, 120, 70), "basophil": (80, 35, 110)},
    ),
    # Rapid-stain-like (jtsc/): bluer nuclei, greyer plasma.
    _Palette(
        plasma=(215, 215, 220), red_cell=(200, 150, 165), nucleus=(70, 60, 150),
        chromatin_pale=(130, 120, 190),
        cytoplasm={"neutrophil": (200, 190, 215), "eosinophil": (215, 170, 165), "basophil": (185, 170, 215),
                   "lymphocyte": (160, 175, 225), "monocyte": (180, 180, 215)},
        granule={"neutrophil": (175, 150, 195), "eosinophil": (220, 125, 90), "basophil": (60, 40, 120)},
    ),
)


@dataclass(frozen=True)
class SyntheticCell:
    """One generated crop and its truth."""

    label: str
    image: np.ndarray
    """RGB image, uint8, (size, size, 3)."""
    mask: np.ndarray
    """uint8 (size, size): 0 background, 128 cytoplasm, 255 nucleus."""
    lobes: int
    """Number of nucleus lobes drawn."""


def _blob(rng: np.random.Generator, shape: tuple[int, int], center: tuple[float, float],
          radii: tuple[float, float], angle: float, roughness: float) -> np.ndarray:
    """Filled ellipse with a randomly wavy outline, as a boolean mask."""
    theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    harmonics = rng.normal(0, roughness, size=(4, 2))
    wobble = 1 + sum(a * np.cos((k + 2) * theta) + b * np.sin((k + 2) * theta)
                     for k, (a, b) in enumerate(harmonics))
    x, y = radii[0] * wobble * np.cos(theta), radii[1] * wobble * np.sin(theta)
    cos, sin = np.cos(angle), np.sin(angle)
    points = np.stack([center[0] + x * cos - y * sin, center[1] + x * sin + y * cos], axis=1)
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(points * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return canvas.astype(bool)


def _disc(shape: tuple[int, int], center: tuple[float, float], radius: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx - center[0]) ** 2 + (yy - center[1]) ** 2 <= radius ** 2


def _lobed_nucleus(rng: np.random.Generator, shape: tuple[int, int], center: tuple[float, float],
                   cell_radius: float, n_lobes: int, lobe_scale: float) -> np.ndarray:
    """Lobes on an arc around the cell centre, each joined to the next by a thin strand."""
    spread = rng.uniform(0.55, 0.8) * np.pi * min(n_lobes - 1, 3) / 3 + 0.35
    start = rng.uniform(0, 2 * np.pi)
    arc_radius = cell_radius * rng.uniform(0.38, 0.5)
    angles = start + np.linspace(0, spread, n_lobes) + rng.normal(0, 0.12, n_lobes)
    lobe_radius = cell_radius * lobe_scale / np.sqrt(n_lobes / 2 + 0.5)
    centers = [(center[0] + arc_radius * np.cos(a), center[1] + arc_radius * np.sin(a)) for a in angles]
    nucleus = np.zeros(shape, bool)
    for c in centers:
        r = lobe_radius * rng.uniform(0.85, 1.15)
        nucleus |= _blob(rng, shape, c, (r, r * rng.uniform(0.7, 1.0)), rng.uniform(0, np.pi), 0.06)
    strands = np.zeros(shape, np.uint8)
    for a, b in zip(centers, centers[1:]):
        thickness = int(rng.integers(2, 4))
        cv2.line(strands, tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b), 1, thickness)
    return nucleus | strands.astype(bool)


def _kidney_nucleus(rng: np.random.Generator, shape: tuple[int, int], center: tuple[float, float],
                    cell_radius: float) -> np.ndarray:
    """An ellipse with a round bite taken from one side (monocyte)."""
    angle = rng.uniform(0, 2 * np.pi)
    radii = (cell_radius * rng.uniform(0.55, 0.65), cell_radius * rng.uniform(0.42, 0.5))
    body = _blob(rng, shape, center, radii, angle, 0.04)
    bite_distance = radii[1] * rng.uniform(0.9, 1.2)
    bite_center = (center[0] - bite_distance * np.sin(angle), center[1] + bite_distance * np.cos(angle))
    return body & ~_disc(shape, bite_center, radii[1] * rng.uniform(0.55, 0.75))


def _nucleus(rng: np.random.Generator, label: str, shape: tuple[int, int], center: tuple[float, float],
             cell_radius: float) -> tuple[np.ndarray, int]:
    if label == "neutrophil":
        lobes = int(rng.choice(_NEUTROPHIL_LOBES[0], p=_NEUTROPHIL_LOBES[1]))
        return _lobed_nucleus(rng, shape, center, cell_radius, lobes, 0.42), lobes
    if label == "eosinophil":
        return _lobed_nucleus(rng, shape, center, cell_radius, 2, 0.42), 2
    if label == "basophil":
        lobes = int(rng.integers(1, 3))
        if lobes == 1:
            r = cell_radius * rng.uniform(0.5, 0.6)
            return _blob(rng, shape, center, (r, r * 0.8), rng.uniform(0, np.pi), 0.08), 1
        return _lobed_nucleus(rng, shape, center, cell_radius, 2, 0.45), 2
    if label == "lymphocyte":
        r = cell_radius * rng.uniform(0.76, 0.88)
        offset = cell_radius - r
        shifted = (center[0] + rng.uniform(-offset, offset) * 0.6, center[1] + rng.uniform(-offset, offset) * 0.6)
        return _blob(rng, shape, shifted, (r, r * rng.uniform(0.88, 1.0)), rng.uniform(0, np.pi), 0.03), 1
    if label == "monocyte":
        return _kidney_nucleus(rng, shape, center, cell_radius), 1
    raise ValueError(f"unknown cell type '{label}'; expected one of {CELL_TYPES}")


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Smooth random field scaled to 0..1."""
    field = cv2.GaussianBlur(rng.normal(size=shape).astype(np.float32), (0, 0), sigma)
    field -= field.min()
    return field / max(float(field.max()), 1e-6)


def _paint(image: np.ndarray, region: np.ndarray, colour: np.ndarray, softness: float,
           opacity: np.ndarray | float = 1.0) -> None:
    """Blend ``colour`` into ``image`` over ``region`` with soft edges (in place)."""
    alpha = cv2.GaussianBlur(region.astype(np.float32), (0, 0), softness) if softness > 0 else region.astype(np.float32)
    alpha = (alpha * opacity)[..., None]
    image *= 1 - alpha
    image += alpha * colour


def _granules(rng: np.random.Generator, shape: tuple[int, int], region: np.ndarray, count: int,
              radius: tuple[float, float]) -> np.ndarray:
    ys, xs = np.nonzero(region)
    canvas = np.zeros(shape, np.uint8)
    if len(xs) == 0:
        return canvas.astype(bool)
    for i in rng.integers(0, len(xs), size=count):
        cv2.circle(canvas, (int(xs[i]), int(ys[i])), int(round(rng.uniform(*radius))), 1, -1)
    return canvas.astype(bool) & region


def _red_cells(rng: np.random.Generator, image: np.ndarray, palette: _Palette, gains: np.ndarray,
               size: int, cell_center: tuple[float, float], cell_radius: float) -> None:
    shape = image.shape[:2]
    for _ in range(int(rng.integers(3, 8))):
        radius = size * rng.uniform(0.12, 0.16)
        angle = rng.uniform(0, 2 * np.pi)
        # Red cells sit around the leukocyte, often touching or under its edge.
        distance = cell_radius + radius * rng.uniform(0.6, 1.6)
        center = (cell_center[0] + distance * np.cos(angle), cell_center[1] + distance * np.sin(angle))
        disc = _blob(rng, shape, center, (radius, radius * rng.uniform(0.85, 1.0)), rng.uniform(0, np.pi), 0.02)
        colour = np.array(palette.red_cell) * gains * rng.uniform(0.95, 1.05)
        _paint(image, disc, colour, 0.8)
        pallor = _disc(shape, center, radius * rng.uniform(0.35, 0.5))
        _paint(image, pallor, np.array(palette.plasma) * gains, 2.0, 0.45)


def generate_cell(label: str, rng: np.random.Generator, size: int = 128) -> SyntheticCell:
    """Draw one crop of a leukocyte of type ``label``.

    Parameters
    ----------
    label : str
        One of :data:`CELL_TYPES`.
    rng : numpy.random.Generator
        Source of every random choice (same state, same crop).
    size : int, default=128
        Side of the square crop in pixels.
    """
    if label not in CELL_TYPES:
        raise ValueError(f"unknown cell type '{label}'; expected one of {CELL_TYPES}")
    shape = (size, size)
    palette = _PALETTES[int(rng.integers(len(_PALETTES)))]
    gains = rng.normal(1.0, 0.05, 3).clip(0.85, 1.15)
    yy, xx = np.mgrid[:size, :size] / size
    light = 1 + rng.uniform(-0.06, 0.06) * (xx - 0.5) + rng.uniform(-0.06, 0.06) * (yy - 0.5)
    image = np.ones((size, size, 3), np.float32) * (np.array(palette.plasma) * gains)

    mean_radius, spread = _CELL_RADIUS[label]
    cell_radius = size * float(np.clip(rng.normal(mean_radius, spread), mean_radius - 2 * spread,
                                       mean_radius + 2 * spread))
    center = (size / 2 + rng.uniform(-0.05, 0.05) * size, size / 2 + rng.uniform(-0.05, 0.05) * size)
    _red_cells(rng, image, palette, gains, size, center, cell_radius)

    cell = _blob(rng, shape, center, (cell_radius, cell_radius * rng.uniform(0.88, 1.0)),
                 rng.uniform(0, np.pi), 0.035)
    nucleus, lobes = _nucleus(rng, label, shape, center, cell_radius)
    nucleus &= cell

    cytoplasm_colour = np.array(palette.cytoplasm[label]) * gains
    _paint(image, cell, cytoplasm_colour, 0.9)
    if label == "monocyte":
        for _ in range(int(rng.integers(0, 5))):
            vacuole = _granules(rng, shape, cell & ~nucleus, 1, (1.5, 3.0))
            _paint(image, vacuole, np.array(palette.plasma) * gains, 0.7, 0.7)
    if label in palette.granule and label != "basophil":
        count, radius = (60, (0.6, 1.0)) if label == "neutrophil" else (140, (1.2, 2.0))
        grains = _granules(rng, shape, cell & ~nucleus, count, radius)
        _paint(image, grains, np.array(palette.granule[label]) * gains, 0.6, 0.8)

    # Chromatin: the nucleus colour with pale patches, so the nucleus is not one flat colour.
    chromatin = _smooth_noise(rng, shape, size / 40)
    nucleus_rgb = (np.array(palette.nucleus) * gains)[None, None, :] * (1 - chromatin[..., None] * 0.6) + \
        (np.array(palette.chromatin_pale) * gains)[None, None, :] * (chromatin[..., None] * 0.6)
    alpha = cv2.GaussianBlur(nucleus.astype(np.float32), (0, 0), rng.uniform(0.8, 1.6))[..., None]
    image = image * (1 - alpha) + nucleus_rgb * alpha

    if label == "basophil":
        # Coarse dark granules over nucleus and cytoplasm alike hide the nucleus outline.
        grains = _granules(rng, shape, cell, int(rng.integers(70, 130)), (1.5, 3.0))
        _paint(image, grains, np.array(palette.granule["basophil"]) * gains, 0.7, 0.9)

    image *= light[..., None]
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.1))
    image += rng.normal(0, rng.uniform(2.0, 6.0), image.shape).astype(np.float32)

    mask = np.full(shape, BACKGROUND, np.uint8)
    mask[cell] = CYTOPLASM
    mask[nucleus] = NUCLEUS
    return SyntheticCell(label, np.clip(np.round(image), 0, 255).astype(np.uint8), mask, lobes)


def scaled_counts(scale: float = 1.0, counts: dict[str, int] | None = None) -> dict[str, int]:
    """Class counts multiplied by ``scale`` (rounded, at least 1 per class); Table 2's by default."""
    if scale <= 0:
        raise WekawbcError(f"scale must be positive, got {scale}")
    base = PAPER_CLASS_COUNTS if counts is None else counts
    return {label: max(1, int(round(n * scale))) for label, n in base.items()}


def _encode_png(array: np.ndarray) -> bytes:
    pixels = cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if array.ndim == 3 else array
    ok, buffer = cv2.imencode(".png", pixels)
    if not ok:
        raise OSError("OpenCV could not encode a PNG")
    return buffer.tobytes()


def write_dataset(out_dir: str | os.PathLike, counts: dict[str, int] | None = None, seed: int = 0,
                  size: int = 128, progress: bool = False) -> Path:
    """Generate a labelled data set in the shared data sets' layout.

    Writes ``images/<label>/<label>_NNNN.png``, ``masks/<label>/<label>_NNNN.png``,
    ``labels.csv`` (``image,label,mask,lobes,group``; paths relative to ``out_dir``) and
    ``synthetic.json`` (seed, counts, size, wekawbc version). Each cell has its own seed derived
    from ``seed``, its type and its number, so a larger set extends a smaller one.

    Parameters
    ----------
    out_dir : path
        Folder to create or fill.
    counts : dict, optional
        Cells per type; defaults to :data:`PAPER_CLASS_COUNTS`.
    seed : int, default=0
        Master seed.
    size : int, default=128
        Crop side in pixels.
    progress : bool, default=False
        Show a progress bar.

    Returns
    -------
    Path
        ``out_dir``.
    """
    counts = dict(PAPER_CLASS_COUNTS if counts is None else counts)
    unknown = sorted(set(counts) - set(CELL_TYPES))
    if unknown:
        raise WekawbcError(f"unknown cell type(s) {unknown} in the class counts; expected {list(CELL_TYPES)}")
    out = Path(out_dir)
    rows = []
    jobs = [(label, i) for label in CELL_TYPES for i in range(int(counts.get(label, 0)))]
    for label, i in progress_bar(jobs, desc="synthetic cells", unit="cell", enabled=progress):
        cell = generate_cell(label, np.random.default_rng([seed, CELL_TYPES.index(label), i]), size)
        name = f"{label}/{label}_{i:04d}.png"
        atomic_write_bytes(out / "images" / name, _encode_png(cell.image))
        atomic_write_bytes(out / "masks" / name, _encode_png(cell.mask))
        group = binary_label(label)
        rows.append((f"images/{name}", label, f"masks/{name}", cell.lobes, group))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "label", "mask", "lobes", "group"])
    writer.writerows(rows)
    with atomic_write(out / "labels.csv") as handle:
        handle.write(buffer.getvalue())
    with atomic_write(out / "synthetic.json") as handle:
        json.dump({"generator": "wekawbc.synthetic", "wekawbc": __version__, "seed": seed, "size": size,
                   "counts": counts}, handle, indent=2)
    return out

"""Extraction throughput on pbc crops: wekawbc (masks + all features) vs scikit-image on an Otsu mask.

Run: ``python3 -m benchmarks extract`` (data from ``$WEKAWBC_DATASETS`` or ``../shared/datasets``;
``WEKAWBC_BENCH_IMAGES`` images, 40 per class by default). Each timing includes reading the JPEG.
The peer is what a user would otherwise write: ``skimage.measure.regionprops_table`` plus GLCM
(``graycomatrix``/``graycoprops``) on the Otsu mask of the grey image. Both run on the same images
in the same process, interleaved in rounds (A B A B ...) so a busy machine slows each alike; the
best round is reported. CellProfiler is quoted (it needs its own Python 3.9), not rebuilt.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

ROUNDS = 3
CELLPROFILER = "CellProfiler 4.2.8 headless (measured for the project brief, not in this run): 2.1 images/s per core, 137 features"
_PEER_PROPERTIES = ("area", "area_convex", "area_bbox", "perimeter", "perimeter_crofton", "eccentricity", "solidity",
                    "extent", "axis_major_length", "axis_minor_length", "equivalent_diameter_area", "orientation",
                    "euler_number", "feret_diameter_max", "moments_hu", "intensity_mean", "intensity_std",
                    "intensity_min", "intensity_max")
_GLCM_PROPS = ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation")


def _images() -> list[Path]:
    from wekawbc.cells.dataset import CLASSES, load_dataset

    root = Path(os.environ.get("WEKAWBC_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
    per_class = int(os.environ.get("WEKAWBC_BENCH_IMAGES", "200")) // len(CLASSES)
    dataset = load_dataset(root / "pbc")
    return [r.image for name in CLASSES for r in [r for r in dataset if r.label == name][:: 700 // per_class][:per_class]]


def _ours(paths: list[Path]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of this process, cells."""
    from wekawbc.cells.dataset import read_image
    from wekawbc.features import extract_features

    start, cpu, cells = time.perf_counter(), time.process_time(), 0
    for path in paths:
        cells += len(extract_features(read_image(path), mode="crop"))
    return time.perf_counter() - start, time.process_time() - cpu, cells


def _ours_all_cores(paths: list[Path]) -> tuple[float, int]:
    from wekawbc.cells.dataset import CellDataset, CellRecord
    from wekawbc.features.batch import extract_dataset

    dataset = CellDataset([CellRecord(image=path) for path in paths])
    start = time.perf_counter()
    result = extract_dataset(dataset, mode="crop", jobs=-1)
    return time.perf_counter() - start, len(result.table)


def _peer_one(rgb: np.ndarray) -> dict[str, float]:
    from skimage.color import rgb2gray
    from skimage.feature import graycomatrix, graycoprops
    from skimage.filters import threshold_otsu
    from skimage.measure import label, regionprops_table

    grey = rgb2gray(rgb)
    mask = grey < threshold_otsu(grey)
    labels = label(mask)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    cell = (labels == int(np.argmax(sizes))).astype(np.uint8)
    table = regionprops_table(cell, intensity_image=rgb, properties=_PEER_PROPERTIES)
    ys, xs = np.nonzero(cell)
    patch = (grey[ys.min():ys.max() + 1, xs.min():xs.max() + 1] * 255).astype(np.uint8)
    glcm = graycomatrix(patch, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=256, symmetric=True, normed=True)
    features = {key: float(value[0]) for key, value in table.items()}
    features.update({f"glcm_{name}": float(graycoprops(glcm, name).mean()) for name in _GLCM_PROPS})
    return features


def _peer(paths: list[Path]) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds, cells, features per cell."""
    from wekawbc.cells.dataset import read_image

    start, cpu, count = time.perf_counter(), time.process_time(), 0
    for path in paths:
        count = len(_peer_one(read_image(path)))
    return time.perf_counter() - start, time.process_time() - cpu, len(paths), count


def main() -> str:
    """Time both extractors and return the Markdown section for docs/BENCHMARKS.md."""
    from wekawbc.features import feature_names

    import cv2

    cv2.setNumThreads(1)  # "one core": one thread (the all-core run uses worker processes)
    paths = _images()
    _ours(paths[:3]), _peer(paths[:3])  # imports and first-call costs out of the timings
    ours, peer = [], []
    for _ in range(ROUNDS):
        ours.append(_ours(paths))
        peer.append(_peer(paths))
    all_cores = _ours_all_cores(paths)
    ours_rate = max(cells / seconds for seconds, _, cells in ours)
    peer_rate = max(cells / seconds for seconds, _, cells, _ in peer)
    ours_cpu = max(cells / cpu for _, cpu, cells in ours)
    peer_cpu = max(cells / cpu for _, cpu, cells, _ in peer)
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join([
        "## Cell extraction throughput (wekawbc extract vs scikit-image)",
        "",
        f"`python3 -m benchmarks extract` — {len(paths)} pbc crops (360x363 JPEG, {len(paths) // 5} per class), "
        f"JPEG decoding included, best of {ROUNDS} interleaved rounds; {platform.processor() or platform.machine()}, "
        f"{cores} cores, load average {load:.1f} at the start (shared machine: wall-clock rates are depressed; "
        "cells per CPU-second of the process is the per-core figure least affected by other work).",
        "",
        "| extractor | features | cells/s (wall) | cells per CPU-second |",
        "|---|---|---|---|",
        f"| wekawbc `extract_features` (segmentation: nucleus, cytoplasm, cell; lobes; all features), 1 core "
        f"| {len(feature_names())} | {ours_rate:.1f} | {ours_cpu:.1f} |",
        f"| wekawbc `extract_dataset(jobs=-1)`, {cores} worker processes (start-up included) "
        f"| {len(feature_names())} | {all_cores[1] / all_cores[0]:.1f} | – |",
        f"| scikit-image `regionprops_table` + GLCM on an Otsu mask (grey), 1 core | {peer[0][3]} "
        f"| {peer_rate:.1f} | {peer_cpu:.1f} |",
        f"| {CELLPROFILER} | 137 | – | 2.1 per core |",
        "",
    ])


if __name__ == "__main__":
    print(main())

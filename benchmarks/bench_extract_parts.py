"""Where extraction's time goes, base commit vs now: CPU ms per cell for each part, and whether outputs agree.

Each part of ``extract_features(rgb, mode="crop")`` is timed alone on the same pbc crops (the
benchmark's selection, ``WEKAWBC_BENCH_IMAGES``, 100 by default): JPEG reading, segmentation
(``segment_cell``), the red-cell scale (``estimate_scale``), the plasma colour (``background_colour``),
the feature functions (``compute_features`` on the cell's window, lobes and granules included), the
lobe and granule measures alone (``assess_lobes``, ``granule_measures``: part of the features) and the
whole call. The base code is a detached tree of another commit (``WEKAWBC_BASE_TREE``, default
``/tmp/base``, e.g. ``git worktree add --detach /tmp/base 9a3288a``; ``WEKAWBC_BASE_COMMIT`` names it when the
tree is an exported copy, not a git tree); each code runs in its own
process, alternately, ``ROUNDS`` times (best round kept), in CPU seconds of that process. Both
also write every crop's masks, scale and feature values, compared here. Once per code, untimed, a wider check
runs ``extract_features`` on more images of the three labs (:data:`CHECK`: 200 pbc crops, 40 per class;
all 300 jtsc crops; 50 bccd crops around their leukocyte box; 10 bccd fields in ``mode="field"``) and
compares masks, scales and values per lab. Run:
``WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks extract_parts``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROUNDS = 3
#: The check's images per lab: (lab, how many, what is measured).
#: The data sets beside this checkout (``$WEKAWBC_DATASETS`` wins), also for a base tree elsewhere.
_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
CHECK = (("pbc", 200, "crop"), ("jtsc", 300, "crop"), ("bccd", 50, "box"), ("bccd", 10, "field"))
PARTS = ("read", "segment", "scale", "background", "features", "lobes_granules", "extract_features")


def _worker(out: str) -> None:
    """Time each part on the crops with the ``wekawbc`` found first on the path; save timings and outputs."""
    import cv2

    from benchmarks.bench_extract import _images
    from wekawbc.cells.dataset import read_image
    from wekawbc.cells.granules import granule_measures
    from wekawbc.cells.lobes import assess_lobes
    from wekawbc.cells.scale import estimate_scale
    from wekawbc.cells.segmentation import segment_cell
    from wekawbc.cells.stain import background_colour
    from wekawbc.features.compute import compute_features
    from wekawbc.features.extract import extract_features

    cv2.setNumThreads(1)
    paths = _images()
    images = [read_image(path) for path in paths]
    extract_features(images[0], mode="crop")  # first-call costs out of the timings
    spent = dict.fromkeys(PARTS, 0.0)
    rows, masks, scales = [], [], []

    def timed(part, function, *args, **kwargs):
        started = time.process_time()
        result = function(*args, **kwargs)
        spent[part] += time.process_time() - started
        return result

    for path, rgb in zip(paths, images):
        timed("read", read_image, path)
        cell = timed("segment", segment_cell, rgb)
        scale = timed("scale", estimate_scale, rgb, cell.cell_mask)
        background, _ = timed("background", background_colour, rgb, cell.cell_mask)
        x0, y0, x1, y1 = cell.box
        window = (slice(max(y0 - 2, 0), y1 + 2), slice(max(x0 - 2, 0), x1 + 2))
        rows.append(timed("features", compute_features, rgb[window], cell.nucleus_mask[window], cell.cell_mask[window],
                          um_per_pixel=scale.um_per_pixel if scale.known else None, background=background))
        nucleus = cell.nucleus_mask[window] & cell.cell_mask[window]  # as compute_features passes them
        granules = timed("lobes_granules", granule_measures, rgb[window], nucleus, cell.cell_mask[window], background)
        timed("lobes_granules", assess_lobes, nucleus, rgb[window], granules)
        masks.append(hashlib.sha256(np.packbits(np.stack([cell.nucleus_mask, cell.cell_mask])).tobytes()).hexdigest())
        scales.append(scale.um_per_pixel)
    # The whole call in a pass of its own (code that remembers work per image would look faster right after the parts).
    for rgb in images:
        timed("extract_features", extract_features, rgb, mode="crop")
    np.savez(out, rows=np.array(rows), masks=np.array(masks), scales=np.array(scales),
             ms=np.array([1000 * spent[part] / len(paths) for part in PARTS]))


def _check_images() -> list[tuple[str, np.ndarray, str]]:
    """The check's images: (lab, RGB, mode), :data:`CHECK`'s selection (every n-th record)."""
    from benchmarks.bench_extract import _images
    from wekawbc.cells.dataset import load_dataset, read_image
    from wekawbc.cells.validation import truth_boxes

    root = Path(os.environ.get("WEKAWBC_DATASETS", _DATASETS))
    images = []
    for lab, count, kind in CHECK:
        if lab == "pbc":
            os.environ["WEKAWBC_BENCH_IMAGES"] = str(count)
            images += [(lab, read_image(path), "crop") for path in _images()]
            continue
        records = [r for r in load_dataset(root / lab) if kind != "box" or truth_boxes(r)]
        for record in records[:: max(len(records) // count, 1)][:count]:
            rgb = read_image(record.image)
            if kind == "box":  # the leukocyte's box widened by a quarter on each side, as a crop
                x0, y0, x1, y1 = truth_boxes(record)[0]
                dx, dy = (x1 - x0) // 4, (y1 - y0) // 4
                rgb = np.ascontiguousarray(rgb[max(y0 - dy, 0):y1 + dy, max(x0 - dx, 0):x1 + dx])
            images.append((lab, rgb, "field" if kind == "field" else "crop"))
    return images


def _check(out: str) -> None:
    """Masks, scale and values of every cell :func:`extract_features` finds in the check's images."""
    from wekawbc.features.extract import extract_features
    from wekawbc.features.registry import feature_names

    labs, masks, scales, rows = [], [], [], []
    for lab, rgb, mode in _check_images():
        cells = extract_features(rgb, mode=mode)
        if not cells:  # no leukocyte found: recorded as such
            labs.append(lab)
            masks.append("none")
            scales.append(np.nan)
            rows.append(np.full(len(feature_names()), np.nan))
        for cell in cells:
            labs.append(lab)
            masks.append(hashlib.sha256(np.packbits(np.stack([cell.segmentation.nucleus_mask,
                                                              cell.segmentation.cell_mask])).tobytes()).hexdigest())
            scales.append(cell.scale.um_per_pixel)
            rows.append(np.array(list(cell.values.values()), np.float64))
    np.savez(out, labs=np.array(labs), masks=np.array(masks), scales=np.array(scales), rows=np.array(rows))


def _compare(base: np.lib.npyio.NpzFile, now: np.lib.npyio.NpzFile, keep: np.ndarray | slice = slice(None)) -> dict:
    """Same masks, scales and missing values, and the largest relative difference of the values."""
    old, new = base["rows"][keep], now["rows"][keep]
    differences = np.abs(new - old) / np.maximum(np.abs(old), 1e-300)
    return {"same_masks": bool(np.array_equal(base["masks"][keep], now["masks"][keep])),
            "same_scales": bool(np.array_equal(base["scales"][keep], now["scales"][keep], equal_nan=True)),
            "same_missing_values": bool(np.array_equal(np.isnan(old), np.isnan(new))),
            "max_relative_difference": float(np.nanmax(differences)) if np.isfinite(differences).any() else 0.0}


def _run(tree: Path, out: Path, mode: str = "--worker") -> None:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               WEKAWBC_BENCH_IMAGES=os.environ.get("WEKAWBC_BENCH_IMAGES", "100"),
               WEKAWBC_DATASETS=os.environ.get("WEKAWBC_DATASETS", str(_DATASETS)))
    # Run as a script from the tree measured: its ``wekawbc`` and ``benchmarks`` come first on the path.
    subprocess.run([sys.executable, str(Path(__file__).resolve()), mode, str(out)], cwd=tree, env=env, check=True)


def main() -> str:
    here = Path(__file__).resolve().parents[1]
    # Imported here: the worker runs this file with the measured tree's ``benchmarks`` first on the path.
    from benchmarks import _base

    base_tree, base_commit = _base.base_tree()
    load = os.getloadavg()[0]
    timings: dict[str, list[np.ndarray]] = {"base": [], "now": []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(ROUNDS):
            for name, tree in (("base", base_tree), ("now", here)):
                out = Path(folder) / f"{name}.npz"
                _run(tree, out)
                timings[name].append(np.load(out)["ms"])
        base, now = np.load(Path(folder) / "base.npz"), np.load(Path(folder) / "now.npz")
        same_masks = bool(np.array_equal(base["masks"], now["masks"]))
        same_scales = bool(np.array_equal(base["scales"], now["scales"], equal_nan=True))
        old, new = base["rows"], now["rows"]
        same_nan = bool(np.array_equal(np.isnan(old), np.isnan(new)))
        relative = float(np.nanmax(np.abs(new - old) / np.maximum(np.abs(old), 1e-300)))
        cells = len(old)
        checks = {}
        for name, tree in (("base", base_tree), ("now", here)):
            _run(tree, Path(folder) / f"check_{name}.npz", "--check")
        base, now = np.load(Path(folder) / "check_base.npz"), np.load(Path(folder) / "check_now.npz")
        if not np.array_equal(base["labs"], now["labs"]):
            raise AssertionError("the two codes found different numbers of cells in the check's images")
        checks["all"] = dict(_compare(base, now), cells=len(base["labs"]))
        for lab in dict.fromkeys(base["labs"].tolist()):
            checks[lab] = dict(_compare(base, now, base["labs"] == lab), cells=int(np.sum(base["labs"] == lab)))
    best = {name: np.min(np.array(values), axis=0) for name, values in timings.items()}
    result = {"base_commit": base_commit, "cells": cells, "rounds": ROUNDS, "load_average_at_start": round(load, 1),
              "ms_per_cell_cpu": {name: dict(zip(PARTS, np.round(values, 3).tolist())) for name, values in best.items()},
              "same_masks": same_masks, "same_scales": same_scales, "same_missing_values": same_nan,
              "max_relative_difference": relative, "check": checks}
    lines = ["## Extraction by part, base commit vs now (bench_extract_parts)", "",
             f"Command: `WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks extract_parts` (base {base_commit}); "
             f"{cells} pbc crops, CPU ms per cell, best of {ROUNDS} alternating rounds, one process per round; "
             f"{platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} at the start.", "",
             "| part | base | now | speed-up |", "|---|---:|---:|---:|"]
    for index, part in enumerate(PARTS):
        lines.append(f"| {part} | {best['base'][index]:.2f} | {best['now'][index]:.2f} "
                     f"| {best['base'][index] / best['now'][index]:.2f}× |")
    lines += ["", f"Same masks: {same_masks}; same scales: {same_scales}; same missing values: {same_nan}; largest "
              f"relative difference of the {old.shape[1]} values on any crop: {relative:.1e}.", "",
              "Check on the three labs (`extract_features` on every image of `CHECK`: pbc crops, jtsc crops, bccd "
              "crops around the leukocyte's box, bccd fields in field mode; one row per cell found):", "",
              "| lab | cells | same masks | same scales | same missing | largest relative difference |",
              "|---|---:|---|---|---|---:|"]
    for lab, check in checks.items():
        lines.append(f"| {lab} | {check['cells']} | {check['same_masks']} | {check['same_scales']} "
                     f"| {check['same_missing_values']} | {check['max_relative_difference']:.1e} |")
    lines += ["", "```json", json.dumps(result, indent=1), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2])
    elif sys.argv[1:2] == ["--check"]:
        _check(sys.argv[2])
    else:
        print(main())

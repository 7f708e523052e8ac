"""CPU ms per cell of the i18feat5 part of extraction, base commit vs this tree, in one process.

The part: ``compute_features`` without its lobe and granule calls (``assess_lobes`` and ``granule_measures``
return results computed beforehand, in both codes alike), and ``read_image``. The base code is the base
commit's ``wekawbc/features/compute.py`` and ``wekawbc/cells/dataset.py`` (``git show``), loaded beside this
tree's; the two run alternately, ``--rounds`` times, best round kept (``time.process_time``). Inputs: the
extract benchmark's 200 pbc crops (``benchmarks.bench_extract._images``), each cell's window, masks, scale
and plasma colour as ``extract_features`` passes them. Also checks that all 249 values are identical on those
crops and on 60 jtsc and 60 bccd images.

Run: ``WEKAWBC_DATASETS=../shared/datasets PYTHONPATH=$PWD python3 docs/results/i18feat5/bench_my_part.py
--base 30d4b20 --out docs/results/i18feat5/my_part.json``, in a tree of the commit that made it (87dbf4e): the
base ``compute.py`` imports kernels that later commits removed once nothing used them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def _module(name: str, source: str, folder: Path):
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _inputs(paths):
    from wekawbc.cells.dataset import read_image
    from wekawbc.cells.scale import estimate_scale
    from wekawbc.cells.segmentation import segment_cell
    from wekawbc.cells.stain import background_colour

    cases = []
    for path in paths:
        rgb = read_image(path)
        cell = segment_cell(rgb)
        if not cell.found:
            continue
        scale = estimate_scale(rgb, cell.cell_mask)
        background, _ = background_colour(rgb, cell.cell_mask)
        x0, y0, x1, y1 = cell.box
        window = (slice(max(y0 - 2, 0), y1 + 2), slice(max(x0 - 2, 0), x1 + 2))  # extract._measure's
        cases.append((rgb[window], cell.nucleus_mask[window], cell.cell_mask[window],
                      scale.um_per_pixel if scale.known else None, background))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="30d4b20")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    from benchmarks.bench_extract import _images
    from wekawbc.cells import dataset as new_dataset
    from wekawbc.cells.dataset import load_dataset
    from wekawbc.cells.granules import granule_measures
    from wekawbc.cells.lobes import assess_lobes
    from wekawbc.features import compute as new

    root = Path(os.environ.get("WEKAWBC_DATASETS", "../shared/datasets"))
    with tempfile.TemporaryDirectory() as folder:
        show = lambda path: subprocess.run(["git", "show", f"{args.base}:{path}"], check=True, capture_output=True,  # noqa: E731
                                           text=True).stdout
        old = _module("base_compute", show("wekawbc/features/compute.py"), Path(folder))
        old_dataset = _module("base_dataset", show("wekawbc/cells/dataset.py"), Path(folder))
    paths = list(_images())
    pbc = _inputs(paths)
    others = []
    for lab in ("jtsc", "bccd"):
        records = list(load_dataset(root / lab))
        others += _inputs([r.image for r in records[::max(1, len(records) // 60)][:60]])
    # The values: identical on every cell?
    differing, cells = 0, 0
    for rgb, nucleus, cell, um, background in pbc + others:
        a = old.compute_features(rgb, nucleus, cell, um_per_pixel=um, background=background)
        b = new.compute_features(rgb, nucleus, cell, um_per_pixel=um, background=background)
        cells += 1
        differing += not np.array_equal(a, b, equal_nan=True)
    # The timing: lobes and granules answered from a cache in both codes.
    granules = [granule_measures(rgb, n & c, c, bg) for rgb, n, c, _, bg in pbc]
    lobes = [assess_lobes(n & c, rgb, g, cell_mask=c) for (rgb, n, c, _, _), g in zip(pbc, granules)]
    at = [0]
    for module in (old, new):
        module.granule_measures = lambda *a, **k: granules[at[0]]
        module.assess_lobes = lambda *a, **k: lobes[at[0]]

    def features(module):
        for index, (rgb, nucleus, cell, um, background) in enumerate(pbc):
            at[0] = index
            module.compute_features(rgb, nucleus, cell, um_per_pixel=um, background=background)

    def reading(module):
        for path in paths:
            module.read_image(path)

    same_pixels = all(np.array_equal(old_dataset.read_image(p), new_dataset.read_image(p)) for p in paths)
    best = {key: float("inf") for key in ("features_base", "features_now", "read_base", "read_now")}
    for _ in range(args.rounds):
        for key, run, module, count in (("features_base", features, old, len(pbc)),
                                        ("features_now", features, new, len(pbc)),
                                        ("read_base", reading, old_dataset, len(paths)),
                                        ("read_now", reading, new_dataset, len(paths))):
            start = time.process_time()
            run(module)
            best[key] = min(best[key], (time.process_time() - start) / count * 1000)
    result = {
        "base_commit": args.base,
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "rounds": args.rounds, "cells_timed": len(pbc),
        "cpu_ms_per_cell": {key: round(value, 4) for key, value in best.items()},
        "saved_ms_per_cell": {"features": round(best["features_base"] - best["features_now"], 4),
                              "read": round(best["read_base"] - best["read_now"], 4)},
        "values_checked_cells": cells, "values_cells_not_identical": differing,
        "read_image_identical_pixels": same_pixels,
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())

"""Are the features unchanged, base commit vs now, on crops of the three labs?

Every feature of ``extract_features(rgb, mode="crop")`` on 200 pbc crops (40 per class), every jtsc
crop and 50 bccd crops (each field cut around its one labelled WBC box widened by 30 %, as
``benchmarks/bccd_crops.py`` cuts them), computed by the base tree (``WEKAWBC_BASE_TREE``, default
``/tmp/base``; ``WEKAWBC_BASE_COMMIT`` names it when it is an exported copy) and by this tree, each in
its own process. Reports, per lab, whether the same crops gave a cell, the same missing values, the
largest relative difference of any value and whether the lobe counts and lobe-model probabilities
are identical. Run: ``WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks extract_values``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

LABS = (("pbc", 200), ("jtsc", None), ("bccd", 50))
EXACT = ("Nucleus_Lobes_Count", "Nucleus_Lobes_Probability")


def _root() -> Path:
    return Path(os.environ.get("WEKAWBC_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))


def _crops(lab: str, count: int | None) -> list[np.ndarray]:
    """The lab's crops as RGB arrays (pbc: ``count // 5`` per class, every n-th; bccd: the first
    ``count`` single-box fields, cut around the box)."""
    from wekawbc.cells.dataset import CLASSES, load_dataset, read_image

    root = _root() / lab
    if lab == "bccd":
        crops = []
        with open(root / "labels.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                if not row["label"] or row["n_wbc_boxes"] != "1":
                    continue
                x0, y0, x1, y1 = map(int, row["wbc_boxes_xyxy"].split(","))
                field = read_image(root / "images" / row["image"])
                width, height = x1 - x0, y1 - y0
                left, top = max(int(x0 - 0.3 * width), 0), max(int(y0 - 0.3 * height), 0)
                right, bottom = min(int(x1 + 0.3 * width), field.shape[1]), min(int(y1 + 0.3 * height), field.shape[0])
                crops.append(np.ascontiguousarray(field[top:bottom, left:right]))
                if len(crops) == count:
                    break
        return crops
    records = list(load_dataset(root))
    if count is not None:
        per_class = count // len(CLASSES)
        records = [r for name in CLASSES for r in [r for r in records if r.label == name][:: 700 // per_class][:per_class]]
    return [read_image(record.image) for record in records]


def _worker(out: str) -> None:
    """Every crop's feature row (NaN rows where no cell was found) with the ``wekawbc`` first on the path."""
    import cv2

    from wekawbc.features.extract import extract_features
    from wekawbc.features.registry import feature_names

    cv2.setNumThreads(1)
    names = feature_names()
    rows = {}
    for lab, count in LABS:
        found = []
        for rgb in _crops(lab, count):
            cells = extract_features(rgb, mode="crop")
            found.append([cells[0].values[name] for name in names] if cells else [np.nan] * len(names))
        rows[lab] = np.array(found, float)
    np.savez(out, names=np.array(names), **rows)


def _run(tree: Path, out: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # Run as a script from the tree measured: its ``wekawbc`` and ``benchmarks`` come first on the path.
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(out)], cwd=tree, env=env, check=True)


def compare(old: np.ndarray, new: np.ndarray, names: list[str]) -> dict:
    """Same shape and missing values, largest relative difference, and the :data:`EXACT` columns identical."""
    same_nan = old.shape == new.shape and bool(np.array_equal(np.isnan(old), np.isnan(new)))
    both = np.isfinite(old) & np.isfinite(new) if same_nan else np.zeros(old.shape, bool)
    relative = float(np.max(np.abs(new[both] - old[both]) / np.maximum(np.abs(old[both]), 1e-300), initial=0.0))
    exact = {name: same_nan and bool(np.array_equal(old[:, names.index(name)], new[:, names.index(name)],
                                                    equal_nan=True)) for name in EXACT}
    return {"crops": int(old.shape[0]), "cells": int(np.isfinite(new).any(axis=1).sum()), "same_missing_values": same_nan,
            "max_relative_difference": relative, "identical": exact}


def main() -> str:
    here = Path(__file__).resolve().parents[1]
    # Imported here: the worker runs this file with the measured tree's ``benchmarks`` first on the path.
    from benchmarks import _base

    base_tree, base_commit = _base.base_tree()
    with tempfile.TemporaryDirectory() as folder:
        for name, tree in (("base", base_tree), ("now", here)):
            _run(tree, Path(folder) / f"{name}.npz")
        base, now = np.load(Path(folder) / "base.npz"), np.load(Path(folder) / "now.npz")
        names = now["names"].tolist()
        result = {lab: compare(base[lab], now[lab], names) for lab, _ in LABS}
    lines = ["## Feature values, base commit vs now (bench_extract_values)", "",
             f"Command: `WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks extract_values` (base {base_commit}); "
             f"all {len(names)} features of `extract_features(rgb, mode=\"crop\")`.", "",
             "| lab | crops | cells | same missing values | largest relative difference | "
             + " | ".join(f"{name} identical" for name in EXACT) + " |", "|---|---:|---:|---|---:|" + "---|" * len(EXACT)]
    for lab, found in result.items():
        lines.append(f"| {lab} | {found['crops']} | {found['cells']} | {found['same_missing_values']} "
                     f"| {found['max_relative_difference']:.1e} | "
                     + " | ".join(str(found["identical"][name]) for name in EXACT) + " |")
    lines += ["", "```json", json.dumps({"base_commit": base_commit, "labs": result}, indent=1), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2])
    else:
        print(main())

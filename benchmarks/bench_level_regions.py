"""The lobe model's level regions alone, base kernel vs now, in one process: CPU µs per call and identical outputs.

``level_regions`` (:mod:`wekawbc.features._kernels`) cuts each inscribed-radius map of ``shape_inputs`` (the nucleus
and its two chromatin cores at the shape scale: three maps per cell) at every level of the lobe model. The maps are
those ``shape_inputs`` makes on the cells of ``bench_lobes`` (pbc crops of ``bench_extract_values``), recorded as it
calls the kernel. The base kernel is the ``wekawbc/features/_kernels.py`` of another tree (``WEKAWBC_BASE_TREE``,
default ``/tmp/base``; ``WEKAWBC_BASE_COMMIT`` names it); on every map both give the same counts, lobes and second
peaks, compared exactly. Timed alternating base and now :data:`ROUNDS` times, best round kept, in CPU seconds of the
process. Run: ``WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks level_regions``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Callable

import numpy as np

from benchmarks import _base

ROUNDS = 5


def _maps(cells: list[tuple]) -> list[tuple]:
    """The arguments of every ``level_regions`` call of ``shape_inputs`` on the cells."""
    import wekawbc.cells.lobes as lobes

    found: list[tuple] = []
    kernel = lobes.level_regions

    def record(*arguments: object) -> tuple:
        found.append(arguments)
        return kernel(*arguments)

    lobes.level_regions = record  # type: ignore[assignment]
    try:
        for rgb, nucleus, cell, _, _ in cells:
            lobes.shape_inputs(nucleus, rgb, cell)
    finally:
        lobes.level_regions = kernel
    return found


def _seconds(kernel: Callable, maps: list[tuple]) -> float:
    start = time.process_time()
    for arguments in maps:
        kernel(*arguments)
    return time.process_time() - start


def main() -> str:
    import cv2

    from benchmarks.bench_extract_values import _crops
    from benchmarks.bench_lobes import _cells
    from wekawbc.features._kernels import level_regions

    cv2.setNumThreads(1)
    base_tree, base_commit = _base.base_tree()
    base = _base.load_module("base_feature_kernels", base_tree / "wekawbc" / "features" / "_kernels.py").level_regions
    cells = _cells(_crops("pbc", 200))
    maps = _maps(cells)
    differ = sum(not all(np.array_equal(old, new) for old, new in zip(base(*arguments), level_regions(*arguments)))
                 for arguments in maps)
    best = {"base": float("inf"), "now": float("inf")}
    for _ in range(ROUNDS):
        for name, kernel in (("base", base), ("now", level_regions)):
            best[name] = min(best[name], _seconds(kernel, maps))
    per_call = {name: seconds / len(maps) * 1e6 for name, seconds in best.items()}
    per_cell = {name: seconds / len(cells) * 1e3 for name, seconds in best.items()}
    load = os.getloadavg()[0]
    return "\n".join([
        "## Level regions of the lobe model, base kernel vs now (bench_level_regions)", "",
        f"Command: `WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks level_regions` (base {base_commit}); "
        f"{len(maps)} maps of {len(cells)} pbc cells, best of {ROUNDS} alternating rounds in one process; "
        f"{platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} at the end.", "",
        "| | base | now | speed-up |", "|---|---:|---:|---:|",
        f"| CPU µs per call | {per_call['base']:.1f} | {per_call['now']:.1f} | {best['base'] / best['now']:.2f}× |",
        f"| CPU ms per cell | {per_cell['base']:.3f} | {per_cell['now']:.3f} | |", "",
        f"Maps on which the counts, lobes or second peaks differ: {differ} of {len(maps)}.", "",
        "```json", json.dumps({"base_commit": base_commit, "rounds": ROUNDS, "cells": len(cells), "maps": len(maps),
                               "us_per_call": per_call, "ms_per_cell": per_cell, "maps_differing": differ,
                               "load_average": load}, indent=1), "```", ""])


if __name__ == "__main__":
    print(main())

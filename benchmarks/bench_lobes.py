"""The lobe and granule measures alone, base code vs now, in one process: CPU ms per cell and identical outputs.

The cells are those ``extract_features(rgb, mode="crop")`` measures (its ``compute_features`` inputs recorded: the
cell's window, nucleus and cell masks, plasma colour) on the crops of ``bench_extract_values`` (200 pbc crops,
40 per class; every jtsc crop; 50 bccd crops around their leukocyte box). The base code is the
``wekawbc/cells/lobes.py`` and ``granules.py`` of another tree (``WEKAWBC_BASE_TREE``, default ``/tmp/base``;
``WEKAWBC_BASE_COMMIT`` names it), loaded beside this tree's modules (the rest of ``wekawbc`` is this tree's). On
every cell the two give the same granule measures, lobe counts (``assess_lobes`` with the image and granules, with
the core forced on and off, and on the mask alone) and lobe-model inputs, compared exactly. Timed on the pbc cells,
as ``compute_features`` calls them (``granule_measures`` with the compartments' densities, then ``assess_lobes``,
whose lobe model runs ``shape_inputs``), alternating base and now :data:`ROUNDS` times, best round kept, in CPU
seconds of the process. Run: ``WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks lobes``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from types import ModuleType

import numpy as np

from benchmarks import _base

ROUNDS = 5


def _cells(crops: list[np.ndarray]) -> list[tuple]:
    """The inputs ``extract_features`` gives ``compute_features`` for each crop's cell, with the compartments'
    optical densities as ``compute_features`` passes them to ``granule_measures``."""
    import wekawbc.features.extract as extract
    from wekawbc.cells.granules import compartment_densities

    found: list[tuple] = []
    measure = extract.compute_features

    def record(rgb: np.ndarray, nucleus: np.ndarray, cell: np.ndarray, **options: object) -> np.ndarray:
        found.append((rgb, nucleus & cell, cell, options.get("background")))
        return measure(rgb, nucleus, cell, **options)

    extract.compute_features = record  # type: ignore[assignment]
    try:
        for rgb in crops:
            extract.extract_features(rgb, mode="crop")
    finally:
        extract.compute_features = measure
    cells = []
    for rgb, nucleus, cell, background in found:
        densities = None if background is None else {
            name: compartment_densities(rgb, mask, background)[1]
            for name, mask in (("Nucleus", nucleus), ("Cytoplasm", cell & ~nucleus))}
        cells.append((rgb, nucleus, cell, background, densities))
    return cells


def _same(a: object, b: object) -> bool:
    first, second = np.asarray(a, float), np.asarray(b, float)
    return first.shape == second.shape and bool(np.array_equal(first, second, equal_nan=True))


def _differences(cells: list[tuple], old: tuple[ModuleType, ModuleType], new: tuple[ModuleType, ModuleType]) -> int:
    """The cells on which any granule measure, lobe count or lobe-model input differs."""
    (old_granules, old_lobes), (new_granules, new_lobes) = old, new
    differ = 0
    for rgb, nucleus, cell, background, densities in cells:
        granules = old_granules.granule_measures(rgb, nucleus, cell, background, densities=densities)
        other = new_granules.granule_measures(rgb, nucleus, cell, background, densities=densities)
        same = list(granules) == list(other) and _same(list(granules.values()), list(other.values()))
        for options in ({"rgb": rgb, "granules": granules, "cell_mask": cell},
                        {"rgb": rgb, "granules": granules, "cell_mask": cell, "core": True},
                        {"rgb": rgb, "granules": granules, "cell_mask": cell, "core": False}, {}):
            counts = [module.assess_lobes(nucleus, **options) for module in (old_lobes, new_lobes)]
            fields = [(c.count, c.confidence, c.reason, c.touches_border, c.core, c.parts) for c in counts]
            same = same and fields[0] == fields[1] and _same(counts[0].probability, counts[1].probability)
        same = same and _same(old_lobes.lobe_model_inputs(nucleus, rgb, granules, cell),
                              new_lobes.lobe_model_inputs(nucleus, rgb, granules, cell))
        differ += not same
    return differ


def _times(cells: list[tuple], modules: tuple[ModuleType, ModuleType]) -> dict[str, float]:
    """CPU ms per cell: the granule measures, then the lobes (``assess_lobes`` given them), as compute_features runs them."""
    granules_module, lobes_module = modules
    start = time.process_time()
    granules = [granules_module.granule_measures(rgb, nucleus, cell, background, densities=densities)
                for rgb, nucleus, cell, background, densities in cells]
    middle = time.process_time()
    for (rgb, nucleus, cell, _, _), measures in zip(cells, granules):
        lobes_module.assess_lobes(nucleus, rgb, measures, cell_mask=cell)
    end = time.process_time()
    return {"granule_measures": (middle - start) / len(cells) * 1e3, "assess_lobes": (end - middle) / len(cells) * 1e3}


def main() -> str:
    import cv2

    from benchmarks.bench_extract_values import LABS, _crops

    cv2.setNumThreads(1)
    base_tree, base_commit = _base.base_tree()
    import wekawbc.cells.granules as new_granules
    import wekawbc.cells.lobes as new_lobes

    old = (_base.load_module("base_granules", base_tree / "wekawbc" / "cells" / "granules.py"),
           _base.load_module("base_lobes", base_tree / "wekawbc" / "cells" / "lobes.py"))
    new = (new_granules, new_lobes)
    labs = {lab: _cells(_crops(lab, count)) for lab, count in LABS}
    differences = {lab: _differences(cells, old, new) for lab, cells in labs.items()}
    timed = labs["pbc"]
    for modules in (old, new):
        _times(timed[:5], modules)  # first-call costs out of the timings
    best: dict[str, dict[str, float]] = {"base": {}, "now": {}}
    for _ in range(ROUNDS):
        for name, modules in (("base", old), ("now", new)):
            for part, value in _times(timed, modules).items():
                best[name][part] = min(best[name].get(part, float("inf")), value)
    for name in best:
        best[name]["both"] = best[name]["granule_measures"] + best[name]["assess_lobes"]
    load = os.getloadavg()[0]
    lines = ["## Lobe and granule measures, base code vs now (bench_lobes)", "",
             f"Command: `WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks lobes` (base {base_commit}); "
             f"{len(timed)} pbc cells, CPU ms per cell, best of {ROUNDS} alternating rounds in one process; "
             f"{platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} at the end.", "",
             "| part | base | now | saved | speed-up |", "|---|---:|---:|---:|---:|"]
    for part in ("granule_measures", "assess_lobes", "both"):
        before, after = best["base"][part], best["now"][part]
        lines.append(f"| {part} | {before:.3f} | {after:.3f} | {before - after:.3f} | {before / after:.2f}× |")
    lines += ["", "Cells on which any granule measure, lobe count, lobe probability or lobe-model input differs: "
              + ", ".join(f"{lab} {differences[lab]} of {len(cells)}" for lab, cells in labs.items()) + ".", "",
              "```json", json.dumps({"base_commit": base_commit, "rounds": ROUNDS, "cells_timed": len(timed),
                                     "ms_per_cell": best, "load_average": load,
                                     "cells_compared": {lab: len(cells) for lab, cells in labs.items()},
                                     "cells_differing": differences}, indent=1), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())

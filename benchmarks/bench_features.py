"""The feature functions alone, base commit vs now, on the same masks: time and the largest difference.

60 pbc crops (12 per class) are segmented once (current code); both ``compute_features`` then run
on the same window, masks, scale and plasma colour, interleaved over 5 rounds (best round kept), in
CPU seconds of this process. The base code is a tree of commit 2247b90 made with
``git archive 2247b90 | tar -x -C /tmp/base``; ``WEKAWBC_BASE_TREE`` names it (default
``/tmp/base``). Run: ``python3 -m benchmarks features``.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from benchmarks import _base

ROUNDS = 5


def _inputs() -> list[tuple]:
    import cv2

    from benchmarks.bench_extract import _images
    from wekawbc.cells.dataset import read_image
    from wekawbc.cells.scale import estimate_scale
    from wekawbc.cells.segmentation import segment_cell
    from wekawbc.cells.stain import background_colour

    cv2.setNumThreads(1)
    os.environ.setdefault("WEKAWBC_BENCH_IMAGES", "60")
    items = []
    for path in _images():
        rgb = read_image(path)
        cell = segment_cell(rgb)
        if not cell.found:
            continue
        scale = estimate_scale(rgb, cell.cell_mask)
        background, _ = background_colour(rgb, cell.cell_mask)
        x0, y0, x1, y1 = cell.box
        window = (slice(max(y0 - 2, 0), y1 + 2), slice(max(x0 - 2, 0), x1 + 2))
        items.append((np.ascontiguousarray(rgb[window]), cell.nucleus_mask[window].copy(),
                      cell.cell_mask[window].copy(), scale.um_per_pixel if scale.known else None, background))
    return items


def _cpu_ms(function, items) -> float:
    started = time.process_time()
    for rgb, nucleus, cell, um, background in items:
        function(rgb, nucleus, cell, um_per_pixel=um, background=background)
    return 1000 * (time.process_time() - started) / len(items)


def main() -> str:
    from wekawbc.features.compute import compute_features
    from wekawbc.features.registry import feature_names

    base_tree, _ = _base.base_tree()
    base = _base.load_module("base_compute", base_tree / "wekawbc" / "features" / "compute.py")
    items = _inputs()
    load = os.getloadavg()[0]
    worst, worst_name = 0.0, "-"
    for rgb, nucleus, cell, um, background in items:
        new = compute_features(rgb, nucleus, cell, um_per_pixel=um, background=background)
        old = base.compute_features(rgb, nucleus, cell, um_per_pixel=um, background=background)
        assert (np.isnan(new) == np.isnan(old)).all()
        relative = np.where(np.isnan(old), 0.0, np.abs(new - old) / np.maximum(np.abs(old), 1e-300))
        if relative.max() > worst:
            worst, worst_name = float(relative.max()), feature_names()[int(relative.argmax())]
    rounds = [(_cpu_ms(base.compute_features, items), _cpu_ms(compute_features, items)) for _ in range(ROUNDS)]
    old_ms, new_ms = min(r[0] for r in rounds), min(r[1] for r in rounds)
    return "\n".join([
        "## Feature functions alone, base commit vs now (bench_features)",
        "",
        f"Command: `git archive 2247b90 | tar -x -C /tmp/base; python3 -m benchmarks features`. {len(items)} pbc "
        f"crops, the same windows, masks, scales and plasma colours for both; best of {ROUNDS} interleaved rounds, "
        f"CPU time of the process. Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} "
        "at the start (shared).",
        "",
        "| `compute_features` | ms per cell (CPU) | rounds |",
        "|---|---:|---|",
        f"| base commit 2247b90 | {old_ms:.2f} | {', '.join(f'{r[0]:.2f}' for r in rounds)} |",
        f"| now | {new_ms:.2f} | {', '.join(f'{r[1]:.2f}' for r in rounds)} |",
        "",
        f"Speed-up {old_ms / new_ms:.2f}×; largest relative difference of any of the {len(feature_names())} values "
        f"on any crop: {worst:.1e} ({worst_name}).",
        "",
    ])

"""Make ``tests/data/feature_reference.npz``: 20 pbc crops' masks and the features the base code computed on them.

The file pins the feature *functions*: each crop's nucleus and cell masks, its scale and plasma
colour, and the 237 values ``compute_features`` gave at commit 2247b90 on exactly those inputs.
``tests/test_feature_reference.py`` feeds the same masks to the current ``compute_features``, so
the check survives any change of the segmentation. Made with the base commit's code:

    git archive 2247b90 | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base python3 tests/data/make_feature_reference.py ../shared/datasets/pbc tests/data/feature_reference.npz
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

PER_CLASS = 4
PAD = 2


def main(pbc: Path, out: Path) -> None:
    from wekawbc.cells.dataset import read_image
    from wekawbc.cells.scale import estimate_scale
    from wekawbc.cells.segmentation import segment_cell
    from wekawbc.cells.stain import background_colour
    from wekawbc.features.compute import compute_features
    from wekawbc.features.registry import feature_names
    import wekawbc

    index = pd.read_csv(pbc / "labels.csv")
    chosen = [path for _, group in index.groupby("label", sort=True)
              for path in group["image"].tolist()[::len(group) // PER_CLASS][:PER_CLASS]]
    arrays: dict[str, np.ndarray] = {}
    names, values, scales, backgrounds, windows = [], [], [], [], []
    for number, name in enumerate(chosen):
        rgb = read_image(pbc / name)
        cell = segment_cell(rgb)
        x0, y0, x1, y1 = cell.box
        window = (max(y0 - PAD, 0), y1 + PAD, max(x0 - PAD, 0), x1 + PAD)
        scale = estimate_scale(rgb, cell.cell_mask)
        background, _ = background_colour(rgb, cell.cell_mask)
        um = scale.um_per_pixel if scale.known else np.nan
        rows, cols = slice(window[0], window[1]), slice(window[2], window[3])
        nucleus, whole = cell.nucleus_mask[rows, cols], cell.cell_mask[rows, cols]
        values.append(compute_features(rgb[rows, cols], nucleus, whole, um_per_pixel=None if np.isnan(um) else um,
                                       background=background))
        arrays[f"nucleus_{number}"] = np.packbits(nucleus)
        arrays[f"cell_{number}"] = np.packbits(whole)
        names.append(name)
        scales.append(um)
        backgrounds.append(background)
        windows.append(window)
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(wekawbc.__file__).parent).stdout.strip() or "2247b90 (git archive)"
    np.savez_compressed(out, images=np.array(names), windows=np.array(windows), um_per_pixel=np.array(scales),
                        background=np.array(backgrounds), values=np.array(values),
                        feature_names=np.array(feature_names()), made_by=np.array(revision), **arrays)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

"""One line per image of the three labs: segmentation masks (hash), scale and plasma colour, for comparing two codes.

Run from the tree whose ``wekawbc`` is to be read, e.g. a detached tree of the base commit:
``cd /tmp/base && PYTHONPATH=$PWD python3 /path/to/benchmarks/dump_cells.py base.txt``, the same with
the current tree, then ``cmp base.txt now.txt``. Each line: image name, MD5 of the packed nucleus
and cell masks of ``segment_cell``, ``estimate_scale``'s µm per pixel (repr) and red-cell count, and
``background_colour``'s RGB. Data from ``$WEKAWBC_DATASETS`` or ``../shared/datasets``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from wekawbc.cells.dataset import load_dataset, read_image
from wekawbc.cells.scale import estimate_scale
from wekawbc.cells.segmentation import segment_cell
from wekawbc.cells.stain import background_colour


def main(out: str) -> None:
    cv2.setNumThreads(1)
    root = Path(os.environ.get("WEKAWBC_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    with open(out, "w") as lines:
        for name in ("jtsc", "bccd", "pbc"):
            for record in load_dataset(root / name):
                rgb = read_image(record.image)
                cell = segment_cell(rgb)
                masks = hashlib.md5(np.packbits(np.stack([cell.nucleus_mask, cell.cell_mask])).tobytes()).hexdigest()
                scale = estimate_scale(rgb, cell.cell_mask)
                background, _ = background_colour(rgb, cell.cell_mask)
                lines.write(f"{record.image.name} {masks} {scale.um_per_pixel!r} {scale.red_cells} "
                            f"{background.tolist()}\n")


if __name__ == "__main__":
    main(sys.argv[1])

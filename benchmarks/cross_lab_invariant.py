"""The stain- and scale-invariant features (:mod:`wekawbc.features.invariant`) of every image of an
extraction table, written beside it for :mod:`benchmarks.cross_lab`.

    python -m benchmarks.cross_lab_invariant FEATURE_DIR LAB [LAB ...]

Reads ``FEATURE_DIR/LAB_none.csv`` (``wekawbc extract --csv --stain none --mode crop``), segments
each of its images again as ``extract`` does (crop mode), and writes ``FEATURE_DIR/LAB_invariant.csv``:
the ``image`` column and one column per :data:`~wekawbc.features.invariant.INVARIANT_FEATURES`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def invariant_table(images: list[str]) -> pd.DataFrame:
    """One row of invariant features per image (NaN where no cell is found)."""
    from wekawbc._progress import progress_bar
    from wekawbc.cells.dataset import read_image
    from wekawbc.cells.segmentation import segment_cell
    from wekawbc.cells.stain import background_colour
    from wekawbc.features.invariant import INVARIANT_FEATURES, invariant_features

    rows = []
    for image in progress_bar(images, desc="invariant features", unit="image"):
        rgb = read_image(Path(image))
        cell = segment_cell(rgb)
        row = dict.fromkeys(INVARIANT_FEATURES, float("nan"))
        if cell.found:
            background, _ = background_colour(rgb, cell.cell_mask)
            x0, y0, x1, y1 = cell.box
            window = (slice(max(y0 - 2, 0), y1 + 2), slice(max(x0 - 2, 0), x1 + 2))
            row = invariant_features(rgb[window], cell.nucleus_mask[window], cell.cell_mask[window], background)
        rows.append({"image": image, **row})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", type=Path)
    parser.add_argument("labs", nargs="+", help="LAB (its LAB_none.csv lists the images) or LAB=DATASET_DIR "
                                                "(the data set's labelled images, as extract names them)")
    args = parser.parse_args(argv)
    for lab in args.labs:
        if "=" in lab:
            from wekawbc.cells.dataset import load_dataset

            lab, folder = lab.split("=", 1)
            images = [str(r.image) for r in load_dataset(folder) if r.label]
        else:
            images = pd.read_csv(args.features / f"{lab}_none.csv", usecols=["image"])["image"].tolist()
        table = invariant_table(images)
        temporary = args.features / f".{lab}_invariant.csv.tmp"
        table.to_csv(temporary, index=False)
        temporary.replace(args.features / f"{lab}_invariant.csv")
        print(f"{lab}: {len(table)} rows -> {args.features / f'{lab}_invariant.csv'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

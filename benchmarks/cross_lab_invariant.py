"""The stain- and scale-invariant features (:mod:`wekawbc.features.invariant`) of every image of an
extraction table, written beside it for :mod:`benchmarks.cross_lab`.

    python -m benchmarks.cross_lab_invariant FEATURE_DIR LAB [LAB ...]
    python -m benchmarks.cross_lab_invariant FEATURE_DIR LAB=DATASET_DIR --with-registry

Reads ``FEATURE_DIR/LAB_none.csv`` (``wekawbc extract --csv --stain none --mode crop``), segments
each of its images again as ``extract`` does (crop mode), and writes ``FEATURE_DIR/LAB_invariant.csv``:
the ``image`` column and one column per :data:`~wekawbc.features.invariant.INVARIANT_FEATURES`.
With ``LAB=DATASET_DIR --with-registry`` it reads the data set's labelled images instead and also
writes ``LAB_none.csv`` as ``extract --csv --mode crop`` would (one segmentation for both tables).
The invariant table also holds the speckle and red-cell features
(:data:`~wekawbc.features.invariant.REFERENCE_FEATURES`, measured on the whole image).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def _invariant(rgb, cell) -> dict[str, float]:
    from wekawbc.cells.stain import background_colour
    from wekawbc.features.invariant import invariant_features, reference_features

    background, _ = background_colour(rgb, cell.cell_mask)
    x0, y0, x1, y1 = cell.box
    window = (slice(max(y0 - 2, 0), y1 + 2), slice(max(x0 - 2, 0), x1 + 2))
    return {**invariant_features(rgb[window], cell.nucleus_mask[window], cell.cell_mask[window], background),
            **reference_features(rgb, cell.nucleus_mask, cell.cell_mask, background)}


def invariant_table(images: list[str]) -> pd.DataFrame:
    """One row of invariant features per image (NaN where no cell is found)."""
    from wekawbc._progress import progress_bar
    from wekawbc.cells.dataset import read_image
    from wekawbc.cells.segmentation import segment_cell
    from wekawbc.features.invariant import INVARIANT_FEATURES, REFERENCE_FEATURES

    rows = []
    for image in progress_bar(images, desc="invariant features", unit="image"):
        rgb = read_image(Path(image))
        cell = segment_cell(rgb)
        row = _invariant(rgb, cell) if cell.found else dict.fromkeys([*INVARIANT_FEATURES, *REFERENCE_FEATURES],
                                                                     float("nan"))
        rows.append({"image": image, **row})
    return pd.DataFrame(rows)


def table_rows(rgb, image: str, label: str | None) -> tuple[dict, dict] | None:
    """One image's row of the registry table (``extract --csv --mode crop`` columns) and of the invariant
    table, one segmentation for both; None when no cell is found."""
    from wekawbc.features.batch import SCALE_COLUMNS
    from wekawbc.features.extract import extract_features

    found = extract_features(rgb, mode="crop")
    if not found:
        return None
    cell = found[0]
    scale = cell.scale
    x0, y0, x1, y1 = cell.box
    registry = {"image": image, "cell": 0, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "confidence": cell.confidence,
                **cell.values, **dict(zip(SCALE_COLUMNS, (scale.um_per_pixel, scale.source, scale.note))),
                "class": label}
    return registry, {"image": image, **_invariant(rgb, cell.segmentation)}


def both_tables(records, stain: str = "none") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The registry table (``extract --csv --mode crop --stain STAIN`` columns) and the invariant table, one
    segmentation each, both on the image colour-normalised by ``stain`` (:func:`wekawbc.cells.stain.normalise_stain`)."""
    from wekawbc._progress import progress_bar
    from wekawbc.cells.dataset import read_image
    from wekawbc.cells.stain import normalise_stain

    registry, invariant = [], []
    for record in progress_bar(records, desc="features", unit="image"):
        rgb = normalise_stain(read_image(record.image), stain).rgb  # as extract_features(..., stain=stain) does
        rows = table_rows(rgb, str(record.image), record.label)
        if rows is not None:
            registry.append(rows[0])
            invariant.append(rows[1])
    return pd.DataFrame(registry), pd.DataFrame(invariant)


def _write(table: pd.DataFrame, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    table.to_csv(temporary, index=False)
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", type=Path)
    parser.add_argument("labs", nargs="+", help="LAB (its LAB_none.csv lists the images) or LAB=DATASET_DIR "
                                                "(the data set's labelled images, as extract names them)")
    parser.add_argument("--with-registry", action="store_true", help="also write LAB_none.csv (LAB=DATASET_DIR only)")
    parser.add_argument("--stain", default="none", help="with --with-registry: colour-normalise each image first "
                        "(wekawbc.cells.stain.normalise_stain); writes LAB_STAIN.csv and LAB_STAIN_invariant.csv")
    args = parser.parse_args(argv)
    args.features.mkdir(parents=True, exist_ok=True)
    for lab in args.labs:
        if "=" in lab:
            from wekawbc.cells.dataset import load_dataset

            lab, folder = lab.split("=", 1)
            records = [r for r in load_dataset(folder, allow_outside=True) if r.label]
            if args.with_registry:
                registry, table = both_tables(records, args.stain)
                _write(registry, args.features / f"{lab}_{args.stain}.csv")
            else:
                table = invariant_table([str(r.image) for r in records])
        else:
            table = invariant_table(pd.read_csv(args.features / f"{lab}_none.csv", usecols=["image"])["image"].tolist())
        name = "invariant.csv" if args.stain == "none" else f"{args.stain}_invariant.csv"
        _write(table, args.features / f"{lab}_{name}")
        print(f"{lab}: {len(table)} rows -> {args.features / f'{lab}_{name}'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

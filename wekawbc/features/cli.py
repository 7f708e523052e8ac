"""``wekawbc extract``: a data set of cell images to an ARFF (and CSV) Weka opens as is.

Exit status: 0 when every image gave at least one cell, 3 when some image failed, held no
leukocyte or an index row was unusable (the outputs hold everything else), 1 on an error that
stops the run (nothing written), 130 on interrupt (no partial ARFF: files are renamed into place
only when complete).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from wekawbc._io import WekawbcError, cannot_write
from wekawbc.cells.options import add_dataset_options, index_format

__all__ = ["register", "EXIT_SOME_FAILED"]

EXIT_SOME_FAILED = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``extract`` sub-command."""
    parser = subparsers.add_parser(
        "extract", help="find, segment and measure leukocytes; write ARFF/CSV for Weka",
        description="Find every leukocyte of each image, segment nucleus and cytoplasm, count lobes, measure "
                    "shape/colour/texture features and write them as ARFF (nominal class last) and CSV.")
    parser.add_argument("dataset", metavar="DATASET_DIR",
                        help="folder with labels.csv, an index CSV (index.csv), a folder with one sub-folder per "
                             "class, a folder of images, or one image")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.arff", help="ARFF file to write")
    parser.add_argument("--csv", metavar="OUT.csv", help="also write the table as CSV, with image path and cell box")
    parser.add_argument("--masks-out", metavar="DIR",
                        help="write one 8-bit PNG mask per image (0 background, 128 cytoplasm, 255 nucleus)")
    parser.add_argument("--overlays", metavar="DIR",
                        help="also draw each image with its detected boxes, cell and nucleus outlines and lobe counts "
                             "(DIR/images/, DIR/thumbs/) and a contact sheet per class (DIR/index.html)")
    parser.add_argument("--log", metavar="LOG.csv",
                        help="per-image log: image, status, cells, reason (default: OUT.arff with .log.csv)")
    parser.add_argument("--task", choices=("five", "binary"), default="five",
                        help="class values: the five types, or granulocyte/agranulocyte (default: five)")
    parser.add_argument("--mode", choices=("auto", "crop", "field"), default="auto",
                        help="crop: one leukocyte per image; field: find every leukocyte of a smear field; auto: "
                             "field for images at least 480 px on their longer side (default: auto)")
    parser.add_argument("--one-cell-per-image", action="store_true",
                        help="fields: only the largest, most central leukocyte (what a field labelled with one type "
                             "means); default: every leukocyte found, each row with its image, cell number and box")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes; -1: one per CPU (default: 1)")
    parser.add_argument("--pixel-size", type=float, metavar="UM",
                        help="µm per pixel of every image (default: estimated per image from its red cells, else "
                             "its leukocyte; the CSV records each cell's scale and its source)")
    parser.add_argument("--stain", choices=("none", "white-balance", "reinhard"), default="none",
                        help="colour normalisation before segmentation: white balance on the plasma, or that and "
                             "Reinhard in CIE Lab (default: none)")
    parser.add_argument("--relation", help="ARFF relation name (default: wekawbc-<folder>-<task>)")
    add_dataset_options(parser)
    parser.set_defaults(handler=_extract)


def _comments(args: argparse.Namespace, source: Path, counts: dict[str, int]) -> list[str]:
    from wekawbc.cells.detection import DetectionParams
    from wekawbc.cells.segmentation import SegmentationParams
    from wekawbc.provenance import command_line, library_versions

    versions = library_versions()
    lines = [
        f"Leukocyte features written by wekawbc {versions['wekawbc']}",
        f"source: {source.resolve()}",
        f"date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"command: {command_line()}",
        f"parameters: task={args.task} mode={args.mode} one_cell_per_image={args.one_cell_per_image} "
        f"pixel_size={args.pixel_size} stain={args.stain}",
        f"segmentation: {asdict(SegmentationParams())}",
        f"detection: {asdict(DetectionParams())}",
        "counts: " + " ".join(f"{key}={value}" for key, value in counts.items()),
        "versions: " + " ".join(f"{name}={version}" for name, version in versions.items()),
        "seed: none (the extraction is deterministic)",
    ]
    return lines


def _extract(args: argparse.Namespace) -> int:
    # Inputs first: a typo in a path or a label map is reported at once, before OpenCV and the rest load.
    source = Path(args.dataset)
    if not source.exists():
        raise WekawbcError(f"{source}: no such file or folder")
    index = index_format(args)

    from functools import partial

    from wekawbc._progress import progress_bar
    from wekawbc.cells.dataset import load_dataset
    from wekawbc.features.batch import worker_count
    from wekawbc.features.registry import feature_names
    from wekawbc.report.overlays import ExtractOverlays

    output = Path(args.output)
    if output.suffix.lower() != ".arff":
        raise WekawbcError(f"{output}: the output must end in .arff")
    worker_count(args.jobs)  # refused before any work
    if args.pixel_size is not None and not args.pixel_size > 0:
        raise WekawbcError(f"--pixel-size: must be a positive number of µm, got {args.pixel_size}")
    dataset = load_dataset(source, allow_outside=args.allow_outside, index=index)
    total = len(dataset)
    # Checked before the work; a folder that cannot be written is reported after the results are written.
    overlays = ExtractOverlays(args.overlays, args.masks_out) if args.overlays else None
    masks_out = overlays.masks_dir if overlays else args.masks_out
    named = source.resolve().parent if source.suffix.lower() == ".csv" else source.resolve()  # index.csv: its folder
    log = Path(args.log) if args.log else output.with_suffix(".log.csv")
    streamed = _stream(args, dataset, source, output, log, args.relation or f"wekawbc-{named.name}-{args.task}",
                       masks_out, partial(progress_bar, total=total, unit="image", desc="extract"), overlays is not None)
    counts = streamed.counts
    print(f"{counts['images']} images: {counts['ok']} ok, {counts['no cell']} without a leukocyte, "
          f"{counts['failed']} failed; {counts['cells']} cells, {len(feature_names())} features -> {output}"
          + (f", {args.csv}" if args.csv else "") + f"; log {log}")
    if overlays:
        with contextlib.closing(overlays):
            print(f"overlays: {overlays.write(dataset, streamed.result, args.task)}")
    return EXIT_SOME_FAILED if any(counts[status] for status in ("no cell", "failed")) else 0


_BLOCK = 256
"""Images whose rows are written to the ARFF, CSV and log at a time."""
_LOG_COLUMNS = ("image", "status", "cells", "reason")


@dataclass
class _Streamed:
    """What ``extract`` keeps of a streamed extraction: the counts, and for ``--overlays`` each cell's box
    and lobe count with every outcome (a :class:`~wekawbc.features.batch.BatchResult` of those columns)."""

    counts: dict[str, int]
    result: object = None


def _stream(args: argparse.Namespace, dataset, source: Path, output: Path, log: Path, relation: str,
            masks_out, progress, keep_overlay_cells: bool) -> _Streamed:
    """Extract ``dataset``, writing each block of images' rows as it comes to files in a hidden folder
    beside the ARFF; then write the ARFF (the comments, which hold the counts, then those rows), ``--csv``
    and the log from them. Holds no table; the same bytes as writing the whole table at once."""
    import tempfile
    from itertools import islice

    from wekawbc.arff import arff_rows, arff_writer, csv_writer, prepend_comments
    from wekawbc.arff.writer import frame_of_rows
    from wekawbc.cells.dataset import class_values
    from wekawbc.features.batch import BatchResult, iter_extract, table_columns
    from wekawbc.features.registry import feature_names
    from wekawbc.report.overlays import LOBES_FEATURE

    columns, names = table_columns(), feature_names()
    counts = {"images": 0, "ok": 0, "no cell": 0, "failed": 0, "cells": 0}
    reported, outcomes, cells = [], [], []
    results = iter_extract(dataset, task=args.task, mode=args.mode, jobs=args.jobs, masks_out=masks_out,
                           one_per_image=args.one_cell_per_image, pixel_size=args.pixel_size, stain=args.stain,
                           progress=progress)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        spooled = tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.")
    except OSError as error:
        raise cannot_write(output, error) from None
    with spooled as spool:
        # Rows go to files beside the ARFF as they come; the outputs are written from them at the end,
        # in the order (and with the errors) of writing the whole table: the ARFF, the CSV, the log.
        body, rows_csv, log_csv = (Path(spool) / name for name in ("rows.arff", "table.csv", "log.csv"))
        targets = {str(body): str(output), str(rows_csv): str(args.csv), str(log_csv): str(log)}
        try:
            with contextlib.ExitStack() as files:
                write_arff_rows = files.enter_context(arff_writer(body, names, class_values(args.task),
                                                                  relation=relation))
                write_table = files.enter_context(csv_writer(rows_csv, columns)) if args.csv else None
                write_log = files.enter_context(csv_writer(log_csv, _LOG_COLUMNS))
                while block := list(islice(results, _BLOCK)):
                    rows = [row for found, _ in block for row in found]
                    frame = frame_of_rows(rows, columns)
                    write_arff_rows(*arff_rows(frame[[*names, "class"]]))
                    if write_table is not None:
                        write_table(rows)
                    write_log([{"image": o.image, "status": o.status, "cells": o.cells, "reason": o.reason}
                               for _, o in block])
                    counts["images"] += len(block)
                    counts["cells"] += len(rows)
                    for _, outcome in block:
                        counts[outcome.status] += 1
                    reported += [outcome for _, outcome in block if outcome.status != "ok"]
                    if keep_overlay_cells:
                        outcomes += [outcome for _, outcome in block]
                        cells.append(frame[["image", "cell", "x0", "y0", "x1", "y1", LOBES_FEATURE]])
        except WekawbcError as error:  # a spooled file: named as the output it becomes
            message = str(error)
            for spooled_name, target in targets.items():
                message = message.replace(spooled_name, target)
            raise WekawbcError(message) from None
        for outcome in reported:
            print(f"wekawbc: {outcome.message}", file=sys.stderr)
        prepend_comments(output, body, _comments(args, source, counts))
        if args.csv:
            prepend_comments(args.csv, rows_csv, ())
        prepend_comments(log, log_csv, ())
    if not keep_overlay_cells:
        return _Streamed(counts)
    import pandas as pd

    table = pd.concat(cells, ignore_index=True) if cells else pd.DataFrame(columns=columns)
    return _Streamed(counts, BatchResult(table, outcomes))



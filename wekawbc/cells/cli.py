"""``wekawbc validate-cells``: score segmentation, detection or lobe counts against ground truth."""

from __future__ import annotations

import argparse
import json
import math

from wekawbc.cells.options import add_dataset_options, index_format

__all__ = ["register", "summary_markdown"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate-cells`` sub-command."""
    parser = subparsers.add_parser(
        "validate-cells", help="score segmentation / detection / lobe counts against a data set's ground truth",
        description="Prints a Markdown table. segmentation: Dice against the mask column (jtsc, bccd); "
                    "detection: boxes against wbc_boxes_xyxy (bccd); lobes: against WBCAtt nucleus_shape (pbc); "
                    "granules: against WBCAtt granularity and granule_colour (pbc).")
    parser.add_argument("dataset", metavar="DATASET_DIR", help="folder with labels.csv")
    parser.add_argument("--check", choices=("segmentation", "detection", "lobes", "granules"), required=True)
    parser.add_argument("--share", choices=("all", "development", "held-out"), default="all",
                        help="images whose file-name number is a multiple of 4 are held out (default: all)")
    parser.add_argument("--fields", action="store_true",
                        help="segmentation of smear fields: segment every leukocyte found (bccd)")
    parser.add_argument("--stain", choices=("bluish", "violet", "orange", "pale"),
                        help="detection: recolour red cells and plasma of every field as this stain first "
                             "(wekawbc.cells.validation.STAIN_SHIFTS)")
    parser.add_argument("--json", metavar="OUT.json", help="also write the numbers as JSON")
    add_dataset_options(parser)
    parser.set_defaults(handler=_validate)


def _number(value: float | None) -> str:
    """A summary value: undefined (NaN, or null in a JSON written without NaN) as "–"."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def summary_markdown(summary: dict[str, dict[str, float]]) -> str:
    """A validation summary (``--json``'s ``summary``: one row per class) as the Markdown table the command prints."""
    keys = list(next(iter(summary.values())).keys())
    lines = ["| class | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(_number(row[key]) for key in keys) + " |" for name, row in summary.items()]
    return "\n".join(lines)


def _validate(args: argparse.Namespace) -> int:
    from functools import partial

    from wekawbc._progress import progress_bar

    from wekawbc._io import atomic_write_text
    from wekawbc.cells import validation
    from wekawbc.cells.dataset import load_dataset

    dataset = load_dataset(args.dataset, allow_outside=args.allow_outside, index=index_format(args))
    records = [record for record in dataset if validation.in_share(record, args.share)]
    progress = partial(progress_bar, unit="image", desc=args.check)
    if args.check == "segmentation":
        summary = validation.validate_segmentation(records, fields=args.fields, progress=progress).summary()
        text = summary_markdown(summary)
    elif args.check == "detection":
        report = validation.validate_detection(records, stain=args.stain, progress=progress)
        summary = {args.stain or "all": report.summary()}
        text = summary_markdown(summary)
    elif args.check == "granules":
        summary = validation.validate_granules(records, progress=progress).summary()
        text = summary_markdown(summary)
    else:
        summary = validation.validate_lobes(records, progress=progress).summary()
        text = summary_markdown(summary)
    print(text)
    if args.json:
        atomic_write_text(args.json, json.dumps({"dataset": str(args.dataset), "check": args.check,
                                                 "share": args.share, "stain": args.stain, "summary": summary}, indent=2,
                                                default=float) + "\n")
    return 0

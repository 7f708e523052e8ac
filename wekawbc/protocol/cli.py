"""``wekawbc subsample``: the labels.csv of a seeded class-mix subset of a data set.

``wekawbc cnn subsample`` is the same command under its earlier name.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from wekawbc._io import WekawbcError
from wekawbc.cells.options import add_dataset_options, index_format

__all__ = ["add_subsample_arguments", "class_counts_argument", "register"]


def class_counts_argument(text: str) -> dict[str, float]:
    """``--class-counts``: ``paper`` (the paper's Table 2) or ``name=N,...`` (argparse type)."""
    from wekawbc.protocol.subsample import parse_cell_counts

    try:
        return parse_cell_counts(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_subsample_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``subsample`` (shared with its alias ``cnn subsample``)."""
    parser.add_argument("dataset", metavar="DATASET", help="a data set folder, or an index CSV")
    parser.add_argument("--class-counts", type=class_counts_argument, required=True, metavar="NAME=N,...",
                        help="the class mix: counts or proportions per type (any known spelling: eos=10,...); "
                             "'paper' = the paper's Table 2 (neutrophil=556,lymphocyte=228,eosinophil=153,"
                             "monocyte=38,basophil=25)")
    parser.add_argument("--subsample-seed", "--seed", type=int, default=1, metavar="S",
                        help="seed of the draw (default: 1)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write labels.csv in")
    add_dataset_options(parser)
    parser.set_defaults(handler=subsample_command)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``subsample`` sub-command."""
    parser = subparsers.add_parser(
        "subsample", help="write the labels.csv of a seeded class-mix subset of a data set",
        description="Write DIR/labels.csv (absolute image paths, five-type labels, the data set's record order) "
                    "holding the subset --class-counts draws: the handcrafted-feature ARFF of 'wekawbc extract' "
                    "then lists the same cells in the same order as the CNN, and Weka's folds agree. Read it "
                    "back with --allow-outside (its images lie in the original folder).")
    add_subsample_arguments(parser)


def subsample_command(args: argparse.Namespace) -> int:
    """Draw the subset and write its ``labels.csv``."""
    import csv
    import io
    from collections import Counter

    from wekawbc._io import atomic_write_text
    from wekawbc.cells.dataset import load_dataset
    from wekawbc.protocol.subsample import subsample_counts

    dataset = load_dataset(args.dataset, allow_outside=args.allow_outside, index=index_format(args))
    try:
        chosen = subsample_counts([record.label for record in dataset], args.class_counts, args.subsample_seed)
    except ValueError as error:
        raise WekawbcError(f"--class-counts: {error}") from None
    records = [dataset[i] for i in chosen]
    extra = sorted({key for record in records for key in record.extra})
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["image", "label", "mask", *extra])
    for record in records:
        writer.writerow([record.image.resolve(), record.label or "", record.mask.resolve() if record.mask else "",
                         *(record.extra.get(key, "") for key in extra)])
    path = atomic_write_text(Path(args.output) / "labels.csv", text.getvalue())
    counts = ", ".join(f"{label} {n}" for label, n in Counter(record.label for record in records).items())
    print(f"{len(records)} of {len(dataset)} images ({counts}) written to {path}")
    return 0

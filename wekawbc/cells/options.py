"""The command-line options every command that reads an image data set shares (no numpy here:
``wekawbc --help`` stays light).

``--image-column``, ``--label-column`` and ``--label-map`` become one
:class:`wekawbc.cells.dataset.IndexFormat` through :func:`index_format`; the parsing itself, and the
class vocabulary it checks against, live in :mod:`wekawbc.cells.dataset`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wekawbc.cells.dataset import IndexFormat

__all__ = ["add_dataset_options", "add_index_options", "index_format"]


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--allow-outside`` and the index options: what every command that reads a data set's images takes."""
    parser.add_argument("--allow-outside", action="store_true",
                        help="read images and masks that the data set's index names outside its folder (../x, "
                             "absolute paths, symlinks out)")
    add_index_options(parser)


def add_index_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--image-column``, ``--label-column`` and ``--label-map`` to ``parser``."""
    group = parser.add_argument_group("the data set's index (labels.csv, or a CSV file given as the data set)")
    group.add_argument("--image-column", metavar="NAME", help="column holding each image's path (default: image)")
    group.add_argument("--label-column", metavar="NAME", help="column holding each image's label (default: label)")
    group.add_argument("--label-map", metavar="FILE|A=B,...",
                       help="your labels (or class folder names) to the five types, e.g. 'seg=neutrophil,"
                            "mono=monocyte', or a file of such pairs; the usual spellings and abbreviations "
                            "(eos, eosi, lymp, LYT, NEU, baso...) are known without one")


def index_format(args: argparse.Namespace) -> "IndexFormat":
    """The :class:`~wekawbc.cells.dataset.IndexFormat` the options of :func:`add_index_options` name."""
    from wekawbc.cells.dataset import IndexFormat

    return IndexFormat.from_options(getattr(args, "image_column", None), getattr(args, "label_column", None),
                                    getattr(args, "label_map", None))

"""The ``wekawbc`` command line: one sub-command per job.

Each stage registers its own sub-commands in a module named in ``_COMMAND_MODULES``; such a module
defines ``register(subparsers)``, which adds parsers whose ``handler`` default takes the parsed
arguments and returns an exit code. Heavy libraries (jpype, torch) are imported inside handlers, so
``wekawbc --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Callable, Sequence

from wekawbc import __version__
from wekawbc._interrupts import EXIT_CODE, MESSAGE, interrupts_handled
from wekawbc._io import WekawbcError

__all__ = ["build_parser", "main"]

# Sub-command modules, in the order of the data flow.
_COMMAND_MODULES: tuple[str, ...] = (
    "wekawbc.features.cli",      # extract
    "wekawbc.cells.cli",         # validate-cells
    "wekawbc.protocol.cli",      # subsample
    "wekawbc.weka.cli",          # weka, packages
    "wekawbc.cnn.cli",           # cnn train / predict / evaluate / subsample
    "wekawbc.evaluation.cli",    # evaluate, parse
    "wekawbc.experiment.cli",    # run, demo
    "wekawbc.report.cli",        # report, compare, audit
)


def _info(args: argparse.Namespace) -> int:
    from wekawbc.provenance import library_versions
    from wekawbc.weka import jvm

    for name, version in library_versions().items():
        print(f"{name:<24}{version}")
    java = jvm.find_java()
    print(f"{'java':<24}{java.home} (from {java.source})")
    print(f"{'WEKA_HOME':<24}{jvm.weka_home()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to document the command line)."""
    parser = argparse.ArgumentParser(
        prog="wekawbc",
        description="White-blood-cell classification on imbalanced data, evaluated exactly as Weka does.",
    )
    parser.add_argument("--version", action="version", version=f"wekawbc {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = subparsers.add_parser("info", help="versions, the Java in use and WEKA_HOME")
    info.set_defaults(handler=_info)
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _configure_logging(level: int) -> None:
    # The level goes on the handler too: libraries such as dask.distributed set their own loggers
    # to INFO, and their records would otherwise pass a root-only filter and reach the user.
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(level)
    stderr.setFormatter(logging.Formatter("wekawbc: %(levelname)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[stderr])


def _one_line(text: object) -> str:
    """An error message on one line (a message quoting a library may hold newlines)."""
    return " ".join(str(text).splitlines())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is shown escaped, never a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(logging.INFO if args.verbose else logging.WARNING)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        with interrupts_handled():  # SIGINT and SIGTERM alike
            return int(handler(args) or 0)
    except WekawbcError as error:
        print(f"wekawbc: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except OSError as error:  # a file the command could not read or write, outside wekawbc's own checks
        where = os.fsdecode(error.filename) if error.filename is not None else "input/output"
        print(f"wekawbc: error: {_one_line(where)}: {error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(MESSAGE, file=sys.stderr)
        return EXIT_CODE

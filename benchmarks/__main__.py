"""Run the benchmarks: ``python3 -m benchmarks [NAME ...]`` (NAME as in ``bench_NAME.py``).

Each benchmark prints its Markdown section (figures, the peer measured in the same run, the machine),
ready to paste into ``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def _available() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    names = argv or _available()
    unknown = sorted(set(names) - set(_available()))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {_available()}", file=sys.stderr)
        return 2
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(module.main(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Progress bars: shown on a terminal, quiet in logs and pipes (one rule for every command)."""

from __future__ import annotations

import sys
from typing import Any, Iterable

from tqdm import tqdm

__all__ = ["progress_bar"]


def progress_bar(iterable: Iterable | None = None, *, enabled: bool = True, **options: Any) -> tqdm:
    """A tqdm bar on stderr when ``enabled`` and stderr is a terminal; silent otherwise.

    tqdm's ``disable=None`` is its own "disable when not a TTY": a redirected stderr gets no carriage
    returns or escape codes, only the messages the command prints itself.
    """
    return tqdm(iterable, disable=None if enabled else True, file=sys.stderr, **options)

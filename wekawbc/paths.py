"""Output path policy: names made from user text are slugged, and outputs stay in their folder.

Every output file or folder whose name comes from user text (a data set or experiment name in a
config, a classifier command, a class label) goes through :func:`slug`, and every output path built
from such a name is checked with :func:`inside` before anything is written. A config that names a
data set ``"../../.."`` therefore gets a one-line error instead of writing wherever it points.

Input paths (data folders, ``labels.csv`` entries) follow their own policy where they are read.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from wekawbc._io import WekawbcError

__all__ = ["slug", "inside", "MAX_SLUG_LENGTH"]

MAX_SLUG_LENGTH = 100
"""Longest slug kept whole; longer text is cut and given a short hash of the full text (file
systems refuse names over 255 bytes)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def slug(text: str, what: str = "name") -> str:
    """A file-name-safe form of ``text``, the same for the same text.

    Letters, digits and ``_ . + -`` are kept; every other run of characters (``/``, spaces, ``\\``,
    control characters, non-ASCII) becomes ``_``; leading dots are dropped, so the result is never
    ``.``, ``..`` or a hidden file. Text longer than :data:`MAX_SLUG_LENGTH` is cut and ends in
    ``-`` and 8 hex digits of its SHA-1, so distinct long texts stay distinct.

    Raises
    ------
    WekawbcError
        When nothing usable is left (``""``, ``".."``, ``"../.."``); ``what`` names the text in the
        message.
    """
    safe = _UNSAFE.sub("_", str(text)).lstrip(".")
    if not safe.strip("_.+-"):
        raise WekawbcError(f"{what} '{text}' has no letters or digits to make a file name from")
    if len(safe) > MAX_SLUG_LENGTH:
        digest = hashlib.sha1(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:8]
        safe = f"{safe[:MAX_SLUG_LENGTH - 9]}-{digest}"
    return safe


def inside(folder: str | os.PathLike, path: str | os.PathLike) -> Path:
    """``path`` (relative paths taken in ``folder``) after checking it stays inside ``folder``.

    Both are resolved (symbolic links followed) before the check, so ``..`` parts and links that
    point out of ``folder`` are caught.

    Raises
    ------
    WekawbcError
        ``"<path>: would be written outside <folder>"``.
    """
    root = Path(folder)
    target = root / path
    if not target.resolve().is_relative_to(root.resolve()):
        raise WekawbcError(f"{target}: would be written outside {root}")
    return target

"""Errors users see and atomic file output, shared by every stage."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

__all__ = ["WekawbcError", "atomic_write", "atomic_write_bytes", "atomic_write_text", "not_utf8",
           "remove_partial_files"]

# Temporary files of atomic writes in progress, so a forced exit can still remove them.
_partial: set[str] = set()


class WekawbcError(Exception):
    """An error caused by the user's input, reported as one line without a traceback.

    The command line prints ``wekawbc: error: <message>`` and exits non-zero. Messages name the
    file (and row or line, where known) and the problem.
    """


def not_utf8(path: str | os.PathLike, error: UnicodeDecodeError) -> str:
    """The one-line message for a text file that is not UTF-8: where the first bad byte is."""
    return f"{path}: not UTF-8 text (byte {error.start} is 0x{error.object[error.start]:02x}); save it as UTF-8"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it over ``path`` only on success.

    An exception (or an interrupt) inside the block removes the temporary file, so ``path`` holds
    either its previous content or the complete new content, never half a file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    _partial.add(tmp_name)
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates files readable by their owner only; give the result the permissions an
        # ordinary open() would have given it.
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    finally:
        _partial.discard(tmp_name)


def remove_partial_files() -> None:
    """Remove the temporary files of every atomic write still in progress (before a forced exit)."""
    for name in list(_partial):
        with contextlib.suppress(OSError):
            os.unlink(name)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, newlines as given) and return the path."""
    with atomic_write(path, "w") as handle:
        handle.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)

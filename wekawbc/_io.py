"""Errors users see and atomic file output, shared by every stage."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

__all__ = ["WekawbcError", "atomic_write", "atomic_write_bytes", "atomic_write_text", "cannot_write", "not_utf8",
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


# Errors of the storage, not of the data: raised while writing, they are the target file's.
_STORAGE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


def cannot_write(path: str | os.PathLike, error: OSError) -> WekawbcError:
    """The one-line error for a file that could not be written (a full disk, no permission ...)."""
    return WekawbcError(f"{os.fsdecode(path)}: cannot write: {error.strerror or error}")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it over ``path`` only on success.

    An exception (or an interrupt) inside the block removes the temporary file, so ``path`` holds
    either its previous content or the complete new content, never half a file. A failure of the
    storage (a full disk, a quota, a read-only or failing file system, no permission to create the
    file) raises :class:`WekawbcError` naming ``path``.

    Text is UTF-8; a character it cannot encode, which only a file name that is not UTF-8 holds
    (Python decodes such names with ``surrogateescape``), is written as its backslash escape
    (``caf\\udce9.bmp``), as Python writes it on stderr: the output stays valid UTF-8 and names the file.
    """
    target = Path(path)
    binary = "b" in mode
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise cannot_write(target, error) from None
    _partial.add(tmp_name)
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "",
                       errors=None if binary else "backslashreplace") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates files readable by their owner only; give the result the permissions an
        # ordinary open() would have given it.
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        os.replace(tmp_name, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(error, OSError) and error.errno in _STORAGE_ERRORS:
            raise cannot_write(target, error) from None
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

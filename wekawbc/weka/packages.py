"""Weka packages in wekawbc's ``WEKA_HOME``: list them and install one from a local zip, offline.

Installed packages are loaded at JVM start with ``start(packages=True)`` (``--packages`` on the
command line); their classifiers and filters are then used by class name like core ones. Users with
a network can also install packages with Weka's own package manager into the same folder
(:func:`wekawbc.weka.weka_home`, exported as ``WEKA_HOME``).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from wekawbc._io import WekawbcError
from wekawbc.weka.jvm import java_error, read_timeout, start, weka_home, with_watchdog

__all__ = ["WekaPackage", "installed_packages", "install_package", "check_package_archive", "MAX_PACKAGE_BYTES"]

_DESCRIPTION = "Description.props"
MAX_PACKAGE_BYTES = 2 * 1024**3
"""Most bytes a package zip may unpack to (its entries' declared sizes added up)."""
_PACKAGE_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*")


@dataclass(frozen=True)
class WekaPackage:
    """One installed Weka package, from its ``Description.props``."""

    name: str
    version: str
    title: str
    path: Path


def _read_properties(text: str) -> dict[str, str]:
    """Java ``.properties`` key/value pairs (``=`` or ``:`` separators, ``\\`` line continuations)."""
    properties: dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        cut = min((i for i in (logical.find("="), logical.find(":")) if i >= 0), default=len(logical))
        properties[logical[:cut].strip()] = logical[cut + 1:].strip()
        logical = ""
    return properties


def installed_packages() -> list[WekaPackage]:
    """The packages installed in :func:`weka_home`, sorted by name (no JVM needed)."""
    folder = weka_home() / "packages"
    found = []
    for description in sorted(folder.glob(f"*/{_DESCRIPTION}")):
        properties = _read_properties(description.read_text(encoding="utf-8", errors="replace"))
        found.append(WekaPackage(properties.get("PackageName", description.parent.name),
                                 properties.get("Version", "?"), properties.get("Title", ""), description.parent))
    return found


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry may not be unpacked into the package folder, or None when it may."""
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "is an absolute path"
    if ".." in re.split(r"[\\/]", name):
        return "leaves the package folder ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    if "\0" in name:
        return "has a NUL character in its name"
    return None


def check_package_archive(path: Path) -> list[str]:
    """Check a package zip entry by entry before Weka unpacks it; returns its entry names.

    Refused: entries with absolute paths, ``..`` parts or NUL characters, symbolic links, a
    ``Description.props`` whose ``PackageName`` is not a plain folder name, no ``Description.props``
    at all, and zips that unpack to more than :data:`MAX_PACKAGE_BYTES`.

    Raises
    ------
    WekawbcError
        ``"<zip>: entry '<name>' <problem>; not installed"`` or the zip-level problem.
    """
    try:
        with zipfile.ZipFile(path) as bundle:
            entries = bundle.infolist()
            for info in entries:
                problem = _entry_problem(info)
                if problem is not None:
                    raise WekawbcError(f"{path}: entry '{info.filename}' {problem}; not installed")
            total = sum(info.file_size for info in entries)
            if total > MAX_PACKAGE_BYTES:
                raise WekawbcError(f"{path}: unpacks to {total} bytes, more than the {MAX_PACKAGE_BYTES} allowed")
            descriptions = [info for info in entries if Path(info.filename).name == _DESCRIPTION]
            if not descriptions:
                raise WekawbcError(f"{path}: not a Weka package zip: it holds no {_DESCRIPTION}")
            for info in descriptions:
                text = bundle.read(info).decode("utf-8", errors="replace")
                name = _read_properties(text).get("PackageName", "")
                if not _PACKAGE_NAME.fullmatch(name):
                    raise WekawbcError(f"{path}: entry '{info.filename}': PackageName '{name}' is not a plain "
                                       "folder name (letters, digits, _ . + -); not installed")
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as error:
        raise WekawbcError(f"{path}: not a Weka package zip: {error}") from None
    return [info.filename for info in entries]


def install_package(archive: str | os.PathLike) -> WekaPackage:
    """Install a Weka package from a local zip into :func:`weka_home`, without network access.

    The zip is checked entry by entry first (:func:`check_package_archive`); a failed install
    removes whatever Weka had already put into the package folder.

    Raises
    ------
    WekawbcError
        The file is missing, not a zip, has a hostile or missing entry, or Weka refuses it (its message).
    """
    path = Path(archive)
    if not path.is_file():
        raise WekawbcError(f"{path}: no such file")
    check_package_archive(path)
    start()
    from jpype import JClass, JException

    manager = JClass("weka.core.WekaPackageManager")
    # Weka reports progress on the streams given; keep them off the user's terminal.
    quiet = JClass("java.io.PrintStream")(JClass("java.io.ByteArrayOutputStream")())
    folder = weka_home() / "packages"
    before = set(folder.iterdir()) if folder.is_dir() else set()
    try:
        name = str(with_watchdog(lambda: manager.installPackageFromArchive(str(path.resolve()), quiet),
                                 read_timeout(path), str(path)))
        for package in installed_packages():
            if package.name == name:
                return package
        raise WekawbcError(f"{path}: Weka reported installing '{name}' but it is not in {folder}")
    except JException as error:
        _remove_new_entries(folder, before)
        raise java_error(error, str(path), "Weka could not install the package") from None
    except WekawbcError:
        _remove_new_entries(folder, before)
        raise


def _remove_new_entries(folder: Path, before: set[Path]) -> None:
    """Undo a failed install: remove what appeared in ``folder`` since ``before`` was listed."""
    for entry in set(folder.iterdir()) - before if folder.is_dir() else ():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)

"""Weka packages in wekawbc's ``WEKA_HOME``: list them and install one from a local zip, offline.

Installed packages are loaded at JVM start with ``start(packages=True)`` (``--packages`` on the
command line); their classifiers and filters are then used by class name like core ones. Users with
a network can also install packages with Weka's own package manager into the same folder
(:func:`wekawbc.weka.weka_home`, exported as ``WEKA_HOME``).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from wekawbc._io import WekawbcError
from wekawbc.weka.jvm import java_error, start, weka_home

__all__ = ["WekaPackage", "installed_packages", "install_package"]

_DESCRIPTION = "Description.props"


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


def install_package(archive: str | os.PathLike) -> WekaPackage:
    """Install a Weka package from a local zip into :func:`weka_home`, without network access.

    Raises
    ------
    WekawbcError
        The file is missing, not a zip, has no ``Description.props``, or Weka refuses it (its message).
    """
    path = Path(archive)
    if not path.is_file():
        raise WekawbcError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as bundle:
            names = bundle.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise WekawbcError(f"{path}: not a Weka package zip: {error}") from None
    if not any(Path(name).name == _DESCRIPTION for name in names):
        raise WekawbcError(f"{path}: not a Weka package zip: it holds no {_DESCRIPTION}")
    start()
    from jpype import JClass, JException

    manager = JClass("weka.core.WekaPackageManager")
    # Weka reports progress on the streams given; keep them off the user's terminal.
    quiet = JClass("java.io.PrintStream")(JClass("java.io.ByteArrayOutputStream")())
    try:
        name = str(manager.installPackageFromArchive(str(path.resolve()), quiet))
    except JException as error:
        raise java_error(error, str(path), "Weka could not install the package") from None
    for package in installed_packages():
        if package.name == name:
            return package
    raise WekawbcError(f"{path}: Weka reported installing '{name}' but it is not in {weka_home() / 'packages'}")

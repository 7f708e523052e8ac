"""Hostile input and hard faults (issue 15): path policy, watchdog, signals, limits, failure accounting.

Each test reproduces one finding of the fault-injection campaign through the real command line (a
subprocess running the real JVM and Weka) or the real function, and checks the one-line error, the
exit code and that nothing was written where it must not be.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wekawbc._io import WekawbcError
from wekawbc.paths import inside, slug
from wekawbc.synthetic import scaled_counts, write_dataset

REPO_ROOT = Path(__file__).resolve().parent.parent


def wekawbc(*args, cwd: Path | None = None, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """``python -m wekawbc ARGS`` in a fresh process (this checkout first on the path)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **env}
    return subprocess.run([sys.executable, "-m", "wekawbc", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single ``wekawbc: error:`` line of a failed command (no traceback, nothing else)."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wekawbc: error: "), result.stderr
    return lines[0]


def tree(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("cells"), scaled_counts(0.05), seed=3)


# --- item 4 and the path policy --------------------------------------------------------------------------------

def test_slug_keeps_plain_names_and_refuses_empty_ones():
    assert slug("pbc") == "pbc" and slug("J48+class_balancer") == "J48+class_balancer"
    assert slug("my data/../x") == "my_data_.._x" and slug("../etc") == "_etc"
    assert slug(".hidden") == "hidden"
    long = slug("x" * 300)
    assert len(long) == 100 and long != slug("x" * 301)
    for text in ("", ".", "..", "../../..", "///"):
        with pytest.raises(WekawbcError, match="no letters or digits"):
            slug(text, "data set name")


def test_inside_refuses_paths_that_leave_their_folder(tmp_path):
    assert inside(tmp_path, "a/b.csv") == tmp_path / "a" / "b.csv"
    with pytest.raises(WekawbcError, match="would be written outside"):
        inside(tmp_path / "reports", "../x")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "link").symlink_to(tmp_path)
    with pytest.raises(WekawbcError, match="would be written outside"):
        inside(tmp_path / "reports", "link/x")


@pytest.mark.parametrize("dataset_name, experiment_name, key", [
    ("../../..", "x", "datasets[0].name"),
    ("pbc", "..", "'name'"),
])
def test_config_names_cannot_write_outside_the_output_folders(cells, tmp_path, dataset_name, experiment_name, key):
    """Item 4: a data set named '../../..' or an experiment named '..' is refused before any work."""
    work = tmp_path / "work"
    (work / "cfg").mkdir(parents=True)
    config = work / "cfg" / "x.toml"
    config.write_text(f"""name = "{experiment_name}"
[[datasets]]
name = "{dataset_name}"
path = "{cells}"
[evaluation]
folds = 2
[[classifiers]]
weka = "weka.classifiers.rules.ZeroR"
[output]
reports = "out/reports"
arff = "out/arff"
cache = "out/reports/.cache"
compare = ""
""")
    before = tree(tmp_path)
    line = one_error_line(wekawbc("run", config, "--no-progress", cwd=work))
    assert key in line and "no letters or digits" in line, line
    assert tree(tmp_path) == before


def test_config_names_are_slugged_inside_the_folders(cells, tmp_path):
    from wekawbc.experiment.config import parse_config
    from wekawbc.experiment.runner import _Unit

    config = parse_config({"name": "my run", "datasets": [{"name": "a/../b c", "path": str(cells)}],
                           "classifiers": [{"weka": "weka.classifiers.rules.ZeroR", "name": "Zero R/.."}],
                           "output": {"reports": str(tmp_path / "reports")}})
    assert config.run_dir == tmp_path / "reports" / "my_run"
    classifier, strategy = config.schemes()[0]
    unit = _Unit(config.datasets[0].name, "five", classifier, strategy, 1, 1)
    assert unit.folder(config.run_dir) == config.run_dir / "grid" / "a_.._b_c" / "five" / "Zero_R_.." / "rep01"
    with pytest.raises(WekawbcError, match=r"datasets.*names repeat after making file names"):
        parse_config({"datasets": [{"name": "a b", "path": str(cells)}, {"name": "a/b", "path": str(cells)}],
                      "classifiers": [{"weka": "weka.classifiers.rules.ZeroR"}]})

"""docs/tutorial.md, run as written: every ``sh`` block, in order, in a fresh folder holding a small real
subset of pbc with the tutorial's own column names and label spellings; the checkout's code runs it."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
# The lab's own spellings of the tutorial: SEGM is its code, mapped with --label-map.
SPELLING = {"neutrophil": "SEGM", "eosinophil": "EOS", "basophil": "baso", "lymphocyte": "lymp", "monocyte": "mono"}
PER_CLASS = {"my_cells": 6, "new_cells": 2}


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def _copy_cells(datasets: Path, folder: Path) -> None:
    """``my_cells`` and ``new_cells`` (different images): index.csv with columns file,cell_type."""
    with open(datasets / "pbc" / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    start = 0
    for name, count in PER_CLASS.items():
        (folder / name).mkdir()
        with open(folder / name / "index.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "cell_type"])
            for label, spelling in SPELLING.items():
                for row in [r for r in rows if r["label"] == label][start:start + count]:
                    shutil.copyfile(datasets / "pbc" / row["image"], folder / name / Path(row["image"]).name)
                    writer.writerow([Path(row["image"]).name, spelling])
        start += count


@pytest.mark.slow
def test_the_tutorial_runs_as_written(datasets, tmp_path):
    _copy_cells(datasets, tmp_path)
    blocks = _shell_blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) == 6
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    prelude = f'set -euo pipefail\nwekawbc() {{ "{sys.executable}" -m wekawbc "$@"; }}\n'
    outputs = []
    for block in blocks:
        done = subprocess.run(["bash", "-c", prelude + block], cwd=tmp_path, env=environment, capture_output=True,
                              text=True)
        assert done.returncode == 0, (block, done.stdout[-2000:], done.stderr[-2000:])
        outputs.append(done.stdout)
    extract, rank, weka, apply, report, compare = outputs
    assert "30 images: 30 ok" in extract and "-> cells.arff, cells.csv" in extract
    assert "=== Attribute Selection on all input data ===" in rank
    assert "=== Classifier model (full training set) ===" in weka and "J48 pruned tree" in weka
    assert (tmp_path / "j48.model").is_file() and (tmp_path / "runs" / "j48" / "report.html").is_file()
    assert "10 images: 10 ok" in apply and "=== Evaluation on test set ===" in apply
    assert "Total Number of Instances               10" in apply
    assert "report.html" in report
    assert "alkrimi2023" in compare and list((tmp_path / "runs" / "compare").glob("compare_alkrimi2023*.html"))


def test_every_tutorial_command_parses(capsys):
    """The fast check, in the default run: each command of the tutorial's ``sh`` blocks is a valid
    wekawbc command line (the slow test above runs them)."""
    import shlex

    from wekawbc.cli import build_parser

    parser = build_parser()
    commands = [line for block in _shell_blocks(TUTORIAL.read_text(encoding="utf-8"))
                for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    assert len(commands) == 7
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "wekawbc", command
        arguments = parser.parse_args(words[1:])
        assert callable(arguments.handler), command

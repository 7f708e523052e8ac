"""One feature pipeline: ``wekawbc run`` and ``wekawbc extract`` write the same ARFF from the same fields."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _wekawbc(*args: str) -> int:
    """The command as a user runs it: a process of its own (each starts from the same state)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "wekawbc", *args], env=env, capture_output=True, text=True,
                          timeout=600).returncode


def _arff_body(path: Path) -> list[str]:
    """The attributes and the data (the comments and the relation name say who wrote the file)."""
    lines = path.read_text().splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("@attribute")):]


@pytest.mark.slow
def test_run_and_extract_write_the_same_arff_on_smear_fields(datasets: Path, tmp_path: Path) -> None:
    # A handful of bccd smear fields (640 x 480: mode "auto" finds the leukocytes of the field), two of
    # them with two leukocyte boxes, where "one cell per image" is the field rule both commands apply.
    with open(datasets / "bccd" / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] in ("neutrophil", "lymphocyte", "eosinophil")]
    chosen = [r for r in rows if r["n_wbc_boxes"] == "2"][:2] + [r for r in rows if r["n_wbc_boxes"] == "1"][:4]
    data = tmp_path / "fields"
    data.mkdir()
    with open(data / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label"])
        writer.writerows([[str(datasets / "bccd" / "images" / r["image"]), r["label"]] for r in chosen])
    extracted = tmp_path / "extract.arff"
    extract_code = _wekawbc("extract", str(data), "-o", str(extracted), "--one-cell-per-image", "--allow-outside")
    config = tmp_path / "run.toml"
    config.write_text(f'name = "fields"\n[[datasets]]\nname = "bccd"\npath = "{data}"\nallow_outside = true\n'
                      '[evaluation]\nfolds = 2\n[[classifiers]]\nweka = "weka.classifiers.rules.ZeroR"\n'
                      f'[output]\nreports = "{tmp_path / "reports"}"\narff = "{tmp_path / "arff"}"\n'
                      f'cache = "{tmp_path / "cache"}"\n')
    run_code = _wekawbc("run", str(config), "--no-progress")
    assert extract_code == run_code  # an image without a leukocyte is reported alike (exit 3) or not at all
    (written,) = (tmp_path / "arff").glob("*.arff")
    body = _arff_body(extracted)
    assert body == _arff_body(written)
    assert sum(1 for line in body[body.index("@data") + 1:] if line.strip()) >= 5

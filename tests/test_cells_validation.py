"""Validation helpers and ``wekawbc validate-cells`` on small real samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wekawbc.cells.dataset import CellRecord, load_dataset
from wekawbc.cells.validation import (
    DetectionReport, LobeReport, dice, in_share, truth_boxes, validate_lobes, validate_segmentation,
)
from wekawbc.cli import main


def test_shares_keep_jtsc_twins_together():
    record = lambda stem: CellRecord(image=Path(f"/x/{stem}.bmp"))  # noqa: E731
    assert in_share(record("112"), "held-out") and in_share(record("139"), "held-out")
    assert in_share(record("113"), "development") and not in_share(record("113"), "held-out")
    assert in_share(record("BloodImage_00004"), "held-out") and in_share(record("7"), "all")


def test_dice_and_boxes():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    assert dice(a, a) == 1.0 and dice(a, ~a) == 0.0 and dice(a & False, a & False) == 1.0
    record = CellRecord(image=Path("f.jpg"), extra={"wbc_boxes_xyxy": "1,2,3,4;5,6,7,8"})
    assert truth_boxes(record) == [(1, 2, 3, 4), (5, 6, 7, 8)]


def test_reports_summarise_counts():
    detection = DetectionReport(fields=4, annotated=5, found=6, matched=4)
    assert detection.recall == 0.8 and detection.precision == pytest.approx(4 / 6)
    assert detection.false_per_field == 0.5
    lobes = LobeReport()
    lobes.counts["neutrophil", True, True] = 3
    lobes.counts["neutrophil", False, True] = 1
    lobes.counts["lymphocyte", False, False] = 4
    summary = lobes.summary()
    assert summary["neutrophil"]["agreement"] == 0.75 and summary["all"]["agreement"] == pytest.approx(7 / 8)
    assert summary["neutrophil"]["found_lobed_if_unsegmented"] == 1.0
    assert list(summary) == ["neutrophil", "lymphocyte", "all"]


def test_jtsc_held_out_sample_beats_naive(datasets):
    records = [r for r in load_dataset(datasets / "jtsc") if in_share(r, "held-out")][::4]
    summary = validate_segmentation(records).summary()["all"]
    assert summary["n"] == len(records) >= 15
    assert summary["nucleus"] >= 0.9 and summary["nucleus"] > summary["naive_nucleus"] + 0.05
    assert summary["cell"] >= 0.85


def test_pbc_lobes_agree_for_agranulocytes(datasets):
    records = [r for r in load_dataset(datasets / "pbc") if r.label in ("lymphocyte", "monocyte")][3::175]
    summary = validate_lobes(records).summary()
    assert summary["all"]["n"] == len(records) == 8
    assert summary["all"]["agreement"] >= 0.75


def test_validate_cells_command_writes_json(datasets, tmp_path, capsys):
    out = tmp_path / "det.json"
    folder = tmp_path / "bccd_sample"
    folder.mkdir()
    source = (datasets / "bccd" / "labels.csv").read_text().splitlines()
    images = datasets / "bccd" / "images"
    rows = [source[0]] + [line.replace("BloodImage_", f"{images}/BloodImage_", 1) for line in source[1:80:20]]
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    assert main(["validate-cells", str(folder), "--check", "detection", "--json", str(out), "--allow-outside"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "recall" in header and "false_per_field" in header
    numbers = json.loads(out.read_text())["summary"]["all"]
    assert numbers["fields"] == 4 and numbers["recall"] >= 0.75

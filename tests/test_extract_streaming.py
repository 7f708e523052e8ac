"""``wekawbc extract`` writes its rows block by block: the same ARFF, CSV and log as the whole table at once."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from PIL import Image

from wekawbc.arff import write_arff, write_csv
from wekawbc.cells.dataset import class_values, load_dataset
from wekawbc.cli import main
from wekawbc.features.batch import extract_dataset
from wekawbc.features.registry import feature_names
from wekawbc.synthetic import scaled_counts, write_dataset


def _whole_table_files(data: Path, out: Path, relation: str, **index) -> tuple[Path, Path, Path, dict]:
    """The files the extraction made before streaming: the whole table gathered, then written at once."""
    result = extract_dataset(load_dataset(data, **index))
    arff = write_arff(out / "whole.arff", result.table[[*feature_names(), "class"]], class_values("five"),
                      relation=relation)
    table = write_csv(out / "whole.csv", result.table)
    log = write_csv(out / "whole.log.csv", [{"image": o.image, "status": o.status, "cells": o.cells, "reason": o.reason}
                                            for o in result.outcomes])
    return arff, table, log, result.counts()


def _streamed(data: Path, out: Path, *extra: str) -> tuple[int, Path, Path, Path]:
    arff = out / "streamed.arff"
    code = main(["extract", str(data), "-o", str(arff), "--csv", str(out / "streamed.csv"), *extra])
    return code, arff, out / "streamed.csv", out / "streamed.log.csv"


def _same(streamed: tuple[int, Path, Path, Path], whole: tuple[Path, Path, Path, dict]) -> None:
    _, arff, table, log = streamed
    whole_arff, whole_table, whole_log, counts = whole
    comments, _, rows = arff.read_text().partition("@relation")
    # Everything from @relation on, byte for byte; the comments carry the counts of the whole table.
    assert "@relation" + rows == whole_arff.read_text().partition("@relation")[2].join(["@relation", ""])
    assert "% counts: " + " ".join(f"{key}={value}" for key, value in counts.items()) + "\n" in comments
    assert table.read_bytes() == whole_table.read_bytes()
    assert log.read_bytes() == whole_log.read_bytes()
    assert not [p for p in arff.parent.iterdir() if p.name.startswith(".")], "the spooled rows are removed"


def test_streamed_extract_equals_the_whole_table_on_a_synthetic_set(tmp_path: Path, monkeypatch):
    import wekawbc.features.cli as extract_cli

    data = write_dataset(tmp_path / "data", scaled_counts(0.02), seed=5)
    (data / "images" / "broken.png").write_bytes(b"not an image")  # a failure and an image without a cell, mid-way
    Image.new("RGB", (128, 128), (235, 215, 210)).save(data / "images" / "blank.png")
    lines = (data / "labels.csv").read_text().splitlines(keepends=True)
    lines[5:5] = ["images/broken.png,neutrophil,,,\n", "images/blank.png,monocyte,,,\n"]
    (data / "labels.csv").write_text("".join(lines))
    monkeypatch.setattr(extract_cli, "_BLOCK", 7)  # several blocks, the last one short
    whole = _whole_table_files(data, tmp_path, f"wekawbc-{data.name}-five")
    assert whole[3]["images"] > 2 * 7 and whole[3]["failed"] == whole[3]["no cell"] == 1
    streamed = _streamed(data, tmp_path)
    assert streamed[0] == 3  # the broken image: reported, the rest written
    _same(streamed, whole)


def test_streamed_extract_equals_the_whole_table_on_real_crops(datasets: Path, tmp_path: Path, monkeypatch):
    import wekawbc.features.cli as extract_cli

    with open(datasets / "pbc" / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = [next(r for r in rows if r["label"] == label)
              for label in ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil")]
    (tmp_path / "labels.csv").write_text("image,label\n" + "".join(f"{datasets / 'pbc' / r['image']},{r['label']}\n"
                                                                   for r in chosen))
    monkeypatch.setattr(extract_cli, "_BLOCK", 2)
    whole = _whole_table_files(tmp_path, tmp_path, f"wekawbc-{tmp_path.name}-five", allow_outside=True)
    streamed = _streamed(tmp_path, tmp_path, "--allow-outside")
    assert streamed[0] == 0 and whole[3]["cells"] == 5
    _same(streamed, whole)


_PEAKS = """
import sys, tracemalloc
from pathlib import Path
import wekawbc.features.cli as extract_cli
from wekawbc.cells.dataset import load_dataset
from wekawbc.cli import main
from wekawbc.features.batch import extract_dataset

extract_cli._BLOCK = 4
small, large, out = map(Path, sys.argv[1:])
tracemalloc.start()
main(["extract", str(small), "-o", str(out / "warm.arff")])  # imports, caches
for data in (small, large):
    tracemalloc.reset_peak()
    main(["extract", str(data), "-o", str(out / "s.arff"), "--csv", str(out / "s.csv")])
    streamed = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    table = extract_dataset(load_dataset(data)).table
    whole = tracemalloc.get_traced_memory()[1]
    del table
    print("PEAK", streamed, whole)
"""


@pytest.mark.slow
def test_extract_memory_does_not_grow_with_the_images(tmp_path: Path):
    """Peak Python memory (tracemalloc) of ``extract`` on 8 and 40 images, blocks of 4: it grows by a small
    part of what gathering the whole table grows by (the records of the index and the counts only)."""
    import subprocess

    small = write_dataset(tmp_path / "small", scaled_counts(0.008), seed=2)
    large = write_dataset(tmp_path / "large", scaled_counts(0.04), seed=2)
    done = subprocess.run([sys.executable, "-c", _PEAKS, str(small), str(large), str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (small_streamed, small_whole), (large_streamed, large_whole) = [
        map(int, line.split()[1:]) for line in done.stdout.splitlines() if line.startswith("PEAK")]
    assert large_whole - small_whole > 100_000, done.stdout  # the table's rows: the test can see growth
    assert large_streamed - small_streamed < (large_whole - small_whole) / 4, done.stdout

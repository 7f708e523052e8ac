"""``wekawbc extract --overlays DIR``: what was measured drawn on each image, a contact sheet per class."""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from wekawbc.report.overlays import OverlayCell, draw_overlay

_CELL, _NUCLEUS, _BOX = (255, 215, 0), (230, 0, 230), (0, 200, 0)


def _wekawbc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wekawbc", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def small_index(datasets, tmp_path_factory):
    """Two real pbc images (a neutrophil and a lymphocyte), a blank image (no leukocyte), a broken file."""
    root = tmp_path_factory.mktemp("small")
    with open(datasets / "pbc" / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    real = [next(r for r in rows if r["label"] == label) for label in ("neutrophil", "lymphocyte")]
    Image.new("RGB", (360, 363), (235, 215, 210)).save(root / "blank.png")
    (root / "broken.jpg").write_bytes(b"not an image")
    lines = [f"{datasets / 'pbc' / r['image']},{r['label']}" for r in real]
    lines += [f"{root / 'blank.png'},monocyte", f"{root / 'broken.jpg'},basophil"]
    (root / "labels.csv").write_text("image,label\n" + "\n".join(lines) + "\n")
    return root


def test_draw_overlay_outlines_box_and_caption():
    rgb = np.full((120, 160, 3), 200, np.uint8)
    labels = np.zeros((120, 160), np.uint8)
    labels[30:90, 40:110] = 128
    labels[45:75, 55:95] = 255
    out = draw_overlay(rgb, labels, [OverlayCell((38, 28, 112, 92), 0, 3.0)])
    assert tuple(out[60, 40]) == _CELL and tuple(out[60, 55]) == _NUCLEUS  # left edges of the cell and nucleus
    assert tuple(out[60, 38]) == _BOX and tuple(out[28, 70]) == _BOX
    assert tuple(out[60, 75]) == (200, 200, 200) and tuple(out[5, 150]) == (200, 200, 200)  # inside / away: as was
    assert (out[:26] != 200).any()  # the caption "#0 lobes 3" above the box
    assert (rgb == 200).all(), "the image itself is not drawn on"


def test_extract_draws_every_image_and_keeps_going(small_index, tmp_path):
    out = tmp_path / "ov"
    done = _wekawbc("extract", str(small_index), "--allow-outside", "-o", str(tmp_path / "cells.arff"),
                    "--masks-out", str(tmp_path / "masks"), "--overlays", str(out))
    assert done.returncode == 3, done.stderr  # the broken image, as without overlays
    assert f"overlays: {out / 'index.html'}" in done.stdout
    page = (out / "index.html").read_text()
    # One section per class, in index order; the blank image framed as "no leukocyte", the broken one listed.
    assert [m for m in re.findall(r"<h2[^>]*>(\w+) \(", page)] == ["neutrophil", "lymphocyte", "monocyte", "basophil"]
    assert page.count("<img ") == 3 and 'class="no-cell"' in page and "no leukocyte found" in page
    assert re.search(r"failed: .*broken\.jpg", page)
    assert len(re.findall(r"#0 lobes \d", page)) == 2
    drawn = sorted(p.name for p in (out / "images").iterdir())
    assert drawn == sorted(p.name for p in (out / "thumbs").iterdir()) == sorted(p.name for p in (tmp_path / "masks").iterdir())
    for name in drawn:
        with Image.open(out / "images" / name) as full, Image.open(out / "thumbs" / name) as thumb:
            assert max(thumb.size) <= 192 and full.size == (360, 363)
    for name in drawn:
        if name != "blank.png":  # a leukocyte: its box and both outlines are drawn
            colours = {tuple(c) for c in np.asarray(Image.open(out / "images" / name).convert("RGB")).reshape(-1, 3)}
            assert {_CELL, _NUCLEUS, _BOX} <= colours, name


def test_unwritable_overlay_folder_still_writes_the_results(small_index, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("in the way")
    arff = tmp_path / "cells.arff"
    done = _wekawbc("extract", str(small_index), "--allow-outside", "-o", str(arff), "--overlays", str(blocker / "ov"))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("wekawbc: error:")]
    assert errors == [f"wekawbc: error: {blocker / 'ov'}: cannot write: Not a directory; no overlays drawn "
                      "(the extraction results are written)"], done.stderr
    assert "Traceback" not in done.stderr
    data = [line for line in arff.read_text().splitlines() if line and not line.startswith(("%", "@"))]
    assert len(data) == 2  # the two real leukocytes
    assert arff.with_suffix(".log.csv").is_file() and list(tmp_path.iterdir())


def test_run_draws_the_first_images_of_each_class(jvm, tmp_path):
    from wekawbc.experiment.config import parse_config
    from wekawbc.experiment.runner import run_experiment
    from wekawbc.experiment.scaleout import SerialExecutor
    from wekawbc.synthetic import scaled_counts, write_dataset

    cells = write_dataset(tmp_path / "cells", scaled_counts(0.1), seed=3)
    config = parse_config({"name": "ov", "datasets": [{"name": "syn", "path": str(cells),
                                                       "class_counts": {"neutrophil": 4, "lymphocyte": 4, "monocyte": 3}}],
                           "classifiers": [{"weka": "weka.classifiers.trees.J48"}],
                           "evaluation": {"folds": 3, "repetitions": 1},
                           "output": {"reports": str(tmp_path / "reports"), "arff": str(tmp_path / "arff"),
                                      "compare": "", "overlays": 2}}, source="ov.toml")
    outcome = run_experiment(config, SerialExecutor(), progress=False)
    page = outcome.run_dir / "syn-overlays" / "index.html"
    assert 'href="syn-overlays/index.html"' in outcome.report_html.read_text()
    html = page.read_text()
    assert html.count("<img ") == 2 * 3 and len(list((page.parent / "images").iterdir())) == 6
    assert re.findall(r"<h2[^>]*>(\w+) \(2 images", html) == ["neutrophil", "lymphocyte", "monocyte"]


def test_overlays_setting_is_checked(tmp_path):
    from wekawbc._io import WekawbcError
    from wekawbc.experiment.config import parse_config

    raw = {"datasets": [{"path": str(tmp_path)}], "classifiers": [{"weka": "weka.classifiers.trees.J48"}]}
    for bad, message in ((-1, "output.overlays"), ("4", "'overlays' must be an integer")):
        with pytest.raises(WekawbcError, match=message):
            parse_config({**raw, "output": {"overlays": bad}}, source="c.toml")

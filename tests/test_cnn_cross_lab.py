"""The CNN across labs: cell framing, stain and colour augmentation, norm layers, the external test
set of ``cnn evaluate --test`` and the few-shot ``cnn adapt``.

Real images of ``pbc/``, ``jtsc/`` and ``bccd/``, tiny networks and one or two epochs keep this
fast; the cross-lab accuracies are measured in docs/cross_lab.md, not here.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wekawbc._io import WekawbcError

torch = pytest.importorskip("torch")

from wekawbc.cells.dataset import CLASSES, read_image  # noqa: E402
from wekawbc.cnn.adapt import adapt_curve, draw_per_class, duplicate_groups  # noqa: E402
from wekawbc.cnn.augment import augment_batch  # noqa: E402
from wekawbc.cnn.evaluate import external_test_cnn  # noqa: E402
from wekawbc.cnn.images import load_crops, prepare_input  # noqa: E402
from wekawbc.cnn.model_file import load_model, save_model  # noqa: E402
from wekawbc.cnn.network import CellNet  # noqa: E402
from wekawbc.cnn.settings import Augmentation, TrainSettings  # noqa: E402
from wekawbc.cnn.training import predict_proba, train_cnn  # noqa: E402

TINY = TrainSettings(epochs=1, image_size=24, channels=(8, 16), batch_size=16, threads=1, seed=3,
                     framing="cell", norm="group")


def _cv2():
    import cv2

    return cv2


# ----- input framing -------------------------------------------------------------------------------

def test_cell_framing_follows_the_cell_not_the_file(datasets):
    """Another lab's file of the same cell (wider margin, other magnification) gives (nearly) the same
    cell-framed input; the centre framing shows something else."""
    cv2 = _cv2()
    image = read_image(datasets / "jtsc" / "images" / "002.bmp")
    wider = cv2.copyMakeBorder(image, 60, 60, 60, 60, cv2.BORDER_REPLICATE)  # the cell fills less of the file
    for factor in (0.6, 1.5):
        other = cv2.resize(wider, None, fx=factor, fy=factor,
                           interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
        cell_gap = np.abs(prepare_input(other, image_size=48, framing="cell", stain="none")[0].astype(float)
                          - prepare_input(image, image_size=48, framing="cell", stain="none")[0]).mean()
        centre_gap = np.abs(prepare_input(other, image_size=48, framing="centre", stain="none")[0].astype(float)
                            - prepare_input(image, image_size=48, framing="centre", stain="none")[0]).mean()
        assert cell_gap < 10, f"x{factor}: cell framing differs by {cell_gap:.1f} of 255 on average"
        assert centre_gap > 3 * cell_gap, f"x{factor}: centre framing {centre_gap:.1f}, cell {cell_gap:.1f}"


def test_field_rows_are_cut_around_their_one_box_and_several_boxes_are_reported(datasets, tmp_path):
    root = datasets / "bccd"
    with open(root / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["label"]]
    one = [row for row in rows if row["n_wbc_boxes"] == "1"][:3]
    two = [row for row in rows if row["n_wbc_boxes"] == "2"][:1]
    with open(tmp_path / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "wbc_boxes_xyxy"])
        for row in one + two:
            writer.writerow([str(root / "images" / row["image"]), row["label"], row["wbc_boxes_xyxy"]])
    crops = load_crops(tmp_path, image_size=32, framing="cell", allow_outside=True)  # indexes the shared bccd
    assert len(crops) == 3 and not crops.unsegmented
    assert len(crops.skipped) == 1 and "2 leukocyte boxes" in crops.skipped[0]
    # The leukocyte (purple: blue above green) is in the middle of the input, not the red cells.
    centre = crops.images[:, 10:22, 10:22].astype(int)
    assert (centre[..., 2] - centre[..., 1]).mean() > 20


def test_stain_normalisation_evens_out_a_colour_cast(datasets):
    image = read_image(datasets / "pbc" / "images" / "neutrophil" / sorted(
        (datasets / "pbc" / "images" / "neutrophil").iterdir())[0].name)
    cast = np.clip(image.astype(float) * np.array([1.0, 0.85, 0.6]), 0, 255).astype(np.uint8)  # a yellow lamp
    options = dict(image_size=32, framing="cell", stain="none")
    plain_gap = np.abs(prepare_input(cast, **options)[0].astype(float) - prepare_input(image, **options)[0]).mean()
    for stain in ("white-balance", "reinhard-square"):
        options["stain"] = stain
        gap = np.abs(prepare_input(cast, **options)[0].astype(float) - prepare_input(image, **options)[0]).mean()
        assert gap < plain_gap / 3, f"{stain}: {gap:.1f} against {plain_gap:.1f} without"


# ----- augmentation and network ---------------------------------------------------------------------

def test_colour_augmentation_is_seeded_and_hue_keeps_greys_grey():
    batch = torch.rand(6, 3, 16, 16)
    batch[0] = 0.4  # a grey image
    aug = Augmentation(hue=0.5, stain=0.3, blur=1.0, brightness=0, contrast=0, saturation=0, channel_gain=0,
                       dihedral=False)
    first = augment_batch(batch, aug, torch.Generator().manual_seed(5))
    again = augment_batch(batch, aug, torch.Generator().manual_seed(5))
    assert torch.equal(first, again)
    assert not torch.allclose(first, batch)
    hue_only = Augmentation(hue=0.5, brightness=0, contrast=0, saturation=0, channel_gain=0, dihedral=False)
    grey = augment_batch(batch, hue_only, torch.Generator().manual_seed(1))[0]
    assert torch.allclose(grey, torch.full_like(grey, 0.4), atol=1e-5)


@pytest.mark.parametrize("norm", ["group", "instance", "layer"])
def test_norm_layers_keep_no_training_statistics(norm):
    network = CellNet(5, (8, 16), norm=norm)
    assert not any("running" in name for name, _ in network.named_buffers())
    network.eval()
    x = torch.rand(4, 3, 24, 24)
    # Each image is normalised by its own statistics: its output does not depend on the batch.
    assert torch.allclose(network(x)[:1], network(x[:1]), atol=1e-5)
    with pytest.raises(ValueError, match="norm must be one of"):
        TrainSettings(norm="weird")


# ----- external test set and adaptation ------------------------------------------------------------

@pytest.fixture(scope="module")
def pbc_small(datasets):
    return load_crops(datasets / "pbc", **TINY.input_options(),
                      class_counts=dict.fromkeys(CLASSES, 6), subsample_seed=2)


@pytest.fixture(scope="module")
def jtsc_crops(datasets):
    return load_crops(datasets / "jtsc", **TINY.input_options())


@pytest.fixture(scope="module")
def small_model(pbc_small):
    return train_cnn(pbc_small.images, pbc_small.y, pbc_small.labels, TINY, ids=pbc_small.ids)


def test_external_test_set_trains_on_one_lab_and_scores_the_other(pbc_small, jtsc_crops):
    keep = np.isin(pbc_small.y, [0, 1, 3, 4])  # no basophil in training: the note must say so
    seen: set[str] = set()
    half = slice(0, 150)
    _, runs = external_test_cnn(pbc_small.images[keep], pbc_small.y[keep], pbc_small.labels,
                             tuple(np.array(pbc_small.ids)[keep]),
                             [(jtsc_crops.images, jtsc_crops.y, jtsc_crops.ids),
                              (jtsc_crops.images[half], jtsc_crops.y[half], jtsc_crops.ids[half])],
                             settings=TINY, on_batch=lambda fold, ids: seen.update(ids))
    run = runs[0]
    basophils = int((jtsc_crops.y == CLASSES.index("basophil")).sum())
    assert run.predictions.n_instances == len(jtsc_crops) - basophils
    # One network scores both test sets: the same images get the same distributions.
    first = {i: row for i, row in zip(run.predictions.ids, run.predictions.distribution)}
    assert all(np.array_equal(first[i], row) for i, row in zip(runs[1].predictions.ids, runs[1].predictions.distribution))
    assert set(run.predictions.ids) < set(jtsc_crops.ids)
    assert not seen & set(jtsc_crops.ids)
    assert any(f"{basophils} test image(s)" in note and "basophil" in note for note in run.notes)


def test_model_file_keeps_the_input_and_norm(small_model, tmp_path):
    path = save_model(small_model, tmp_path / "m.pt")
    loaded, _ = load_model(path)
    assert loaded.preprocessing == small_model.preprocessing
    assert loaded.preprocessing.framing == "cell" and loaded.settings.norm == "group"


def test_duplicate_files_are_drawn_together(datasets):
    ids = [str(datasets / "jtsc" / "images" / f"{n}.bmp") for n in ("112", "139", "001", "002")]
    groups = duplicate_groups(ids)
    assert groups[0] == groups[1] and len(set(groups.tolist())) == 3
    y = np.zeros(4, dtype=np.int64)
    for seed in range(6):
        drawn, _ = draw_per_class(y, groups, 1, CLASSES, seed)
        assert {0, 1} <= set(drawn.tolist()) or not {0, 1} & set(drawn.tolist())


def test_adapt_curve_nested_draws_and_one_test_set(small_model, jtsc_crops):
    keep = jtsc_crops.y != CLASSES.index("basophil")
    images, y, ids = jtsc_crops.images[keep], jtsc_crops.y[keep], tuple(np.array(jtsc_crops.ids)[keep])
    points, notes = adapt_curve(small_model, images, y, ids, [0, 2, 4], seed=1, epochs=1, threads=1)
    assert [p.per_class for p in points] == [0, 2, 4] and not notes
    assert len({p.predictions.ids for p in points}) == 1  # the same test set for every K
    assert set(points[1].train_ids) < set(points[2].train_ids)
    assert not set(points[2].train_ids) & set(points[0].predictions.ids)
    assert len(points[2].train_ids) >= 4 * 4
    base = predict_proba(small_model, images[np.isin(ids, points[0].predictions.ids)])
    assert np.allclose(points[0].predictions.distribution, base)


def test_adapt_refuses_more_per_class_than_a_class_holds(small_model, jtsc_crops):
    with pytest.raises(WekawbcError, match="class basophil has 1 image.*--per-class 5"):
        adapt_curve(small_model, jtsc_crops.images, jtsc_crops.y, jtsc_crops.ids, [0, 5], epochs=1)


def test_cli_adapt_error_is_one_line(small_model, datasets, tmp_path):
    model = save_model(small_model, tmp_path / "m.pt")
    done = subprocess.run([sys.executable, "-m", "wekawbc", "cnn", "adapt", str(model), str(datasets / "jtsc"),
                           "--per-class", "0,5", "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("wekawbc: error:")
    assert "basophil has 1 image" in done.stderr and not (tmp_path / "out").exists()


def _wekawbc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wekawbc", *args], capture_output=True, text=True)


def test_cli_cross_lab_evaluate_writes_one_evaluation_per_test_set(datasets, tmp_path):
    import json

    tiny = ["--epochs", "1", "--image-size", "16", "--threads", "1", "--quiet", "--bootstrap", "20"]
    done = _wekawbc("cnn", "evaluate", str(datasets / "pbc"), "--class-counts",
                    "neutrophil=4,eosinophil=4,basophil=4,lymphocyte=4,monocyte=4", "--test", str(datasets / "jtsc"),
                    "--test", str(datasets / "bccd"), *tiny, "--out", str(tmp_path / "x"),
                    "--save-model", str(tmp_path / "m.pt"))
    # bccd's fields with two leukocyte boxes are skipped and listed: exit 3, as extract
    assert done.returncode == 3 and "skipped" in done.stderr, done.stderr
    for name, n in (("jtsc", 300), ("bccd", 347)):
        # each test set's run folder, in the one run format ('wekawbc report' reads it)
        document = json.loads((tmp_path / "x" / name / "report.json").read_text())
        assert document["settings"]["test"]["dataset"].endswith(name)
        assert sum(map(sum, document["evaluation"]["confusion_matrix"]["matrix"])) == n
        assert set(document["bootstrap"]["metrics"]) >= {"accuracy", "macro_f1"}
    assert "Evaluation on test set" in done.stdout and load_model(tmp_path / "m.pt")[0].preprocessing.image_size == 16
    refused = _wekawbc("cnn", "evaluate", str(datasets / "pbc"), str(datasets / "jtsc"), "--class-counts", "paper",
                       "--test", str(datasets / "bccd"), *tiny)
    assert refused.returncode != 0 and refused.stderr.startswith("wekawbc: error: --class-counts takes one data set")


def test_cli_predict_without_model_uses_the_shipped_one(datasets, tmp_path):
    """With the shipped model installed: predictions and its metadata; without it: a one-line error."""
    from wekawbc.cnn.model_file import DEFAULT_MODEL

    images = tmp_path / "cells"
    images.mkdir()
    for name in ("001", "002", "003"):
        (images / f"{name}.bmp").write_bytes((datasets / "jtsc" / "images" / f"{name}.bmp").read_bytes())
    done = _wekawbc("cnn", "predict", str(images), "-o", str(tmp_path / "p.csv"), "--quiet", "--threads", "1")
    shipped = Path(__file__).parents[1] / "wekawbc" / "cnn" / DEFAULT_MODEL
    if not shipped.is_file():
        assert done.returncode != 0 and not (tmp_path / "p.csv").exists()
        assert done.stderr.strip().count("\n") == 0 and "shipped model is missing" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    assert str(shipped.name) in done.stderr
    rows = list(csv.DictReader(open(tmp_path / "p.csv", newline="")))
    assert len(rows) == 3 and all(abs(sum(float(row[f"p_{c}"]) for c in CLASSES) - 1) < 1e-6 for row in rows)
    _, payload = load_model(shipped)
    assert {entry["name"] for entry in payload["extra"]["datasets"]} == {"pbc", "jtsc", "bccd"}
    assert all(entry["licence"] for entry in payload["extra"]["datasets"])

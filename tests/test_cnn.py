"""The CNN: subsampling, crops, training, Weka's folds, model files, leakage and the command line.

Real pbc/ images (a small sample), tiny networks and one or two epochs keep this fast; the
accuracy targets are measured in docs/cnn.md, not here.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from wekawbc._io import WekawbcError
from wekawbc.protocol.subsample import PAPER_TABLE2_COUNTS, parse_class_counts, resolve_class_counts, subsample_counts

torch = pytest.importorskip("torch")

from wekawbc.cnn.evaluate import cross_validate_cnn, holdout_cnn  # noqa: E402
from wekawbc.protocol.folds import small_class_notes  # noqa: E402
from wekawbc.cnn.images import load_crops  # noqa: E402
from wekawbc.cnn.model_file import load_model, save_model  # noqa: E402
from wekawbc.cnn.training import TrainSettings, inner_validation_split, predict_proba, train_cnn  # noqa: E402

PER_CLASS = 12
TINY = TrainSettings(epochs=2, image_size=32, channels=(8, 16), batch_size=16, threads=1, seed=3)


# ----- subsampling (pure numpy) -------------------------------------------------------------------

def test_subsample_counts_exact_seeded_and_in_record_order():
    labels = ["a"] * 50 + ["b"] * 30 + [None] * 5 + ["c"] * 20
    chosen = subsample_counts(labels, {"a": 10, "b": 3, "c": 20}, seed=7)
    assert np.all(np.diff(chosen) > 0)  # ascending: record order kept
    picked = [labels[i] for i in chosen]
    assert (picked.count("a"), picked.count("b"), picked.count("c")) == (10, 3, 20)
    assert np.array_equal(chosen, subsample_counts(labels, {"c": 20, "b": 3, "a": 10}, seed=7))
    assert not np.array_equal(chosen, subsample_counts(labels, {"a": 10, "b": 3, "c": 20}, seed=8))


def test_subsample_proportions_take_the_largest_feasible_subset():
    assert resolve_class_counts({"a": 700, "b": 700}, {"a": 0.8, "b": 0.2}) == {"a": 700, "b": 175}
    paper = {name: count / 1000 for name, count in PAPER_TABLE2_COUNTS.items()}
    counts = resolve_class_counts(dict.fromkeys(PAPER_TABLE2_COUNTS, 700), paper)
    assert counts["neutrophil"] == 699 and counts["basophil"] == 31  # 1258 x 0.556 and 1258 x 0.025, rounded


@pytest.mark.parametrize("text, message", [
    ("neutrophil", "name=value"), ("a=1,a=2", "twice"), ("a=x", "not a number"), ("a=-1", ">= 0"), ("", "no class"),
])
def test_parse_class_counts_rejects_bad_text(text, message):
    with pytest.raises(ValueError, match=message):
        parse_class_counts(text)


def test_subsample_rejects_unknown_class_and_too_many():
    with pytest.raises(ValueError, match="not in the data"):
        subsample_counts(["a", "b"], {"z": 1})
    with pytest.raises(ValueError, match="b: 3 asked, 1 available"):
        subsample_counts(["a", "b"], {"b": 3})
    with pytest.raises(ValueError, match="sum to"):
        subsample_counts(["a", "b"], {"a": 0.5, "b": 0.2})


def test_subsample_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, wekawbc.protocol.subsample; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


# ----- a small real sample of pbc/ ------------------------------------------------------------------

@pytest.fixture(scope="module")
def pbc_sample(datasets, tmp_path_factory):
    """A labels.csv folder: 12 pbc images per class (copied in) and one corrupt image."""
    root = datasets / "pbc"
    with open(root / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("pbc_sample")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label"])
        for label in sorted({row["label"] for row in rows}):
            members = [row for row in rows if row["label"] == label]
            for k in rng.choice(len(members), PER_CLASS, replace=False):
                name = Path(members[k]["image"]).name
                shutil.copyfile(root / members[k]["image"], folder / name)
                writer.writerow([name, label])
        writer.writerow(["broken.jpg", "neutrophil"])
    return folder


@pytest.fixture(scope="module")
def crops(pbc_sample):
    return load_crops(pbc_sample, image_size=TINY.image_size, crop_fraction=TINY.crop_fraction)


def test_crops_skip_and_report_unreadable_image(crops):
    assert crops.images.shape == (5 * PER_CLASS, 32, 32, 3) and crops.images.dtype == np.uint8
    assert crops.class_counts() == dict.fromkeys(crops.labels, PER_CLASS)
    assert len(crops.skipped) == 1 and "broken.jpg" in crops.skipped[0]


def test_binary_task_and_class_counts(pbc_sample):
    binary = load_crops(pbc_sample, task="binary", image_size=16,
                        class_counts={"neutrophil": 6, "lymphocyte": 4, "basophil": 2})
    assert binary.labels == ("granulocyte", "agranulocyte")
    assert binary.class_counts() == {"granulocyte": 8, "agranulocyte": 4}
    with pytest.raises(WekawbcError, match="class-counts.*monocyte: 99 asked"):
        load_crops(pbc_sample, image_size=16, class_counts={"monocyte": 99})


def test_inner_validation_split_is_stratified_and_keeps_singletons():
    y = np.array([0] * 20 + [1] * 10 + [2])
    train, val = inner_validation_split(y, 0.2, seed=1)
    assert np.bincount(y[val], minlength=3).tolist() == [4, 2, 0]
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(y.size))


# ----- training ---------------------------------------------------------------------------------------

def _state(model):
    return {k: v.clone() for k, v in model.network.state_dict().items()}


def test_training_is_deterministic_for_seed_and_threads(crops):
    first = train_cnn(crops.images, crops.y, crops.labels, TINY)
    second = train_cnn(crops.images, crops.y, crops.labels, TINY)
    other = train_cnn(crops.images, crops.y, crops.labels, TrainSettings(**{**TINY.__dict__, "seed": 4}))
    a, b, c = _state(first), _state(second), _state(other)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert np.array_equal(predict_proba(first, crops.images), predict_proba(second, crops.images))
    assert len(first.history) == 2 and first.best_epoch in (1, 2) and "epochs done" in first.stop_reason


def test_one_class_and_nan_loss_are_clear_errors(crops):
    with pytest.raises(WekawbcError, match="one class only"):
        train_cnn(crops.images[:5], np.zeros(5, dtype=int), crops.labels, TINY)
    exploding = TrainSettings(**{**TINY.__dict__, "learning_rate": 1e30, "epochs": 1})
    with pytest.raises(WekawbcError, match="NaN"):
        train_cnn(crops.images, crops.y, crops.labels, exploding)


def test_nan_loss_after_an_epoch_keeps_the_best_model(crops, monkeypatch):
    import wekawbc.cnn.training as training

    real = training.F.cross_entropy
    batches_per_epoch = -(-int(len(crops.y) * 0.9) // TINY.batch_size)
    calls = {"training": 0}

    def failing_in_epoch_two(*args, **kwargs):
        loss = real(*args, **kwargs)
        if "label_smoothing" in kwargs:  # the training loss (validation passes no smoothing)
            calls["training"] += 1
            if calls["training"] > batches_per_epoch + 1:
                return loss * float("nan")
        return loss

    monkeypatch.setattr(training.F, "cross_entropy", failing_in_epoch_two)
    model = train_cnn(crops.images, crops.y, crops.labels, TINY)
    assert "NaN" in model.stop_reason and "(epoch 1) is kept" in model.stop_reason
    assert model.best_epoch == 1 and len(model.history) == 1
    assert np.isfinite(predict_proba(model, crops.images)).all()


def test_model_file_round_trip_and_refusals(crops, tmp_path):
    model = train_cnn(crops.images, crops.y, crops.labels, TrainSettings(**{**TINY.__dict__, "epochs": 1}))
    path = save_model(model, tmp_path / "cnn.pt", task="five", extra={"dataset": "sample"})
    loaded, payload = load_model(path, labels=crops.labels)
    assert np.array_equal(predict_proba(model, crops.images), predict_proba(loaded, crops.images))
    assert loaded.preprocessing == model.preprocessing and loaded.settings == model.settings
    assert payload["versions"]["torch"].startswith("2.13.0") and payload["wekawbc_version"] == payload["versions"]["wekawbc"]
    assert payload["extra"]["dataset"] == "sample" and payload["settings"]["seed"] == TINY.seed
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left

    with pytest.raises(WekawbcError, match="trained on classes"):
        load_model(path, labels=("granulocyte", "agranulocyte"))
    payload["wekawbc_version"] = "0.0.1"
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    (tmp_path / "old.pt").write_bytes(buffer.getvalue())
    with pytest.raises(WekawbcError, match="written by wekawbc 0.0.1"):
        load_model(tmp_path / "old.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(WekawbcError, match="not a wekawbc CNN model"):
        load_model(tmp_path / "junk.pt")


# ----- evaluation on Weka's folds -----------------------------------------------------------------------

def test_cross_validation_uses_wekas_folds_and_never_leaks(crops):
    from wekawbc.evaluation import evaluate
    from wekawbc.protocol.folds import stratified_fold_assignment

    seen: dict[int, list[str]] = {}
    settings = TrainSettings(**{**TINY.__dict__, "epochs": 1, "balance": "sampler"})
    y = crops.y.copy()
    y[: PER_CLASS - 4] = 1  # make class 0 rare, so the sampler repeats its members
    run = cross_validate_cnn(crops.images, y, crops.labels, crops.ids, n_folds=3, seed=5, settings=settings,
                             on_batch=lambda fold, ids: seen.setdefault(fold, []).extend(ids))
    p = run.predictions
    fold_of = stratified_fold_assignment(y, 3, seed=5)
    index = {image: i for i, image in enumerate(crops.ids)}
    rows = np.array([index[i] for i in p.ids])
    assert sorted(rows.tolist()) == list(range(len(y)))
    assert np.array_equal(p.fold, fold_of[rows]) and np.array_equal(p.actual, y[rows])
    np.testing.assert_allclose(p.distribution.sum(axis=1), 1.0)
    for fold in range(3):
        test_ids = set(np.asarray(crops.ids)[fold_of == fold])
        train_ids = set(np.asarray(crops.ids)[fold_of != fold])
        assert seen[fold] and not test_ids & set(seen[fold]) and set(seen[fold]) <= train_ids
        assert p.train_counts[fold].tolist() == np.bincount(y[fold_of != fold], minlength=5).tolist()
    assert any(seen[f].count(i) > 1 for f in seen for i in set(seen[f]))  # resampled copies did occur
    result = evaluate(p)
    assert result.total_instances == len(y)


def test_holdout_uses_wekas_split(crops):
    from wekawbc.protocol.folds import split_indices

    settings = TrainSettings(**{**TINY.__dict__, "epochs": 1})
    run = holdout_cnn(crops.images, crops.y, crops.labels, crops.ids, percentage=70, seed=2, settings=settings)
    _, test = split_indices(len(crops.y), 70, seed=2)
    assert run.predictions.ids == tuple(crops.ids[i] for i in test)


def test_small_class_notes_state_wekas_behaviour():
    notes = small_class_notes(np.array([0] * 20 + [1] * 3), ("big", "rare"), 10)
    assert len(notes) == 1 and "'rare' has 3" in notes[0] and "7 test fold(s) hold none" in notes[0]


# ----- command line --------------------------------------------------------------------------------------

def test_cli_evaluate_train_predict(pbc_sample, tmp_path, capsys):
    from wekawbc.cli import main
    from wekawbc.predictions import read_predictions_csv

    common = ["--epochs", "1", "--image-size", "32", "--threads", "1", "--quiet"]
    assert main(["cnn", "evaluate", str(pbc_sample), "--folds", "3", "--task", "binary", "--bootstrap", "50",
                 "--out", str(tmp_path / "ev"), *common]) == 3  # broken.jpg skipped, reported, the rest evaluated
    out = capsys.readouterr()
    assert "=== Stratified cross-validation ===" in out.out and "=== Confusion Matrix ===" in out.out
    assert "Recall agranulocyte" in out.out and "=== Bootstrap 95% intervals (50 resamples" in out.out and "broken.jpg" in out.err
    predictions = read_predictions_csv(tmp_path / "ev" / "predictions.csv")
    assert predictions.labels == ("granulocyte", "agranulocyte") and predictions.n_instances == 5 * PER_CLASS
    # The one run format: what 'cnn evaluate --out' writes, 'wekawbc report' reads.
    from wekawbc.report.runfolder import load_run

    run = load_run(tmp_path / "ev")
    assert run.report["settings"]["producer"] == "wekawbc cnn evaluate" and run.report["bootstrap"]["n_resamples"] == 50
    assert main(["report", str(tmp_path / "ev"), "--no-plots"]) == 0

    assert main(["cnn", "train", str(pbc_sample), "--out", str(tmp_path / "m.pt"), *common]) == 3
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    (unlabelled / "cell.jpg").write_bytes(_first_image(pbc_sample).read_bytes())
    assert main(["cnn", "predict", str(tmp_path / "m.pt"), str(unlabelled), "-o", str(tmp_path / "p.csv"),
                 "--quiet"]) == 0
    text = (tmp_path / "p.csv").read_text().splitlines()
    assert len(text) == 2 and text[0].startswith("id,fold,actual,weight,p_neutrophil")
    assert text[1].split(",")[2] == ""  # unlabelled: actual empty


def _first_image(folder) -> Path:
    with open(folder / "labels.csv", newline="", encoding="utf-8") as handle:
        return folder / next(csv.DictReader(handle))["image"]


def test_cli_refuses_one_class_data(pbc_sample, capsys):
    from wekawbc.cli import main

    code = main(["cnn", "evaluate", str(pbc_sample), "--folds", "2", "--class-counts", "monocyte=5",
                 "--image-size", "16", "--quiet"])
    assert code == 1 and "one class only (monocyte)" in capsys.readouterr().err


def test_cli_subsample_writes_the_subset_in_record_order(pbc_sample, tmp_path, capsys):
    from wekawbc.cells.dataset import load_dataset
    from wekawbc.cli import main

    assert main(["cnn", "subsample", str(pbc_sample), "--class-counts", "neutrophil=5,monocyte=3",
                 "-o", str(tmp_path)]) == 0
    subset = load_dataset(tmp_path, allow_outside=True)  # the subset names the images by absolute path
    full = load_dataset(pbc_sample)
    expected = subsample_counts([r.label for r in full], {"neutrophil": 5, "monocyte": 3}, seed=1)
    assert [r.image for r in subset] == [full[i].image.resolve() for i in expected]
    assert "8 of 61 images" in capsys.readouterr().out

"""Label-free adaptation: a CNN fine-tuned on a new lab's images with another classifier's confident
predictions as classes (``wekawbc.cnn.adapt.fine_tune_on_pseudo_labels``). Real ``pbc/`` and ``jtsc/``
crops, a tiny network, one epoch; what it does across labs is measured in docs/cross_lab.md
(benchmarks/cross_lab_distill.py)."""

from __future__ import annotations

import numpy as np
import pytest

from wekawbc._io import WekawbcError

torch = pytest.importorskip("torch")

from test_cnn_adabn import crops, model  # noqa: E402, F401  (the fixtures: tiny pbc model, pbc and jtsc crops)

from wekawbc.cells.dataset import CLASSES  # noqa: E402
from wekawbc.cnn.adapt import confident_per_class, fine_tune_on_pseudo_labels  # noqa: E402


def _teacher(y: np.ndarray, n_classes: int) -> np.ndarray:
    """A teacher that names each cell's class, sure (0.95) on even positions and unsure (0.5) on odd ones."""
    sure = np.where(np.arange(y.size) % 2 == 0, 0.95, 0.5)
    distribution = np.tile(((1 - sure) / (n_classes - 1))[:, None], (1, n_classes))
    distribution[np.arange(y.size), y] = sure
    return distribution


def test_confident_per_class_keeps_the_most_confident_of_each_predicted_class():
    distribution = np.array([[0.9, 0.1], [0.6, 0.4], [0.95, 0.05], [0.2, 0.8], [0.45, 0.55], [0.7, 0.3]])
    assert confident_per_class(distribution, 0.6).tolist() == [0, 1, 2, 3, 5]
    assert confident_per_class(distribution, 0.6, per_class=2).tolist() == [0, 2, 3]
    assert confident_per_class(distribution, 0.99).tolist() == []


def test_fine_tunes_on_the_confident_pseudo_labels_only(model, crops):  # noqa: F811
    _, jtsc = crops
    images, y = jtsc.images[:60], jtsc.y[:60]
    teacher = _teacher(y, len(CLASSES))
    before = {k: v.clone() for k, v in model.network.state_dict().items()}
    tuned, chosen = fine_tune_on_pseudo_labels(model, images, teacher, threshold=0.9, per_class=4, epochs=1,
                                               threads=1)
    assert chosen.size and (chosen % 2 == 0).all()  # the unsure half never reaches training
    assert np.bincount(y[chosen], minlength=len(CLASSES)).max() <= 4
    # trained on the teacher's classes of exactly those cells
    assert tuned.train_counts == np.bincount(y[chosen], minlength=len(CLASSES)).tolist()
    assert tuned.settings.balance == "sampler" and tuned.settings.validation_fraction == 0.0
    after = model.network.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the model given is not changed
    assert any(not torch.equal(before[k], v) for k, v in tuned.network.state_dict().items())


def test_bad_pseudo_labels_are_refused(model, crops):  # noqa: F811
    _, jtsc = crops
    images = jtsc.images[:10]
    with pytest.raises(WekawbcError, match="probabilities for 10 image"):
        fine_tune_on_pseudo_labels(model, images, np.full((9, len(CLASSES)), 0.2), threshold=0.5)
    one_class = np.zeros((10, len(CLASSES)))
    one_class[:, 0] = 1.0
    with pytest.raises(WekawbcError, match="fewer than two classes"):
        fine_tune_on_pseudo_labels(model, images, one_class, threshold=0.5)


@pytest.mark.slow  # two interpreter starts importing torch
def test_cli_adapt_with_pseudo_labels(model, crops, datasets, tmp_path):  # noqa: F811
    import json
    import subprocess
    import sys

    from wekawbc.cnn.model_file import save_model
    from wekawbc.predictions import Predictions, read_predictions_csv, write_predictions_csv

    _, jtsc = crops
    model_path = save_model(model, tmp_path / "tiny.pt")
    teacher = _teacher(jtsc.y, len(CLASSES))[:, ::-1]  # columns in another order than the model's
    preds = write_predictions_csv(Predictions(tuple(CLASSES[::-1]), np.full(len(jtsc.y), -1), teacher,
                                              ids=jtsc.ids), tmp_path / "teacher.csv")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "wekawbc", "cnn", "adapt", str(model_path), str(datasets / "jtsc"),
                           "--pseudo-labels", str(preds), "--confidence", "0.9", "--pseudo-per-class", "3",
                           "--epochs", "1", "--threads", "1", "--bootstrap", "0", "--quiet", "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = json.loads((out / "adapt.json").read_text())
    expected = confident_per_class(_teacher(jtsc.y, len(CLASSES)), 0.9, 3)
    assert document["matched"] == len(jtsc.y) and sorted(document["train_ids"]) == sorted(jtsc.ids[i] for i in expected)
    assert list(document["pseudo_class_counts"].values()) == np.bincount(jtsc.y[expected], minlength=5).tolist()
    assert read_predictions_csv(out / "predictions.csv").n_instances == len(jtsc.y)
    assert "evaluation" in document and (out / "model_pseudo.pt").is_file()
    no_ids = tmp_path / "no_ids.csv"
    write_predictions_csv(Predictions(tuple(CLASSES), np.full(3, -1), np.full((3, 5), 0.2)), no_ids)
    bad = subprocess.run([sys.executable, "-m", "wekawbc", "cnn", "adapt", str(model_path), str(datasets / "jtsc"),
                          "--pseudo-labels", str(no_ids), "--out", str(tmp_path / "bad")], capture_output=True, text=True)
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0 and "no 'id' column" in bad.stderr
    assert not (tmp_path / "bad").exists()

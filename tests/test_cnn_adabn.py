"""Batch-norm statistics re-estimated on another lab's images (AdaBN, ``--adapt-bn``): real crops of
``pbc/`` and ``jtsc/``, a tiny network; the cross-lab accuracies it gives are in docs/cross_lab.md."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from wekawbc._io import WekawbcError

torch = pytest.importorskip("torch")

from wekawbc.cells.dataset import CLASSES  # noqa: E402
from wekawbc.cnn.images import load_crops  # noqa: E402
from wekawbc.cnn.model_file import save_model  # noqa: E402
from wekawbc.cnn.settings import TrainSettings  # noqa: E402
from wekawbc.cnn.training import adapt_batch_norm, predict_proba, train_cnn  # noqa: E402

TINY = TrainSettings(epochs=1, image_size=24, channels=(8, 16), batch_size=16, threads=1, seed=3, framing="cell")


@pytest.fixture(scope="module")
def crops(datasets):
    pbc = load_crops(datasets / "pbc", **TINY.input_options(), class_counts=dict.fromkeys(CLASSES, 6),
                     subsample_seed=2)
    jtsc = load_crops(datasets / "jtsc", **TINY.input_options())
    return pbc, jtsc


@pytest.fixture(scope="module")
def model(crops):
    pbc, _ = crops
    return train_cnn(pbc.images, pbc.y, pbc.labels, TINY, ids=pbc.ids)


def _first_layer_input(model, images: np.ndarray) -> torch.Tensor:
    """What the first batch-norm layer sees for ``images``: the first convolution of the standardised input."""
    mean = torch.tensor(model.preprocessing.mean).view(1, 3, 1, 1)
    std = torch.tensor(model.preprocessing.std).view(1, 3, 1, 1)
    x = (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0 - mean) / std
    with torch.no_grad():
        return model.network.features[0](x)


@pytest.mark.parametrize("batch_size", [512, 100])
def test_batch_norm_takes_the_new_labs_statistics(model, crops, batch_size):
    _, jtsc = crops
    before = model.network.features[1].running_mean.clone()
    adapted = adapt_batch_norm(model, jtsc.images, batch_size=batch_size, threads=1)
    layer = adapted.network.features[1]
    conv = _first_layer_input(model, jtsc.images)
    assert torch.allclose(layer.running_mean, conv.mean(dim=(0, 2, 3)), atol=1e-4)
    if batch_size >= len(jtsc.images):  # one pass: the exact (unbiased) variance
        expected = conv.permute(1, 0, 2, 3).reshape(conv.shape[1], -1).var(dim=1, unbiased=True)
        assert torch.allclose(layer.running_var, expected, rtol=1e-3)
    # the model itself keeps the training lab's statistics; the copy predicts differently
    assert torch.equal(model.network.features[1].running_mean, before)
    assert not torch.allclose(layer.running_mean, before)
    assert not np.allclose(predict_proba(adapted, jtsc.images), predict_proba(model, jtsc.images))
    assert not adapted.network.training


def test_balanced_adaptation_resamples_at_the_predicted_class_mix(model, crops):
    """jtsc is 59 % neutrophils: the balanced statistics are those of a resample drawn to equal predicted classes."""
    _, jtsc = crops
    plain = adapt_batch_norm(model, jtsc.images)
    assert torch.equal(adapt_batch_norm(model, jtsc.images, balanced_rounds=0).network.features[1].running_mean,
                       plain.network.features[1].running_mean)
    balanced = adapt_batch_norm(model, jtsc.images, balanced_rounds=2, seed=4)
    again = adapt_batch_norm(model, jtsc.images, balanced_rounds=2, seed=4)
    assert torch.equal(balanced.network.features[1].running_mean, again.network.features[1].running_mean)
    assert not torch.allclose(balanced.network.features[1].running_mean, plain.network.features[1].running_mean)
    # the oracle: the same draw by hand, then plain AdaBN on the drawn images
    generator = np.random.default_rng(4)
    current = plain
    for _ in range(2):
        predicted = predict_proba(current, jtsc.images).argmax(axis=1)
        weights = 1.0 / np.bincount(predicted)[predicted]
        current = adapt_batch_norm(model, jtsc.images[generator.choice(len(jtsc.images), size=len(jtsc.images),
                                                                        p=weights / weights.sum())])
    assert torch.allclose(balanced.network.features[1].running_mean, current.network.features[1].running_mean)
    with pytest.raises(ValueError, match="balanced_rounds"):
        adapt_batch_norm(model, jtsc.images, balanced_rounds=-1)


def test_without_batch_norm_nothing_changes_and_bad_input_is_refused(crops, model):
    pbc, jtsc = crops
    group = train_cnn(pbc.images, pbc.y, pbc.labels, replace(TINY, norm="group"))
    assert np.array_equal(predict_proba(adapt_batch_norm(group, jtsc.images), jtsc.images),
                          predict_proba(group, jtsc.images))
    with pytest.raises(WekawbcError, match="at least two images"):
        adapt_batch_norm(model, jtsc.images[:1])
    with pytest.raises(WekawbcError, match="expects"):
        adapt_batch_norm(model, np.zeros((4, 32, 32, 3), np.uint8))


def _wekawbc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wekawbc", *args], capture_output=True, text=True)


@pytest.mark.slow  # three interpreter starts importing torch
def test_cli_predict_adapt_bn_and_evaluate_refuses_it_without_test(model, datasets, tmp_path):
    path = save_model(model, tmp_path / "m.pt")
    images = tmp_path / "cells"
    images.mkdir()
    for name in ("001", "002", "003", "004"):
        (images / f"{name}.bmp").write_bytes((datasets / "jtsc" / "images" / f"{name}.bmp").read_bytes())
    plain = _wekawbc("cnn", "predict", str(path), str(images), "-o", str(tmp_path / "p.csv"), "--quiet")
    adapted = _wekawbc("cnn", "predict", str(path), str(images), "-o", str(tmp_path / "a.csv"), "--quiet",
                       "--adapt-bn")
    assert plain.returncode == 0 and adapted.returncode == 0, adapted.stderr
    assert "batch-norm statistics re-estimated on the 4 image(s) (--adapt-bn all)" in adapted.stderr
    assert (tmp_path / "p.csv").read_text() != (tmp_path / "a.csv").read_text()
    refused = _wekawbc("cnn", "evaluate", str(datasets / "pbc"), "--folds", "2", "--adapt-bn", "--epochs", "1")
    assert refused.returncode != 0 and refused.stderr.strip() == (
        "wekawbc: error: --adapt-bn applies to --test only (another lab's images)")

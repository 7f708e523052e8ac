"""Label-free prior-shift adaptation (``wekawbc.predictions.adjust_priors``: EM of Saerens, Latinne &
Decaestecker 2002) and its ``--adapt-priors`` options; the cross-lab numbers are in docs/cross_lab.md."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from wekawbc._io import WekawbcError
from wekawbc.cli import main
from wekawbc.predictions import Predictions, adjust_priors, read_predictions_csv

LOGISTIC = "weka.classifiers.functions.Logistic -R 1.0 -M -1"


def _two_class(rng: np.random.Generator) -> Predictions:
    p = rng.uniform(0.02, 0.98, size=40)
    return Predictions(("a", "b"), rng.integers(0, 2, size=40), np.column_stack([p, 1 - p]))


def test_em_equals_the_direct_fixed_point_and_the_adjusted_probabilities_follow_bayes():
    predictions = _two_class(np.random.default_rng(7))
    q0 = np.array([0.3, 0.7])  # the priors the classifier was trained at
    result = adjust_priors(predictions, q0, tolerance=1e-12)
    P = predictions.distribution

    def excess(q: float) -> float:  # the EM fixed point: mean adjusted probability of "a" equals q
        ratio = np.array([q, 1 - q]) / q0
        adjusted = P * ratio / (P * ratio).sum(axis=1, keepdims=True)
        return adjusted[:, 0].mean() - q

    q = brentq(excess, 1e-9, 1 - 1e-9, xtol=1e-14)
    assert result.converged and result.iterations > 1
    assert result.priors == pytest.approx([q, 1 - q], abs=1e-9)
    ratio = np.array([q, 1 - q]) / q0
    direct = P * ratio / (P * ratio).sum(axis=1, keepdims=True)
    assert np.allclose(result.predictions.distribution, direct, atol=1e-9)
    assert np.array_equal(result.predictions.actual, predictions.actual)  # labels untouched, never read


def test_one_step_by_hand_and_weights_act_as_repeated_rows():
    P = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    predictions = Predictions(("x", "y", "z"), [0, 1, 2], P)
    one = adjust_priors(predictions, {"x": 1, "y": 1, "z": 2}, max_iterations=1)
    # First step from q0 = (0.25, 0.25, 0.5): the ratio is 1, so q1 is the mean of P; then re-weight by q1/q0.
    q1 = P.mean(axis=0)
    expected = P * (q1 / [0.25, 0.25, 0.5])
    expected /= expected.sum(axis=1, keepdims=True)
    assert one.iterations == 1 and not one.converged
    assert np.allclose(one.priors, q1) and np.allclose(one.predictions.distribution, expected)
    weighted = adjust_priors(Predictions(("x", "y", "z"), [0, 1, 2], P, weight=[2, 1, 1]), [1, 1, 1])
    repeated = adjust_priors(Predictions(("x", "y", "z"), [0, 0, 1, 2], P[[0, 0, 1, 2]]), [1, 1, 1])
    assert np.allclose(weighted.priors, repeated.priors)
    text = weighted.describe()
    assert text.startswith("Class priors estimated by EM") and "x " in text
    assert set(weighted.to_dict()["estimated_priors"]) == {"x", "y", "z"}


def test_bad_input_is_a_clear_one_line_error():
    hard = Predictions(("a", "b"), [0, 1, 1], [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    with pytest.raises(WekawbcError, match="hard labels only"):
        adjust_priors(hard, [1, 1])
    soft = Predictions(("a", "b"), [0, 1], [[0.7, 0.3], [0.4, 0.6]])
    with pytest.raises(WekawbcError, match="differ from the predicted classes"):
        adjust_priors(soft, {"a": 1, "c": 1})
    with pytest.raises(WekawbcError, match="no training instances"):
        adjust_priors(soft, [1, 0])
    with pytest.raises(WekawbcError, match="3 training priors for 2"):
        adjust_priors(soft, [1, 1, 1])
    with pytest.raises(WekawbcError, match="no training class counts"):
        adjust_priors(soft)
    with pytest.raises(WekawbcError, match="not probabilities"):
        adjust_priors(Predictions(("a", "b"), [0, 1], [[0.7, 0.7], [0.4, 0.6]]), [1, 1])


@pytest.fixture(scope="module")
def pbc_cells(datasets, tmp_path_factory):
    """Real features of 60 pbc cells per class (seeded): 40 per class to train on, and a held-out test set
    drawn at a known skewed mix (20 neutrophils, 4 of each other type: 56 % neutrophils, as jtsc and bccd)."""
    from wekawbc.experiment.data import extract_table, select_cells
    from wekawbc.experiment.scaleout import SerialExecutor

    counts = {name: 60.0 for name in ("neutrophil", "eosinophil", "basophil", "lymphocyte", "monocyte")}
    selection = select_cells("pbc", datasets / "pbc", counts, 1, allow_outside=True)
    table = extract_table(selection, {}, tmp_path_factory.mktemp("cache"), SerialExecutor(), progress=False)
    label_of = {str(r.image): r.label for r in selection.records}
    frame = pd.DataFrame(table.values, columns=list(table.names))
    labels = [label_of[i] for i in table.ids]
    frame["class"] = pd.Categorical(labels, categories=list(counts))
    train, test = [], []
    for name in counts:
        rows = np.flatnonzero(np.array(labels) == name)
        train += rows[:40].tolist()
        test += rows[40:40 + (20 if name == "neutrophil" else 4)].tolist()
    truth = np.array([20, 4, 4, 4, 4]) / 36
    return frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True), truth


@pytest.mark.slow  # extracts 300 real pbc cells: 20-60 s on the shared machine
def test_weka_on_real_features_estimates_a_known_skewed_mix_and_keeps_accuracy(jvm, pbc_cells, tmp_path):
    from wekawbc.evaluation import evaluate
    from wekawbc.weka import run_classifier

    train, test, truth = pbc_cells
    run = run_classifier(train, LOGISTIC, test=test)
    result = adjust_priors(run.predictions)  # the training priors from Weka's own training counts (equal here)
    assert np.allclose(result.train_priors, 0.2)
    assert np.abs(result.priors - truth).max() < 0.08, result.priors
    assert abs(result.priors[0] - truth[0]) < abs(0.2 - truth[0]) / 3  # far nearer the truth than the training mix
    before, after = evaluate(run.predictions).pct_correct, evaluate(result.predictions).pct_correct
    assert after >= before - 100 / 36  # at most one cell lost

    # The same through the command line: the run folder and JSON record the estimate; the CSV holds the adjusted.
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "run"
    assert main(["weka", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"), "--classifier", LOGISTIC,
                 "--adapt-priors", "--out", str(out), "--json", str(tmp_path / "run.json"),
                 "--predictions", str(tmp_path / "p.csv"), "-o"]) == 0
    document = json.loads((tmp_path / "run.json").read_text())
    estimated = document["prior_adjustment"]["estimated_priors"]
    assert list(estimated.values()) == pytest.approx(result.priors.tolist(), abs=1e-9)
    assert np.allclose(read_predictions_csv(tmp_path / "p.csv").distribution, result.predictions.distribution)
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["prior_adjustment"]["iterations"] == result.iterations
    assert "class priors adjusted" in (out / "weka.txt").read_text()


def test_adapt_priors_needs_a_test_set(capsys, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,class\n1,x\n2,y\n")
    assert main(["weka", str(csv), "--classifier", LOGISTIC, "--adapt-priors"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["wekawbc: error: --adapt-priors applies to --test only (a test set whose class mix may differ)"]
    assert main(["cnn", "evaluate", str(tmp_path), "--folds", "2", "--adapt-priors"]) != 0
    assert "--adapt-priors applies to --test only" in capsys.readouterr().err


@pytest.mark.slow  # a whole run (extraction, grid, cross-lab) on two small synthetic labs: 20-40 s
def test_run_config_adapt_priors_equals_em_on_wekas_supplied_test_predictions(jvm, tmp_path):
    from wekawbc.evaluation import evaluate
    from wekawbc.experiment.config import parse_config
    from wekawbc.experiment.runner import run_experiment
    from wekawbc.experiment.scaleout import SerialExecutor
    from wekawbc.synthetic import scaled_counts, write_dataset
    from wekawbc.weka import run_classifier

    labs = {name: write_dataset(tmp_path / name, scaled_counts(0.05), seed=seed) for name, seed in (("a", 2), ("b", 5))}
    naive_bayes = "weka.classifiers.bayes.NaiveBayes"
    raw = {"name": "x", "datasets": [{"name": n, "path": str(p)} for n, p in labs.items()],
           "classifiers": [{"weka": naive_bayes}], "evaluation": {"folds": 3},
           "output": {"reports": str(tmp_path / "reports"), "arff": str(tmp_path / "arff"), "compare": ""},
           "cross_lab": {"train": ["a"], "test": ["b"], "bootstrap": 50, "adapt_priors": True}}
    outcome = run_experiment(parse_config(raw), SerialExecutor(), progress=False)
    document = json.loads((outcome.run_dir / "cross_lab.json").read_text())
    assert document["adapt_priors"] is True
    row = next(r for r in document["results"] if r["test"] == "b")
    # The oracle: Weka trained on all of "a", tested on "b" (the ARFFs the run wrote), then the EM of this module.
    arff = {p.name.split("-")[1]: p for p in outcome.arff_files}
    expected = adjust_priors(run_classifier(str(arff["a"]), naive_bayes, test=str(arff["b"])).predictions)
    assert list(row["prior_adjustment"]["estimated_priors"].values()) == pytest.approx(expected.priors.tolist(),
                                                                                        abs=1e-9)
    assert row["accuracy"]["estimate"] == pytest.approx(evaluate(expected.predictions).pct_correct / 100, abs=1e-12)
    with pytest.raises(WekawbcError, match="adapt_priors"):
        parse_config({**raw, "cross_lab": {"train": ["a"], "test": ["b"], "adapt_priors": "yes"}})


def test_cnn_predict_and_evaluate_adapt_priors_on_real_crops(datasets, tmp_path):
    """A tiny network on 6 pbc crops per class (balanced sampler: equal priors), 12 jtsc crops to predict."""
    pytest.importorskip("torch")
    from wekawbc.cells.dataset import CLASSES
    from wekawbc.cnn.images import load_crops
    from wekawbc.cnn.model_file import save_model
    from wekawbc.cnn.settings import TrainSettings
    from wekawbc.cnn.training import train_cnn

    tiny = TrainSettings(epochs=1, image_size=24, channels=(8, 16), batch_size=16, threads=1, seed=3)
    pbc = load_crops(datasets / "pbc", **tiny.input_options(), class_counts=dict.fromkeys(CLASSES, 6),
                     subsample_seed=2, progress=False)
    model = save_model(train_cnn(pbc.images, pbc.y, pbc.labels, tiny, ids=pbc.ids), tmp_path / "m.pt")
    images = tmp_path / "cells"
    images.mkdir()
    for number in range(1, 13):
        name = f"{number:03d}.bmp"
        (images / name).write_bytes((datasets / "jtsc" / "images" / name).read_bytes())
    common = ["cnn", "predict", str(model), str(images), "--quiet", "--threads", "1", "--mode", "crop"]
    assert main([*common, "-o", str(tmp_path / "p.csv")]) == 0
    assert main([*common, "-o", str(tmp_path / "a.csv"), "--adapt-priors"]) == 0
    expected = adjust_priors(read_predictions_csv(tmp_path / "p.csv"), [1.0] * 5)
    assert np.allclose(read_predictions_csv(tmp_path / "a.csv").distribution, expected.predictions.distribution)
    recorded = json.loads((tmp_path / "a.priors.json").read_text())
    assert recorded["iterations"] == expected.iterations
    assert list(recorded["estimated_priors"].values()) == pytest.approx(expected.priors.tolist())

    rows = (datasets / "jtsc" / "labels.csv").read_text().splitlines()
    labels = [f"{r.split(',')[0].split('/')[-1]},{r.split(',')[2]}" for r in rows[1:13]]
    (images / "labels.csv").write_text("\n".join(["image,label", *labels]) + "\n")
    out = tmp_path / "run"
    assert main(["cnn", "evaluate", str(datasets / "pbc"), "--class-counts", "neutrophil=4,eosinophil=4,basophil=4,"
                 "lymphocyte=4,monocyte=4", "--test", str(images), "--epochs", "1", "--image-size", "24",
                 "--threads", "1", "--quiet", "--bootstrap", "0", "--adapt-priors", "--out", str(out),
                 "--allow-outside"]) == 0
    report = json.loads((out / "report.json").read_text())
    adjustment = report["settings"]["test"]["prior_adjustment"]
    assert adjustment["iterations"] >= 1 and sum(adjustment["estimated_priors"].values()) == pytest.approx(1.0)

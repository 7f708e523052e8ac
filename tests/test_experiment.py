"""Experiment configuration, the grid on Weka's folds, and resuming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wekawbc._io import WekawbcError
from wekawbc.experiment.config import load_config, parse_config, validate_weka_classifiers
from wekawbc.experiment.data import extract_table, select_cells
from wekawbc.experiment.grid import assemble_predictions, cnn_fold_settings, plan_folds, weka_fold
from wekawbc.experiment.scaleout import SerialExecutor
from wekawbc.synthetic import scaled_counts, write_dataset


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("cells"), scaled_counts(0.1), seed=2)


@pytest.fixture(scope="module")
def features(cells: Path, tmp_path_factory: pytest.TempPathFactory):
    selection = select_cells("cells", cells, None, 1)
    table = extract_table(selection, {}, tmp_path_factory.mktemp("cache"), SerialExecutor(), progress=False)
    labels = selection.labels("five")
    by_id = {str(r.image): r for r in selection.records}
    codes = np.array([labels.index(by_id[i].task_label("five")) for i in table.ids])
    return table, labels, codes


def _minimal(path: Path, **extra) -> dict:
    return {"datasets": [{"path": str(path)}], "classifiers": [{"weka": "weka.classifiers.trees.J48"}], **extra}


def test_config_resolves_defaults_and_paper_mix(cells: Path, tmp_path: Path):
    config_file = tmp_path / "x.toml"
    config_file.write_text(f"""
name = "x"
[[datasets]]
path = "{cells}"
class_counts = "paper"
[task]
tasks = "both"
[evaluation]
folds = 5
repetitions = 3
seed = 4
[[classifiers]]
weka = "weka.classifiers.trees.J48 -C 0.25"
strategies = ["none", "class_balancer"]
[[classifiers]]
cnn = {{ epochs = 2 }}
strategies = ["weights"]
""")
    config = load_config(config_file)
    assert config.tasks == ("five", "binary")
    assert config.datasets[0].class_counts["neutrophil"] == 556
    assert config.evaluation.seeds() == [4, 5, 6]
    assert [config.scheme_name(c, s) for c, s in config.schemes()] == ["J48", "J48+class_balancer", "CNN+weights"]
    assert config.to_dict()["datasets"][0]["path"] == str(cells)


@pytest.mark.parametrize("change, message", [
    ({"classifers": []}, "unknown key.*classifers"),
    ({"evaluation": {"folds": 10, "split": 66}}, "both 'folds' and 'split'"),
    ({"evaluation": {"fold": 10}}, r"unknown key.*\['fold'\].*\[evaluation\]"),
    ({"evaluation": {"folds": 1}}, "evaluation.folds"),
    ({"evaluation": {"baseline": "ZeroR"}}, "evaluation.baseline"),
    ({"classifiers": [{"name": "x"}]}, "exactly one of 'weka'"),
    ({"classifiers": [{"weka": "weka.classifiers.trees.J48", "strategies": ["smoot"]}]}, "smoot"),
    ({"classifiers": [{"cnn": {}, "strategies": ["smote"]}]}, "do not apply to a CNN"),
    ({"task": {"tasks": "three"}}, "task.tasks"),
    ({"datasets": [{"path": "/no/such/folder"}]}, "/no/such/folder.*does not exist"),
    ({"datasets": [{"path": "."}], "seed": "one"}, "'seed' must be an integer"),
])
def test_bad_config_names_the_key(cells: Path, change: dict, message: str):
    raw = {**_minimal(cells), **change}
    with pytest.raises(WekawbcError, match=message):
        parse_config(raw, source="bad.toml")


def test_misspelt_weka_classifier_fails_early(jvm, cells: Path):
    config = parse_config({**_minimal(cells), "classifiers": [{"weka": "weka.classifiers.trees.J84"}]}, source="c.toml")
    with pytest.raises(WekawbcError, match=r"classifiers\[0\].weka.*J84"):
        validate_weka_classifiers(config)
    bad_option = parse_config({**_minimal(cells), "classifiers": [{"weka": "weka.classifiers.trees.J48 -Q x"}]})
    with pytest.raises(WekawbcError, match="Weka cannot create it"):
        validate_weka_classifiers(bad_option)


def test_bad_toml_and_missing_file(tmp_path: Path):
    with pytest.raises(WekawbcError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(WekawbcError, match="not valid TOML"):
        load_config(broken)


@pytest.mark.parametrize("command", ["weka.classifiers.trees.J48", "weka.classifiers.trees.RandomForest -I 20",
                                     "weka.classifiers.functions.Logistic"])
def test_grid_equals_wekas_own_cross_validation(jvm, features, command):
    """Per-fold tasks reproduce Weka's crossValidateModel on the same data, instance by instance."""
    from wekawbc.weka import run_classifier

    table, labels, codes = features
    plans = plan_folds(codes, seed=3, folds=4)
    distributions = [weka_fold(command, "none", table.values, codes, labels, p.train, p.test, p.seed) for p in plans]
    ours = assemble_predictions(labels, codes, plans, distributions, table.ids)
    frame = pd.DataFrame(table.values, columns=[f"f{j}" for j in range(table.values.shape[1])])
    frame["class"] = pd.Categorical([labels[c] for c in codes], categories=list(labels))
    weka = run_classifier(frame, command, folds=4, seed=3).predictions
    rows = np.array(weka.ids, dtype=np.int64)  # Weka's evaluation order, as row numbers of the data
    assert np.array_equal(weka.fold, ours.fold[rows])
    np.testing.assert_allclose(ours.distribution[rows], weka.distribution, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.train_counts, weka.train_counts)


def test_cnn_fold_settings_fill_in_the_defaults():
    """What a CNN fold trains with, and what its run folder records: the configured settings over the defaults."""
    from wekawbc.cnn.settings import TrainSettings

    resolved = cnn_fold_settings({"epochs": 20, "patience": 5}, "weights", 7)
    defaults = TrainSettings()
    assert (resolved.epochs, resolved.patience, resolved.balance, resolved.seed) == (20, 5, "weights", 7)
    assert resolved.image_size == defaults.image_size and resolved.learning_rate == defaults.learning_rate
    assert resolved.threads == 1  # folds run side by side
    assert cnn_fold_settings({"threads": 2}, "sampler", 1).threads == 2
    # The strategy and the repetition's seed win over the same keys in the settings.
    assert cnn_fold_settings({"balance": "none", "seed": 3}, "sampler", 1).to_dict()["balance"] == "sampler"
    assert cnn_fold_settings({"balance": "none", "seed": 3}, "sampler", 1).seed == 1


def test_split_plan_is_wekas(features):
    from wekawbc.protocol.folds import split_indices

    _, _, codes = features
    (plan,) = plan_folds(codes, seed=2, split=66)
    train, test = split_indices(len(codes), 66, 2)
    assert np.array_equal(plan.train, train) and np.array_equal(plan.test, test)


def test_features_are_cached(cells: Path, tmp_path: Path):
    selection = select_cells("cells", cells, {"neutrophil": 5, "lymphocyte": 4}, 1)
    first = extract_table(selection, {}, tmp_path, SerialExecutor(), progress=False)
    again = extract_table(selection, {}, tmp_path, SerialExecutor(), progress=False)
    assert not first.from_cache and again.from_cache
    np.testing.assert_array_equal(first.values, again.values)
    assert first.ids == again.ids and len(first.ids) == 9
    other = extract_table(selection, {"mode": "field"}, tmp_path, SerialExecutor(), progress=False)
    assert not other.from_cache
    with pytest.raises(WekawbcError, match=r"\[features\].*colour"):
        extract_table(selection, {"colour": 1}, tmp_path, SerialExecutor(), progress=False)

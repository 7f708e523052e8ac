"""``wekawbc run`` across labs: external test sets beside in-lab CV, leave-one-group-out folds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wekawbc._io import WekawbcError
from wekawbc.experiment.config import parse_config
from wekawbc.experiment.runner import run_experiment
from wekawbc.experiment.scaleout import SerialExecutor
from wekawbc.synthetic import scaled_counts, write_dataset

J48 = "weka.classifiers.trees.J48"


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two synthetic "labs" (different seeds) and one folder whose labels.csv names the lab of each image."""
    root = tmp_path_factory.mktemp("labs")
    folders = {name: write_dataset(root / name, scaled_counts(0.05), seed=seed) for name, seed in (("a", 2), ("b", 5))}
    pooled = root / "pooled"
    pooled.mkdir()
    rows = []
    for name, folder in folders.items():
        with open(folder / "labels.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append({"image": str((folder / row["image"]).resolve()), "label": row["label"], "lab": name})
    with open(pooled / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "label", "lab"])
        writer.writeheader()
        writer.writerows(rows)
    return {**folders, "pooled": pooled}


def _config(labs, out: Path, **extra) -> dict:
    return {"name": "x", "datasets": [{"name": "a", "path": str(labs["a"])}, {"name": "b", "path": str(labs["b"])}],
            "classifiers": [{"weka": J48}], "evaluation": {"folds": 3},
            "output": {"reports": str(out / "reports"), "arff": str(out / "arff"), "compare": ""}, **extra}


@pytest.mark.slow  # a whole run (extraction, grid, cross-lab): 20-40 s on the shared machine
def test_cross_lab_scores_equal_wekas_supplied_test_set_and_sit_beside_in_lab_cv(jvm, labs, tmp_path):
    from wekawbc.weka import run_classifier

    raw = _config(labs, tmp_path, cross_lab={"train": ["a"], "test": ["b"], "bootstrap": 200})
    outcome = run_experiment(parse_config(raw), SerialExecutor(), progress=False)
    document = json.loads((outcome.run_dir / "cross_lab.json").read_text())
    rows = {r["test"]: r for r in document["results"]}
    assert set(rows) == {"in-lab cross-validation", "b"}
    # The oracle: Weka trained on all of "a" and evaluated on the supplied test set "b" (the ARFFs the run wrote).
    arff = {p.name.split("-")[1]: p for p in outcome.arff_files}
    weka = run_classifier(str(arff["a"]), J48, test=str(arff["b"]))
    assert rows["b"]["accuracy"]["estimate"] == pytest.approx(weka.statistics["pct_correct"] / 100, abs=1e-12)
    low, high = rows["b"]["accuracy"]["low"], rows["b"]["accuracy"]["high"]
    assert low <= rows["b"]["accuracy"]["estimate"] <= high and low < high
    markdown = (outcome.run_dir / "cross_lab.md").read_text()
    assert "a in-lab CV" in markdown and "a → b" in markdown  # side by side, one row per scheme
    assert "Cross-lab" in outcome.report_html.read_text()


@pytest.mark.slow  # a whole run (extraction, grid, cross-lab): 20-40 s on the shared machine
def test_test_classes_missing_from_training_are_left_out_with_a_note(jvm, labs, tmp_path):
    raw = _config(labs, tmp_path, cross_lab={"train": ["a"], "test": ["b"], "bootstrap": 50})
    raw["datasets"][0]["class_counts"] = {"neutrophil": 10, "lymphocyte": 6, "eosinophil": 4}
    outcome = run_experiment(parse_config(raw), SerialExecutor(), progress=False)
    result = next(r for r in json.loads((outcome.run_dir / "cross_lab.json").read_text())["results"]
                  if r["test"] == "b")
    assert "left out" in result["note"] and "monocyte" in result["note"]
    predictions = pd.read_csv(next((outcome.run_dir / "cross_lab").rglob("b.predictions.csv")))
    assert len(predictions) == result["n_test"] < 50


@pytest.mark.slow  # a whole run (extraction, grid, cross-lab): 20-40 s on the shared machine
def test_leave_one_group_out_folds_are_the_groups(jvm, labs, tmp_path):
    # The pooled index names the two labs' images in their own folders: allowed explicitly.
    raw = {**_config(labs, tmp_path), "datasets": [{"name": "pooled", "path": str(labs["pooled"]),
                                                    "allow_outside": True}],
           "evaluation": {"groups": "lab"}}
    outcome = run_experiment(parse_config(raw), SerialExecutor(), progress=False)
    predictions = pd.read_csv(next((outcome.run_dir / "grid").rglob("predictions.csv")))
    lab_of = {}
    with open(labs["pooled"] / "labels.csv", newline="") as handle:
        lab_of = {str(Path(r["image"]).resolve()): r["lab"] for r in csv.DictReader(handle)}
    id_column = next(c for c in predictions.columns if c in ("id", "ids", "instance", "row"))
    folds = predictions.groupby(predictions[id_column].map(lambda i: lab_of[str(Path(i).resolve())]))["fold"].unique()
    assert sorted(len(f) for f in folds) == [1, 1] and folds["a"][0] != folds["b"][0]
    assert "leave-one-group-out" in outcome.report_md.read_text()


def test_one_group_and_bad_cross_lab_tables_are_refused(jvm, labs, tmp_path):
    raw = {**_config(labs, tmp_path), "datasets": [{"name": "a", "path": str(labs["a"])}],
           "evaluation": {"groups": "label"}}
    # Every image of "a" has a label but the column 'lab' does not exist there:
    raw["evaluation"] = {"groups": "lab"}
    with pytest.raises(WekawbcError, match="no 'lab' value"):
        run_experiment(parse_config(raw), SerialExecutor(), progress=False)
    with pytest.raises(WekawbcError, match="cross_lab.test.*not among"):
        parse_config(_config(labs, tmp_path, cross_lab={"train": ["a"], "test": ["c"]}))
    with pytest.raises(WekawbcError, match="training and testing"):
        parse_config(_config(labs, tmp_path, cross_lab={"train": ["a"], "test": ["a"]}))
    with pytest.raises(WekawbcError, match="groups.*'folds'"):
        parse_config({**_config(labs, tmp_path), "evaluation": {"groups": "lab", "folds": 3}})


def test_a_single_group_is_a_clear_error():
    from wekawbc.cells.dataset import CellRecord
    from wekawbc.experiment.crosslab import group_plans, group_values

    records = [CellRecord(image=Path(f"{i}.png"), label="neutrophil", extra={"lab": "one"}) for i in range(4)]
    with pytest.raises(WekawbcError, match="at least 2 groups.*'one'"):
        group_values(records, "lab", "x")
    plans = group_plans(np.array(["p", "q", "p", "r"], dtype=object), seed=1)
    assert [p.test.tolist() for p in plans] == [[0, 2], [1], [3]]
    assert [p.train.tolist() for p in plans] == [[1, 3], [0, 2, 3], [0, 1, 2]]


@pytest.mark.slow  # a whole run (extraction, grid, cross-lab): 20-40 s on the shared machine
def test_standardised_cross_lab_equals_weka_on_each_lab_standardised_alone(jvm, labs, tmp_path):
    from wekawbc.experiment.crosslab import robust_standardise
    from wekawbc.experiment.data import extract_table, select_cells
    from wekawbc.weka import run_classifier

    raw = _config(labs, tmp_path, cross_lab={"train": ["a"], "test": ["b"], "bootstrap": 50, "standardise": True})
    config = parse_config(raw)
    outcome = run_experiment(config, SerialExecutor(), progress=False)
    document = json.loads((outcome.run_dir / "cross_lab.json").read_text())
    assert document["standardise"] is True
    frames = {}
    for name in ("a", "b"):
        selection = select_cells(name, labs[name], None, 1)
        table = extract_table(selection, {}, config.output.cache_dir, SerialExecutor(), progress=False)
        assert table.from_cache
        by_id = {str(r.image): r.label for r in selection.records}
        frame = pd.DataFrame(robust_standardise(table.values), columns=list(table.names))
        frame["class"] = pd.Categorical([by_id[i] for i in table.ids], categories=list(selection.labels("five")))
        frames[name] = frame
    weka = run_classifier(frames["a"], J48, test=frames["b"])
    result = next(r for r in document["results"] if r["test"] == "b")
    assert result["accuracy"]["estimate"] == pytest.approx(weka.statistics["pct_correct"] / 100, abs=1e-12)
    column = robust_standardise(np.array([[1.0], [2.0], [3.0], [4.0], [np.nan]]))
    # median 2.5, interquartile range 3.25 - 1.75 = 1.5
    assert np.allclose(column[:4, 0], [-1, -1 / 3, 1 / 3, 1]) and np.isnan(column[4, 0])


def _lab_tables(labs, config) -> tuple[tuple, tuple]:
    """Labs ``a`` and ``b`` as the run extracts them: each its feature table, class codes and class names."""
    from wekawbc.experiment.data import extract_table, select_cells

    tables = []
    for name in ("a", "b"):
        selection = select_cells(name, labs[name], None, 1)
        table = extract_table(selection, {}, config.output.cache_dir, SerialExecutor(), progress=False)
        by_id = {str(r.image): r.label for r in selection.records}
        labels = list(selection.labels("five"))
        tables.append((table, np.array([labels.index(by_id[i]) for i in table.ids]), labels))
    return tables[0], tables[1]


@pytest.mark.slow  # a whole run plus the oracle's 9 Weka fits: 30-60 s on the shared machine
def test_prior_balanced_cross_lab_equals_weka_on_the_prior_balanced_tables(jvm, labs, tmp_path):
    from wekawbc.experiment.crosslab import prior_balanced_standardise
    from wekawbc.experiment.runner import PRIOR_BALANCED_ROUNDS
    from wekawbc.weka import run_classifier

    raw = _config(labs, tmp_path, cross_lab={"train": ["a"], "test": ["b"], "bootstrap": 50,
                                             "standardise": "prior-balanced"})
    config = parse_config(raw)
    outcome = run_experiment(config, SerialExecutor(), progress=False)
    document = json.loads((outcome.run_dir / "cross_lab.json").read_text())
    assert document["standardise"] == "prior-balanced"
    (train, y_train, labels), (test, y_test, _) = _lab_tables(labs, config)

    def frame(values, codes):
        result = pd.DataFrame(values, columns=list(train.names))
        result["class"] = pd.Categorical(np.asarray(labels, dtype=object)[codes], categories=labels)
        return result

    def fit_predict(X, y, Z):  # the oracle: Weka on its own, the test classes given but never read
        run = run_classifier(frame(X, y), J48, test=frame(Z, y_test))
        return np.asarray(run.predictions.distribution).argmax(axis=1)

    X_train, X_test, counts = prior_balanced_standardise([train.values], [y_train], test.values, fit_predict,
                                                         PRIOR_BALANCED_ROUNDS)
    weka = run_classifier(frame(X_train, y_train), J48, test=frame(X_test, y_test))
    result = next(r for r in document["results"] if r["test"] == "b")
    assert result["accuracy"]["estimate"] == pytest.approx(weka.statistics["pct_correct"] / 100, abs=1e-12)
    assert len(counts) == PRIOR_BALANCED_ROUNDS
    with pytest.raises(WekawbcError, match="prior-balanced"):
        parse_config(_config(labs, tmp_path, cross_lab={"train": ["a"], "test": ["b"], "standardise": "yes"}))


@pytest.mark.slow  # a whole run plus the oracle's 2 Weka fits: 30-60 s on the shared machine
def test_coral_cross_lab_equals_weka_on_the_aligned_tables(jvm, labs, tmp_path):
    from wekawbc.experiment.crosslab import class_balance_weights, coral_align, robust_standardise
    from wekawbc.experiment.runner import CORAL_RIDGE
    from wekawbc.weka import run_classifier

    raw = _config(labs, tmp_path, cross_lab={"train": ["a"], "test": ["b"], "bootstrap": 50, "standardise": True,
                                             "coral": "class-balanced"})
    config = parse_config(raw)
    outcome = run_experiment(config, SerialExecutor(), progress=False)
    document = json.loads((outcome.run_dir / "cross_lab.json").read_text())
    assert document["coral"] == "class-balanced" and document["coral_ridge"] == CORAL_RIDGE
    assert "CORAL" in (outcome.run_dir / "cross_lab.md").read_text()
    (train, y_train, labels), (test, y_test, _) = _lab_tables(labs, config)
    X_train, X_test, names = robust_standardise(train.values), robust_standardise(test.values), list(train.names)

    def frame(values, codes):
        result = pd.DataFrame(values, columns=names)
        result["class"] = pd.Categorical(np.asarray(labels, dtype=object)[codes], categories=labels)
        return result

    # the oracle: Weka on its own; the test lab weighted by its predicted classes, missing values at the median (0)
    predicted = np.asarray(run_classifier(frame(X_train, y_train), J48, test=frame(X_test, y_test)
                                          ).predictions.distribution).argmax(axis=1)
    aligned = coral_align(np.nan_to_num(X_train), np.nan_to_num(X_test), class_balance_weights(y_train),
                          class_balance_weights(predicted), ridge=CORAL_RIDGE)
    weka = run_classifier(frame(aligned, y_train), J48, test=frame(X_test, y_test))
    result = next(r for r in document["results"] if r["test"] == "b")
    assert result["accuracy"]["estimate"] == pytest.approx(weka.statistics["pct_correct"] / 100, abs=1e-12)
    with pytest.raises(WekawbcError, match="class-balanced"):
        parse_config(_config(labs, tmp_path, cross_lab={"train": ["a"], "test": ["b"], "coral": "yes"}))

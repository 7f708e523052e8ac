"""Weka classifiers through wekawbc give exactly what Weka's own command line prints.

The oracle is ``java -cp weka.jar <classifier> -t data.arff ...`` run in a subprocess on the same
file: the summary, class-details and confusion-matrix lines must be equal, character for character.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import arff
import numpy as np
import pandas as pd
import pytest

from wekawbc._io import WekawbcError
from wekawbc.cli import main
from wekawbc.predictions import read_predictions_csv, read_train_counts_csv
from wekawbc.weka import SmallClassWarning, load_instances, run_classifier

LABELS = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil")
CLASSIFIERS = {
    "J48": "weka.classifiers.trees.J48 -C 0.25 -M 2",
    "RandomForest": "weka.classifiers.trees.RandomForest -I 30",
    "SMO": "weka.classifiers.functions.SMO",
    "Logistic": "weka.classifiers.functions.Logistic",
    "NaiveBayes": "weka.classifiers.bayes.NaiveBayes",
    "MultilayerPerceptron": "weka.classifiers.functions.MultilayerPerceptron -N 50",
    "IBk": "weka.classifiers.lazy.IBk -K 3",
}
BLOCK_TITLES = {  # first line of each block in Weka's CLI output → our block
    "cv": "=== Stratified cross-validation ===",
    "split": "=== Error on test split ===",
    "test": "=== Error on test data ===",
}


def _imbalanced_frame(n: int = 360, seed: int = 0) -> pd.DataFrame:
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=n, n_features=8, n_informative=5, n_redundant=1, n_classes=5,
                               n_clusters_per_class=1, weights=[0.45, 0.25, 0.15, 0.1, 0.05], flip_y=0.03,
                               random_state=seed)
    frame = pd.DataFrame(np.round(x, 6), columns=[f"f{i}" for i in range(x.shape[1])])
    frame["class"] = pd.Categorical([LABELS[c] for c in y], categories=LABELS)
    return frame


def _write_arff(frame: pd.DataFrame, path) -> None:
    attributes = [(name, "REAL") for name in frame.columns[:-1]] + [("class", list(LABELS))]
    rows = [[*map(float, row[:-1]), row[-1]] for row in frame.itertuples(index=False)]
    path.write_text(arff.dumps({"relation": "wbc", "attributes": attributes, "data": rows}))


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weka_bridge")
    frame = _imbalanced_frame()
    _write_arff(frame, folder / "wbc.arff")
    _write_arff(_imbalanced_frame(120, seed=1), folder / "wbc_test.arff")
    frame.to_csv(folder / "wbc.csv", index=False)
    return folder


def _weka_cli(weka_jar, classifier: str, *args: str) -> str:
    """Weka's own command line: statistics only (-o), no training-set statistics (-v)."""
    command = [str(p) for p in (_java(), "-cp", weka_jar, *classifier.split(), *args, "-o", "-v")]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _java() -> str:
    from wekawbc.weka.jvm import find_java

    return str(find_java().home / "bin" / "java")


def _blocks(text: str, summary_title: str) -> dict[str, list[str]]:
    """The summary, class-details and confusion-matrix lines (titles and blank lines dropped)."""
    lines = text.split("\n")
    titles = {"summary": summary_title, "details": "=== Detailed Accuracy By Class ===",
              "matrix": "=== Confusion Matrix ==="}
    blocks = {}
    for name, title in titles.items():
        start = lines.index(title) + 1
        if name == "summary" and lines[start] == "=== Summary ===":
            start += 1
        stop = next((i for i in range(start, len(lines)) if lines[i].startswith("===")), len(lines))
        blocks[name] = [line for line in lines[start:stop] if line.strip()]
    return blocks


@pytest.fixture(scope="module")
def runs(data_files):
    """run_classifier results by (classifier name, mode), computed once for the tests that share them."""
    cache: dict[tuple[str, str], object] = {}

    def get(name: str, mode: str):
        if (name, mode) not in cache:
            evaluation = {"folds": 10} if mode == "cv" else {"split": 80}
            cache[name, mode] = run_classifier(data_files / "wbc.arff", CLASSIFIERS[name], seed=1, **evaluation)
        return cache[name, mode]

    return get


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
@pytest.mark.parametrize("mode", ["cv", "split"])
def test_equals_weka_command_line(jvm, weka_jar, data_files, runs, name, mode):
    data = data_files / "wbc.arff"
    run = runs(name, mode)
    if mode == "cv":
        expected = _weka_cli(weka_jar, CLASSIFIERS[name], "-t", data, "-x", "10", "-s", "1")
    else:
        expected = _weka_cli(weka_jar, CLASSIFIERS[name], "-t", data, "-split-percentage", "80", "-s", "1")
    ours = _blocks(run.explorer_text(run_information=False), run.title)
    assert ours == _blocks(expected, BLOCK_TITLES[mode])
    assert len(ours["details"]) == 1 + len(LABELS) + 1


def test_supplied_test_set_and_seed_equal_weka(jvm, weka_jar, data_files):
    classifier = CLASSIFIERS["J48"]
    run = run_classifier(data_files / "wbc.arff", classifier, test=data_files / "wbc_test.arff")
    expected = _weka_cli(weka_jar, classifier, "-t", data_files / "wbc.arff", "-T", data_files / "wbc_test.arff")
    assert _blocks(run.weka_text(), "=== Summary ===") == _blocks(expected, BLOCK_TITLES["test"])
    run = run_classifier(data_files / "wbc.arff", CLASSIFIERS["NaiveBayes"], folds=5, seed=42)
    expected = _weka_cli(weka_jar, CLASSIFIERS["NaiveBayes"], "-t", data_files / "wbc.arff", "-x", "5", "-s", "42")
    assert _blocks(run.weka_text(), "=== Summary ===") == _blocks(expected, BLOCK_TITLES["cv"])
    run = run_classifier(data_files / "wbc.arff", CLASSIFIERS["NaiveBayes"], split=66, preserve_order=True)
    expected = _weka_cli(weka_jar, CLASSIFIERS["NaiveBayes"], "-t", data_files / "wbc.arff",
                         "-split-percentage", "66", "-preserve-order")
    assert _blocks(run.weka_text(), "=== Summary ===") == _blocks(expected, BLOCK_TITLES["split"])


def test_numbers_and_predictions_agree_with_weka(jvm, data_files):
    run = run_classifier(data_files / "wbc.arff", CLASSIFIERS["J48"], folds=10)
    predictions = run.predictions
    assert predictions.labels == LABELS and predictions.n_instances == 360 and predictions.n_folds == 10
    np.testing.assert_allclose(predictions.distribution.sum(axis=1), 1.0)
    predicted = predictions.distribution.argmax(axis=1)
    matrix = np.zeros((5, 5))
    np.add.at(matrix, (predictions.actual, predicted), predictions.weight)
    np.testing.assert_array_equal(matrix, run.confusion_matrix)
    assert run.statistics["correct"] == np.trace(matrix)
    assert run.statistics["total_instances"] == 360
    # Each fold's training counts plus its test members make up the whole data set's class counts.
    totals = np.bincount(predictions.actual, minlength=5)
    for fold in range(10):
        test_counts = np.bincount(predictions.actual[predictions.fold == fold], minlength=5)
        np.testing.assert_array_equal(predictions.train_counts[fold] + test_counts, totals)
    # ids are rows of the data: the class there is the prediction's actual class.
    frame = _imbalanced_frame()
    rows = np.array([int(i) for i in predictions.ids])
    assert sorted(rows) == list(range(360))
    np.testing.assert_array_equal(frame["class"].cat.codes.to_numpy()[rows], predictions.actual)
    assert run.class_statistics["precision"].shape == (5,)
    assert run.to_dict()["statistics"]["kappa"] == pytest.approx(run.statistics["kappa"])


def test_bridge_and_engine_speak_one_vocabulary(jvm, data_files):
    # Every metric of the registry that the engine computes carries the same name, and the same value,
    # in Weka's numbers (the bridge) and in the engine's evaluation of the run's predictions.
    from wekawbc.evaluation import evaluate
    from wekawbc.evaluation.metrics import class_metrics, summary_metrics, weighted_metrics

    run = run_classifier(data_files / "wbc.arff", CLASSIFIERS["J48"], folds=10)
    ours = evaluate(run.predictions)
    for m in (*summary_metrics(engine=True), *weighted_metrics(engine=True)):
        assert run.statistics[m.name] == pytest.approx(getattr(ours, m.name), rel=1e-12, nan_ok=True), m.name
    for m in class_metrics():
        np.testing.assert_allclose(run.class_statistics[m.name], getattr(ours, m.name), rtol=1e-12, err_msg=m.name)
    # Weka's priorEntropy() (entropy of the class priors) is not SFPriorEntropy (the log-loss of the priors).
    assert run.statistics["class_prior_entropy"] != run.statistics["prior_entropy"]


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
@pytest.mark.parametrize("mode", ["cv", "split"])
def test_evaluation_engine_reproduces_weka_text(jvm, runs, name, mode):
    """Engineer B's engine, fed only the predictions and training counts, gives Weka's text and numbers."""
    try:
        from wekawbc.evaluation import evaluate  # noqa: F401
    except ImportError as error:
        pytest.skip(f"wekawbc.evaluation not importable yet: {error}")
    run = runs(name, mode)
    assert run.evaluation.weka_text() == run.weka_text()
    np.testing.assert_array_equal(run.evaluation.confusion_matrix, run.confusion_matrix)


def test_csv_and_dataframe_give_the_same_run_as_arff(jvm, data_files):
    expected = run_classifier(data_files / "wbc.arff", CLASSIFIERS["J48"]).weka_text()
    assert run_classifier(_imbalanced_frame(), CLASSIFIERS["J48"]).weka_text() == expected
    # CSV: a class of cell types declares them in the order of extract's ARFF (CLASSES) through
    # CSVLoader's nominal label option; any other class keeps Weka's order of first appearance.
    from wekawbc.cells.dataset import CLASSES

    csv_instances = load_instances(data_files / "wbc.csv")
    assert tuple(csv_instances.class_attribute.values) == CLASSES
    assert csv_instances.num_instances == 360
    other = _imbalanced_frame()
    other["class"] = other["class"].astype(str).str.upper()
    other.to_csv(data_files / "wbc_upper.csv", index=False)
    first_seen = tuple(pd.unique(other["class"]))
    assert tuple(load_instances(data_files / "wbc_upper.csv").class_attribute.values) == first_seen


def test_class_attribute_can_be_chosen(jvm):
    frame = pd.DataFrame({"kind": ["b", "a", "b", "a"] * 5, "x": np.arange(20.0), "y": np.arange(20.0) % 3})
    data = load_instances(frame, class_name="kind")
    assert data.class_attribute.name == "kind"
    assert tuple(data.class_attribute.values) == ("b", "a")  # order of first appearance


# --- the command line and bad input -------------------------------------------------------------

def _outputs(folder) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_cli_prints_explorer_text_and_writes_outputs(jvm, data_files, tmp_path, capsys):
    code = main(["weka", str(data_files / "wbc.arff"), "--classifier", CLASSIFIERS["J48"], "--split", "80",
                 "--json", str(tmp_path / "run.json"), "--predictions", str(tmp_path / "p.csv")])
    out = capsys.readouterr().out
    assert code == 0
    for heading in ("=== Run information ===", "=== Evaluation on test split ===", "=== Summary ===",
                    "=== Detailed Accuracy By Class ===", "=== Confusion Matrix ==="):
        assert heading in out
    assert _outputs(tmp_path) == {"run.json", "p.csv", "p.train_counts.csv"}
    import json

    document = json.loads((tmp_path / "run.json").read_text())
    assert document["seed"] == 1 and document["mode"] == "split" and document["split_percentage"] == 80
    assert document["provenance"]["versions"]["weka"] == "3.9.7"
    assert document["classifier"] == CLASSIFIERS["J48"]
    predictions = read_predictions_csv(tmp_path / "p.csv")
    assert (tmp_path / "p.csv").read_text().startswith("fold,actual,weight,p_neutrophil,p_lymphocyte,")
    assert predictions.n_instances == 72
    counts = read_train_counts_csv(tmp_path / "p.train_counts.csv", predictions.labels)
    assert counts.sum() == 288
    assert document["statistics"]["correct"] == float((predictions.distribution.argmax(1) == predictions.actual).sum())


def _bad(tmp_path, capsys, argv: list[str]) -> str:
    outputs = tmp_path / "out"
    outputs.mkdir(exist_ok=True)
    code = main(["weka", *argv, "--json", str(outputs / "r.json"), "--predictions", str(outputs / "p.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("wekawbc: error: ") and "\n" not in err and "Exception" not in err
    assert _outputs(outputs) == set()
    return err


def test_bad_files(jvm, tmp_path, capsys):
    assert "no such file" in _bad(tmp_path, capsys, [str(tmp_path / "missing.arff"), "--classifier", "weka.classifiers.rules.ZeroR"])
    assert "is a folder" in _bad(tmp_path, capsys, [str(tmp_path), "--classifier", "weka.classifiers.rules.ZeroR"])
    broken = tmp_path / "broken.arff"
    broken.write_text("@relation t\n@attribute a numeric\n@attribute class {x,y}\n@data\n1,x\n2,y\n3,z\n")
    err = _bad(tmp_path, capsys, [str(broken), "--classifier", "weka.classifiers.rules.ZeroR"])
    assert "broken.arff" in err and "line 7" in err and "nominal value not declared" in err
    typo = tmp_path / "typo.arff"
    typo.write_text("@relation t\n@attribute a numeric\n@atribute class {x,y}\n@data\n1,x\n")
    assert "line 3" in _bad(tmp_path, capsys, [str(typo), "--classifier", "weka.classifiers.rules.ZeroR"])


def test_bad_csv(jvm, tmp_path, capfd):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("area,hue,class\n1,2,x\n3,4\n5,6,y\n")
    code = main(["weka", str(ragged), "--classifier", "weka.classifiers.rules.ZeroR"])
    out, err = capfd.readouterr()
    assert code == 1 and out == ""  # Weka's CSVLoader echo of the bad row stays off the terminal
    assert err == (f"wekawbc: error: {ragged}: not a valid CSV file: wrong number of values. Read 2, expected 3, "
                   "read Token[EOL], line 3 Problem encountered on line: 3\n")
    header_only = tmp_path / "header.csv"
    header_only.write_text("area,class\n")
    assert main(["weka", str(header_only), "--classifier", "weka.classifiers.rules.ZeroR"]) == 1
    assert "class attribute 'class' is of type string, not nominal" in capfd.readouterr().err


def test_unreadable_file(jvm, tmp_path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions cannot make a file unreadable")
    locked = tmp_path / "locked.arff"
    locked.write_text("@relation t\n@attribute class {x,y}\n@data\nx\n")
    locked.chmod(0)
    assert "cannot read" in _bad(tmp_path, capsys, [str(locked), "--classifier", "weka.classifiers.rules.ZeroR"])


def test_bad_class_attribute(jvm, data_files, tmp_path, capsys):
    data = str(data_files / "wbc.arff")
    err = _bad(tmp_path, capsys, [data, "--classifier", "weka.classifiers.rules.ZeroR", "--class", "f0"])
    assert "class attribute 'f0' is numeric" in err
    err = _bad(tmp_path, capsys, [data, "--classifier", "weka.classifiers.rules.ZeroR", "--class", "nucleus"])
    assert "no attribute named 'nucleus'" in err
    numeric_last = tmp_path / "numeric.arff"
    numeric_last.write_text("@relation t\n@attribute a {x,y}\n@attribute b numeric\n@data\nx,1\ny,2\n")
    assert "is numeric" in _bad(tmp_path, capsys, [str(numeric_last), "--classifier", "weka.classifiers.rules.ZeroR"])


def test_bad_classifier(jvm, data_files, tmp_path, capsys):
    data = str(data_files / "wbc.arff")
    err = _bad(tmp_path, capsys, [data, "--classifier", "weka.classifiers.trees.J84"])
    assert "can't find class with name weka.classifiers.trees.J84" in err
    err = _bad(tmp_path, capsys, [data, "--classifier", "weka.classifiers.trees.J48 -Z 3"])
    assert "Illegal options: -Z 3" in err
    err = _bad(tmp_path, capsys, [data, "--classifier", "weka.classifiers.trees.J48 -C abc"])
    assert 'For input string: "abc"' in err
    err = _bad(tmp_path, capsys, [data, "--classifier", "weka.classifiers.trees.J48 -M"])
    assert "No value given for -M option" in err


def test_fewer_instances_than_folds(jvm, tmp_path, capsys):
    tiny = tmp_path / "tiny.arff"
    tiny.write_text("@relation tiny\n@attribute a numeric\n@attribute class {x,y}\n@data\n1,x\n2,y\n3,x\n4,y\n5,x\n")
    err = _bad(tmp_path, capsys, [str(tiny), "--classifier", "weka.classifiers.rules.ZeroR", "--folds", "10"])
    assert "5 instances, fewer than 10 folds" in err and "Can't have more folds than instances!" in err
    with pytest.raises(WekawbcError, match="fewer than 10 folds"):
        run_classifier(tiny, "weka.classifiers.rules.ZeroR", folds=10)


def test_class_with_fewer_members_than_folds_runs_as_weka_does(jvm, weka_jar, tmp_path, capsys):
    frame = _imbalanced_frame(200, seed=3)
    frame.loc[frame["class"] == "basophil", "class"] = "monocyte"
    frame.loc[frame.index[:3], "class"] = "basophil"
    path = tmp_path / "rare.arff"
    _write_arff(frame, path)
    with pytest.warns(SmallClassWarning, match="class 'basophil' has 3 instance"):
        run = run_classifier(path, CLASSIFIERS["J48"], folds=10)
    assert _blocks(run.weka_text(), "=== Summary ===") == _blocks(
        _weka_cli(weka_jar, CLASSIFIERS["J48"], "-t", path), BLOCK_TITLES["cv"])
    assert np.unique(run.predictions.fold[run.predictions.actual == 4]).size == 3
    assert main(["weka", str(path), "--classifier", CLASSIFIERS["J48"]]) == 0
    err = capsys.readouterr().err
    assert err.startswith("wekawbc: warning: class 'basophil' has 3 instance(s), fewer than 10 folds")


def test_failed_output_leaves_nothing_behind(jvm, data_files, tmp_path, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder is expected")
    code = main(["weka", str(data_files / "wbc.arff"), "--classifier", "weka.classifiers.rules.ZeroR",
                 "--predictions", str(tmp_path / "p.csv"), "--json", str(blocker / "run.json")])
    assert code == 1
    assert "cannot write" in capsys.readouterr().err
    assert _outputs(tmp_path) == {"not_a_folder"}


def test_bad_modes(jvm, data_files):
    data = data_files / "wbc.arff"
    with pytest.raises(WekawbcError, match="choose one evaluation"):
        run_classifier(data, "weka.classifiers.rules.ZeroR", folds=5, split=50)
    with pytest.raises(WekawbcError, match="strictly between 0 and 100"):
        run_classifier(data, "weka.classifiers.rules.ZeroR", split=100)
    with pytest.raises(WekawbcError, match="at least 2"):
        run_classifier(data, "weka.classifiers.rules.ZeroR", folds=1)
    with pytest.raises(WekawbcError, match="does not match the training data"):
        run_classifier(data, "weka.classifiers.rules.ZeroR",
                       test=pd.DataFrame({"g": [1.0, 2.0], "class": ["neutrophil", "basophil"]}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_classifier(data, "weka.classifiers.rules.ZeroR", folds=3)  # no small class: no warning


def test_console_script_exit_code(data_files, tmp_path):
    result = subprocess.run([sys.executable, "-m", "wekawbc", "weka", str(data_files / "wbc.arff"),
                             "--classifier", "weka.classifiers.trees.J48 -Z", "--json", str(tmp_path / "r.json")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("wekawbc: error: classifier 'weka.classifiers.trees.J48 -Z'")
    assert result.stdout == "" and not (tmp_path / "r.json").exists()


def test_out_of_memory_is_one_sentence(tmp_path):
    big = tmp_path / "big.arff"
    x = np.random.default_rng(0).normal(size=(20000, 60))
    header = "@relation big\n" + "".join(f"@attribute a{i} numeric\n" for i in range(60))
    body = "\n".join(",".join(f"{v:.4f}" for v in row) + ",x" for row in x)
    big.write_text(header + "@attribute class {x,y}\n@data\n" + body + "\n")
    result = subprocess.run([sys.executable, "-m", "wekawbc", "weka", str(big), "--classifier",
                             "weka.classifiers.rules.ZeroR", "--max-heap", "16m", "--json", str(tmp_path / "r.json")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    # One wekawbc line. (With 16m the data may load and Java run out while training: the context then
    # names the classifier.) On a busy machine a JVM helper thread (JPype's reference queue) can run out
    # of memory at the same moment; the JVM itself then prints one line naming that thread (its stack
    # trace is silenced), and nothing else may appear.
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    ours = [text for text in lines if text.startswith("wekawbc: ")]
    assert all("OutOfMemoryError" in text for text in lines if text not in ours), result.stderr
    line, = ours
    assert line.startswith("wekawbc: error: ") and line.endswith(
        ": Java ran out of memory (max heap 16m); start again with a larger heap, e.g. --max-heap 8g or "
        "WEKAWBC_MAX_HEAP=8g")
    assert not (tmp_path / "r.json").exists()
    result = subprocess.run([sys.executable, "-m", "wekawbc", "weka", str(big), "--classifier",
                             "weka.classifiers.rules.ZeroR", "--max-heap", "4x"], capture_output=True, text=True)
    assert result.returncode == 1 and "max heap '4x' is not a Java memory size" in result.stderr


def test_instance_weights_equal_weka(jvm, weka_jar, tmp_path):
    frame = _imbalanced_frame(150, seed=4)
    _write_arff(frame, tmp_path / "plain.arff")
    weights = [1.0, 2.5, 0.5]
    lines = (tmp_path / "plain.arff").read_text().rstrip("\n").split("\n")
    start = lines.index(next(line for line in lines if line.upper().startswith("@DATA"))) + 1
    lines[start:] = [f"{line},{{{weights[i % 3]}}}" for i, line in enumerate(lines[start:])]
    path = tmp_path / "weighted.arff"
    path.write_text("\n".join(lines) + "\n")
    run = run_classifier(path, CLASSIFIERS["J48"], folds=5, seed=3)
    expected = _weka_cli(weka_jar, CLASSIFIERS["J48"], "-t", path, "-x", "5", "-s", "3")
    assert _blocks(run.weka_text(), "=== Summary ===") == _blocks(expected, BLOCK_TITLES["cv"])
    assert sorted(set(run.predictions.weight.tolist())) == [0.5, 1.0, 2.5]
    assert run.statistics["total_instances"] == pytest.approx(sum(weights[i % 3] for i in range(150)))
    # Same Instances object in: same run out.
    again = run_classifier(load_instances(path), CLASSIFIERS["J48"], folds=5, seed=3)
    assert again.weka_text() == run.weka_text()

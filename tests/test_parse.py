"""The Weka-text parser on real Weka output, produced in the test by Weka itself.

Command-line runs go through ``java -cp weka.jar`` (cross-validation with ``-k``, percentage split,
supplied test set with ``-o -v``, ``-classifications`` in CSV and PlainText); the Explorer's buffer
and python-weka-wrapper3's prints are assembled from Weka's own ``Evaluation`` strings in the JVM,
framed as the Explorer and pww3 frame them. Instance weights in the ARFF (``{w}``) make fractional
confusion matrices; a rare class that ZeroR never predicts makes ``?`` cells.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from wekawbc._io import WekawbcError
from wekawbc.evaluation import evaluate, render_class_details, render_matrix, render_summary
from wekawbc.evaluation.parse import parse_file, parse_text, render_evaluation
from wekawbc.predictions import Predictions

J48 = "weka.classifiers.trees.J48"
CSV_OUT = "weka.classifiers.evaluation.output.prediction.CSV"
PLAIN_OUT = "weka.classifiers.evaluation.output.prediction.PlainText"


def _write_arff(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    lines = ["@relation toy", "@attribute x1 numeric", "@attribute x2 numeric",
             "@attribute cls {alpha,beta,'gamma ray'}", "@data"]
    for _ in range(n):
        c = rng.choice(3, p=[0.6, 0.3, 0.1])
        x = rng.normal(c, 1.0, 2)
        label = ["alpha", "beta", "'gamma ray'"][c]
        lines.append(f"{x[0]:.3f},{x[1]:.3f},{label},{{{rng.choice([0.5, 1, 1.5, 2.25])}}}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def weka_outputs(tmp_path_factory: pytest.TempPathFactory, weka_jar: Path) -> dict[str, Path]:
    from wekawbc.weka.jvm import find_java

    folder = tmp_path_factory.mktemp("weka_text")
    train = _write_arff(folder / "train.arff", 90, 0)
    test = _write_arff(folder / "test.arff", 40, 1)
    java = [str(find_java().home / "bin" / "java"), "--add-opens", "java.base/java.lang=ALL-UNNAMED",
            "-cp", str(weka_jar)]
    runs = {
        "cv_k": [J48, "-t", train, "-k"],
        "split_zeror": ["weka.classifiers.rules.ZeroR", "-t", train, "-split-percentage", "66", "-o"],
        "test_set": ["weka.classifiers.bayes.NaiveBayes", "-t", train, "-T", test, "-o", "-v"],
        "csv_predictions": [J48, "-t", train, "-T", test, "-classifications", CSV_OUT],
        "plain_predictions": [J48, "-t", train, "-x", "3", "-classifications", f"{PLAIN_OUT} -distribution"],
    }
    paths = {}
    for name, arguments in runs.items():
        done = subprocess.run(java + [str(a) for a in arguments], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        paths[name] = folder / f"{name}.txt"
        paths[name].write_text(done.stdout)
    return paths


def _rendered_lines_in(block: dict, text: str) -> None:
    """Rendering the parsed block gives Weka's own lines back, byte for byte."""
    if block["summary"] is not None:
        assert render_summary(block["summary"], "")[1:] in text
    if block["classes"] is not None:
        assert render_class_details(block["classes"], block["weighted_avg"]) in text
    if block["confusion_matrix"] is not None:
        assert render_matrix(block["confusion_matrix"]["labels"], block["confusion_matrix"]["matrix"]) in text


def _round_trips(block: dict) -> None:
    again = parse_text(render_evaluation(block))["evaluations"]
    assert len(again) == 1
    for part in ("summary", "classes", "weighted_avg", "confusion_matrix"):
        assert again[0][part] == block[part]


def test_cross_validation_with_kb_and_complexity(weka_outputs: dict[str, Path]) -> None:
    text = weka_outputs["cv_k"].read_text()
    blocks = parse_file(weka_outputs["cv_k"])["evaluations"]
    assert [b["title"] for b in blocks] == ["Error on training data", "Stratified cross-validation"]
    cv = blocks[1]
    assert cv["classifier"] is None  # Weka 3.9 CLI output does not name the scheme
    for key in ("kb_relative_info_score_pct", "kb_information_bits", "kb_information_bits_per_instance",
                "class_complexity_order0_bits", "class_complexity_scheme_bits_per_instance",
                "complexity_improvement_bits", "relative_absolute_error_pct"):
        assert isinstance(cv["summary"][key], float)
    matrix = np.array(cv["confusion_matrix"]["matrix"])
    assert cv["confusion_matrix"]["labels"] == ["alpha", "beta", "gamma ray"]
    assert np.any(matrix != np.round(matrix))  # instance weights: a fractional matrix
    assert np.isclose(matrix.sum(), cv["summary"]["total_instances"])
    assert np.isclose(np.trace(matrix), cv["summary"]["correct"])
    for block in blocks:
        _rendered_lines_in(block, text)
        _round_trips(block)


def test_percentage_split_with_question_marks(weka_outputs: dict[str, Path]) -> None:
    blocks = parse_file(weka_outputs["split_zeror"])["evaluations"]
    assert [b["title"] for b in blocks] == ["Error on training data", "Error on test split"]
    split = blocks[1]
    assert split["summary"]["kappa"] == 0 and split["summary"]["relative_absolute_error_pct"] == 100
    beta = split["classes"][1]
    assert beta["class"] == "beta" and beta["precision"] is None and beta["f_measure"] is None
    assert split["weighted_avg"]["precision"] is None and split["weighted_avg"]["mcc"] is None
    assert json.loads(json.dumps(split))["classes"][1]["precision"] is None
    for block in blocks:
        _rendered_lines_in(block, weka_outputs["split_zeror"].read_text())
        _round_trips(block)


def test_supplied_test_set_without_training_statistics(weka_outputs: dict[str, Path]) -> None:
    blocks = parse_file(weka_outputs["test_set"])["evaluations"]
    assert [b["title"] for b in blocks] == ["Error on test data"]
    _rendered_lines_in(blocks[0], weka_outputs["test_set"].read_text())


def test_csv_prediction_table(weka_outputs: dict[str, Path]) -> None:
    blocks = parse_file(weka_outputs["csv_predictions"])["evaluations"]
    with_predictions = [b for b in blocks if b["predictions"]]
    assert with_predictions
    predictions = with_predictions[0]["predictions"]
    assert len(predictions) == 40
    assert {p["actual"] for p in predictions} <= {"alpha", "beta", "gamma ray"}
    for p in predictions:
        assert p["error"] == (p["actual_index"] != p["predicted_index"])
        assert 0 <= p["prediction"] <= 1


def test_plaintext_prediction_table_with_distributions(weka_outputs: dict[str, Path]) -> None:
    blocks = parse_file(weka_outputs["plain_predictions"])["evaluations"]
    predictions = [p for b in blocks if b["predictions"] for p in b["predictions"]]
    assert len(predictions) == 90  # every instance once under 3-fold cross-validation
    for p in predictions:
        assert len(p["distribution"]) == 3
        assert p["error"] == (p["actual_index"] != p["predicted_index"])
        assert p["predicted_index"] == int(np.argmax(p["distribution"]))
    assert "gamma ray" in {p["predicted"] for p in predictions} | {p["actual"] for p in predictions}


@pytest.fixture(scope="module")
def explorer_and_pww3(jvm, weka_outputs: dict[str, Path]) -> tuple[str, str, str]:
    """Weka's own Evaluation strings framed as the Explorer (ClassifierPanel) and pww3 print them."""
    from weka.classifiers import Classifier, Evaluation
    from weka.core.classes import Random
    from weka.core.converters import Loader

    data = Loader(classname="weka.core.converters.ArffLoader").load_file(str(weka_outputs["cv_k"].parent / "train.arff"))
    data.class_is_last()
    classifier = Classifier(classname=J48, options=["-C", "0.25", "-M", "2"])
    evaluation = Evaluation(data)
    evaluation.crossvalidate_model(classifier, data, 10, Random(1))
    java = evaluation.jobject
    block = (java.toSummaryString(False) + "\n" + java.toClassDetailsString() + "\n" + java.toMatrixString())
    explorer = ("=== Run information ===\n\nScheme:       weka.classifiers.trees.J48 -C 0.25 -M 2\n"
                "Relation:     toy\nInstances:    90\nAttributes:   3\n              x1\n              x2\n"
                "              cls\nTest mode:    10-fold cross-validation\n\n"
                "=== Classifier model (full training set) ===\n\nJ48 pruned tree\n------------------\n\n"
                "Time taken to build model: 0 seconds\n\n=== Stratified cross-validation ===\n" + str(block))
    pww3 = f"{evaluation.summary()}\n{evaluation.class_details()}\n{evaluation.matrix()}\n"
    return explorer, str(block), pww3


def test_explorer_buffer(explorer_and_pww3: tuple[str, str, str]) -> None:
    explorer, block_text, _ = explorer_and_pww3
    blocks = parse_text(explorer, "explorer.txt")["evaluations"]
    assert len(blocks) == 1
    block = blocks[0]
    assert (block["title"], block["classifier"], block["options"]) == (
        "Stratified cross-validation", J48, "-C 0.25 -M 2")
    assert block["relation"] == "toy" and block["test_mode"] == "10-fold cross-validation"
    assert render_evaluation(block) == block_text  # byte for byte, trailing spaces included


def test_pww3_prints(explorer_and_pww3: tuple[str, str, str]) -> None:
    _, block_text, pww3 = explorer_and_pww3
    blocks = parse_text(pww3, "pww3.txt")["evaluations"]
    assert len(blocks) == 1 and blocks[0]["title"] is None
    assert render_evaluation(blocks[0]) == block_text


def test_several_runs_in_one_file(weka_outputs: dict[str, Path], tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text(weka_outputs["split_zeror"].read_text() + "\n" + weka_outputs["cv_k"].read_text())
    titles = [b["title"] for b in parse_file(log)["evaluations"]]
    assert titles == ["Error on training data", "Error on test split", "Error on training data",
                      "Stratified cross-validation"]


def test_engine_text_parses_to_the_engine_numbers() -> None:
    rng = np.random.default_rng(3)
    actual = rng.choice(4, 200, p=[0.7, 0.2, 0.07, 0.03])
    dist = rng.dirichlet(np.ones(4), 200)
    result = evaluate(Predictions(("n", "l", "m", "e"), actual, dist, rng.uniform(0.5, 2, 200), np.arange(200) % 5))
    block = parse_text(result.weka_text(complexity=True))["evaluations"][0]
    assert render_evaluation(block) == result.weka_text(complexity=True)
    assert block["summary"]["kappa"] == round(result.kappa, 4)
    assert block["confusion_matrix"]["matrix"] == np.round(result.confusion_matrix, 2).tolist()
    for row, expected in zip(block["classes"], result.class_rows()):
        assert row["class"] == expected["class"]
        for key in ("tp_rate", "roc_area", "prc_area"):
            assert row[key] == pytest.approx(expected[key], abs=5e-4)


@pytest.mark.parametrize("damage, message", [
    (lambda t: "", "empty file"),
    (lambda t: "J48 pruned tree\n---\n\nNumber of Leaves : 3\n", "no Weka evaluation found in"),
])
def test_no_evaluation_names_the_file(weka_outputs: dict[str, Path], tmp_path: Path, damage, message) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(damage(weka_outputs["cv_k"].read_text()))
    with pytest.raises(WekawbcError, match=message) as error:
        parse_file(bad)
    assert str(bad) in str(error.value)


@pytest.mark.parametrize("damage, message", [
    (lambda t: t[:t.rindex("\n", 0, t.rindex(" |"))], "confusion matrix ends after 2 of 3 rows"),
    (lambda t: t[:t.rindex(" |")], "confusion matrix ends after 2 of 3 rows"),
    (lambda t: "\n".join(line for line in t.split("\n") if not line.startswith("Weighted Avg.")),
     "ends before its 'Weighted Avg.' row"),
    (lambda t: t.replace("Weighted Avg.    0.", "Weighted Avg.    x."), "class-details row skipped"),
    (lambda t: t.replace("Kappa statistic                          0.", "Kappa statistic                          x."),
     "summary line skipped: cannot read its numbers"),
    (lambda t: t.replace("Total Number of Instances", "Total Instances"), "ends before 'Total Number of Instances'"),
])
def test_damaged_text_is_read_as_far_as_it_goes_and_warned(weka_outputs: dict[str, Path], tmp_path: Path,
                                                           damage, message) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(damage(weka_outputs["cv_k"].read_text()))
    parsed = parse_file(bad)
    assert any(message in w["message"] and w["line"] for w in parsed["warnings"]), parsed["warnings"]
    assert parsed["evaluations"][-1]["summary"]  # what is there is kept


def test_explorer_predictions_join_the_evaluation_that_follows(explorer_and_pww3: tuple[str, str, str],
                                                               weka_outputs: dict[str, Path]) -> None:
    _, block_text, _ = explorer_and_pww3
    table = weka_outputs["csv_predictions"].read_text()
    table = table[table.index("inst#,"):].split("\n\n")[0]
    text = ("=== Run information ===\n\nScheme:       weka.classifiers.trees.J48 -C 0.25 -M 2\n"
            "Test mode:    split 66.0% train, remainder test\n\n"
            f"=== Predictions on test split ===\n\n{table}\n\n=== Evaluation on test split ===\n{block_text}")
    blocks = parse_text(text)["evaluations"]
    assert len(blocks) == 1
    assert blocks[0]["title"] == "Evaluation on test split"
    assert len(blocks[0]["predictions"]) == 40 and blocks[0]["summary"] is not None
    assert blocks[0]["test_mode"] == "split 66.0% train, remainder test"


def test_explorer_re_evaluation_with_test_set_information(explorer_and_pww3: tuple[str, str, str]) -> None:
    explorer, block_text, _ = explorer_and_pww3
    text = (explorer + "\n=== Re-evaluation on test set ===\n\nUser supplied test set\nRelation:     toy\n"
            "Instances:     unknown (yet). Reading incrementally\nAttributes:   3\n\n" + block_text)
    blocks = parse_text(text)["evaluations"]
    assert [b["title"] for b in blocks] == ["Stratified cross-validation", "Re-evaluation on test set"]
    assert render_evaluation(blocks[1]) == block_text

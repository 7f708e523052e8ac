"""``wekawbc compare WEKA_OUTPUT.txt RUN_DIR``: Weka's printed evaluation beside a run of the same predictions.

Weka 3.9.7 evaluates NaiveBayes on a supplied test set (``tests/weka_corpus.py``); its recorded
predictions (with instance weights) and the training class weights go into a wekawbc run folder. The
comparison must then show every shared number within the precision Weka printed it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import weka_corpus as wc
from wekawbc._io import WekawbcError
from wekawbc.evaluation import evaluate
from wekawbc.evaluation.parse import parse_text
from wekawbc.predictions import Predictions
from wekawbc.report.compare_weka import choose_block, compare_with_weka_text
from wekawbc.report.runfolder import load_run, write_run_folder


@pytest.fixture(scope="module")
def weka_run_folder(jvm, corpus_inputs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = next(r for r in wc.RUNS39 if r.name == "test_set")
    evaluation = wc.oracle_evaluations(run, corpus_inputs)[-1]
    header = evaluation.getHeader()
    labels = tuple(str(header.classAttribute().value(i)) for i in range(header.numClasses()))
    rows = list(evaluation.predictions())
    actual = np.array([int(p.actual()) for p in rows])
    distribution = np.array([[float(v) for v in p.distribution()] for p in rows])
    weight = np.array([float(p.weight()) for p in rows])
    from weka.core.converters import Loader

    train = Loader(classname="weka.core.converters.ArffLoader").load_file(str(corpus_inputs["train3"]))
    train.class_is_last()
    counts = np.zeros((1, len(labels)))
    for instance in train:
        counts[0, int(instance.get_value(train.class_index))] += instance.weight
    predictions = Predictions(labels, actual, distribution, weight, np.zeros(len(actual), dtype=int), counts)
    folder = tmp_path_factory.mktemp("compare") / "run"
    write_run_folder(folder, evaluate(predictions), settings={"seed": 1}, n_bootstrap=0, plots=False)
    return folder


def test_weka_text_beside_a_run_of_the_same_predictions(weka_text, weka_run_folder: Path) -> None:
    text = weka_text("3.9", "en", next(r for r in wc.RUNS39 if r.name == "test_set"))
    parsed = parse_text(text, "weka.txt")
    number, block = choose_block(parsed, None, "weka.txt")
    assert block["title"] == "Error on test data"
    table = compare_with_weka_text(block, number, "weka.txt", [load_run(weka_run_folder)])
    quantities = {row["quantity"] for row in table["rows"]}
    assert {"Kappa statistic", "Relative absolute error (%)", "gamma ray MCC", "Weighted Avg. PRC Area",
            "beta → alpha"} <= quantities
    for row in table["rows"]:
        half = 5e-4 if row["quantity"].split()[-1] in ("Rate", "Precision", "Recall", "F-Measure", "MCC", "Area") \
            else 5e-3 if "→" in row["quantity"] else 5e-5 if row["unit"] != "percent" else 5e-7
        difference = row["differences"][0]
        assert difference is not None and abs(difference) <= half * 1.01 + 1e-12, row
    # The heatmaps: the text's matrix and the run's (the same predictions), in the text's class order.
    matrices = table["matrices"]
    assert matrices["labels"] == block["confusion_matrix"]["labels"]
    assert matrices["runs"][0] == matrices["published"]["counts"] == block["confusion_matrix"]["matrix"]
    assert table["runs"][0]["column"]


def test_compare_cli_and_mismatched_classes(weka_text, weka_run_folder: Path, tmp_path: Path) -> None:
    text = tmp_path / "weka.txt"
    text.write_text(weka_text("3.9", "en", next(r for r in wc.RUNS39 if r.name == "test_set")))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "wekawbc", "compare", str(text), str(weka_run_folder), "--json",
                           "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"]
    assert (out / "compare_weka_2.md").is_file()
    other = tmp_path / "other.txt"
    other.write_text(weka_text("3.9", "en", next(r for r in wc.RUNS39 if r.name == "cv5_cost")))
    parsed = parse_text(other.read_text(), str(other))
    with pytest.raises(WekawbcError, match="are not those of"):
        compare_with_weka_text(parsed["evaluations"][-1], 2, str(other), [load_run(weka_run_folder)])

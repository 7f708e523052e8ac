"""``wekawbc evaluate`` and ``wekawbc parse`` end to end, including the bad inputs they must refuse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wekawbc.cli import main
from wekawbc.evaluation import evaluate
from wekawbc.predictions import Predictions, write_predictions_csv, write_train_counts_csv

LABELS = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil")


def _predictions(n: int = 120, folds: int = 5, seed: int = 0) -> Predictions:
    rng = np.random.default_rng(seed)
    actual = rng.choice(5, n, p=[0.5, 0.25, 0.12, 0.1, 0.03])
    dist = rng.dirichlet(np.ones(5), n)
    dist[np.arange(n) % 4 == 0] = np.eye(5)[actual[np.arange(n) % 4 == 0]]
    return Predictions(LABELS, actual, dist, np.ones(n), np.arange(n) % folds)


def test_evaluate_prints_weka_text_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = _predictions()
    csv_path = write_predictions_csv(p, tmp_path / "preds.csv")
    out = tmp_path / "out" / "eval.json"
    assert main(["evaluate", str(csv_path), "--json", str(out), "--bootstrap", "50", "--imbalance"]) == 0
    printed = capsys.readouterr().out
    weka_text = evaluate(p).weka_text()
    assert printed.startswith(weka_text)
    extras = printed[len(weka_text):]
    assert "\n=== Imbalance metrics ===\n" in extras and "Balanced accuracy" in extras
    assert "=== Bootstrap 95% intervals (50 resamples stratified by class, seed 1) ===" in extras
    assert all(f"Recall {label}" in extras for label in LABELS)
    document = json.loads(out.read_text())
    assert document["priors"] == "other folds"
    assert document["evaluation"]["labels"] == list(LABELS)
    assert set(document["bootstrap"]["metrics"]["recall"]) == set(LABELS)
    assert "numpy" in document["versions"] and document["command"]


def test_train_counts_file_sets_the_priors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = _predictions(folds=1)
    csv_path = write_predictions_csv(p, tmp_path / "preds.csv")
    assert main(["evaluate", str(csv_path)]) == 0
    assert "Relative absolute error" not in capsys.readouterr().out  # one fold, no counts: no priors
    counts = write_train_counts_csv(LABELS, [[300, 150, 70, 60, 20]], tmp_path / "counts.csv")
    assert main(["evaluate", str(csv_path), "--train-counts", str(counts), "--complexity"]) == 0
    text = capsys.readouterr().out
    with_counts = Predictions(p.labels, p.actual, p.distribution, p.weight, p.fold, [[300, 150, 70, 60, 20]])
    assert text == evaluate(with_counts).weka_text(complexity=True)
    assert "K&B Information Score" in text and "Root relative squared error" in text


def _csv(tmp_path: Path, body: str, name: str = "bad.csv") -> str:
    path = tmp_path / name
    path.write_text(body)
    return str(path)


@pytest.mark.parametrize("body, message", [
    ("", "empty file"),
    ("fold,actual,p_a,p_b\n0,a,0.5,0.5\n0,b,-0.1,1.1\n", r"probabilities are negative in rows 3"),
    ("fold,actual,p_a,p_b\n0,a,nan,0.5\n0,b,0.2,0.8\n", r"probabilities are NaN in rows 2"),
    ("fold,actual,p_a,p_b\n0,a,0.5,0.5\n0,b,0.2,0.7\n0,b,0.6,0.6\n", r"do not sum to 1 .* rows 3, 4"),
    ("fold,actual,p_a,p_b\n0,c,0.5,0.5\n", r"row 2: actual class 'c' is not among"),
    ("fold,actual,weight,p_a,p_b\n0,a,-1,0.5,0.5\n", r"row 2: weight '-1' is not a finite number >= 0"),
])
def test_bad_predictions_are_refused_naming_file_and_rows(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                          body: str, message: str) -> None:
    path = _csv(tmp_path, body)
    assert main(["evaluate", path]) == 1
    error = capsys.readouterr().err
    assert error.startswith("wekawbc: error: ") and path in error
    assert __import__("re").search(message, error), error


def test_all_zero_rows_are_weka_unclassified_not_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _csv(tmp_path, "fold,actual,p_a,p_b\n0,a,0,0\n0,b,0.2,0.8\n1,a,0.9,0.1\n")
    assert main(["evaluate", path]) == 0
    assert "UnClassified Instances" in capsys.readouterr().out


@pytest.mark.parametrize("counts, message", [
    ("fold,x,y\n0,1,2\n", "labels .* differ"),
    ("fold,a,b\n0,1,2\n", "train_counts has shape"),
])
def test_bad_counts_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, counts: str, message: str) -> None:
    preds = _csv(tmp_path, "fold,actual,p_a,p_b\n0,a,0.5,0.5\n1,b,0.2,0.8\n", "preds.csv")
    counts_path = _csv(tmp_path, counts, "counts.csv")
    assert main(["evaluate", preds, "--train-counts", counts_path]) == 1
    error = capsys.readouterr().err
    assert counts_path in error and __import__("re").search(message, error), error


def test_parse_lists_blocks_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    result = evaluate(_predictions())
    text = tmp_path / "weka.txt"
    text.write_text("=== Stratified cross-validation ===\n" + result.weka_text() + "\n" + result.weka_text())
    assert main(["parse", str(text)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("#1 Stratified cross-validation (line 1), 5 classes")
    assert listing[1].startswith("#2 (untitled)")
    assert main(["parse", str(text), "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert len(parsed["evaluations"]) == 2
    assert parsed["evaluations"][0]["summary"]["kappa"] == round(result.kappa, 4)
    out = tmp_path / "parsed.json"
    assert main(["parse", str(text), "--json", str(out)]) == 0
    assert json.loads(out.read_text()) == parsed


def test_parse_of_text_without_evaluation_fails_with_exit_code(tmp_path: Path) -> None:
    text = _csv(tmp_path, "J48 pruned tree\n------------------\n: alpha (3.0)\n", "model.txt")
    done = subprocess.run([sys.executable, "-m", "wekawbc", "parse", text], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == f"wekawbc: error: {text}: no Weka evaluation found in {text} (no summary, " \
                                  "class details, confusion matrix, predictions table or Experimenter table)"

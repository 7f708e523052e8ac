"""``wekawbc compare alkrimi2023 RUN_DIR``: published values beside a five-class and a binary run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, precision_recall_fscore_support, roc_auc_score

from wekawbc._io import WekawbcError
from wekawbc.cli import main
from wekawbc.evaluation import evaluate
from wekawbc.papers import load_paper
from wekawbc.report.compare import canonical_label, compare_with_paper
from wekawbc.report.runfolder import load_run, write_run_folder

from test_report_runfolder import synthetic_predictions


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    five = synthetic_predictions(("Netrophils", "Lymphocyte", "Eosinophil", "Monocyte", "Basophil"),
                                 [111, 46, 31, 8, 5], 2.0, seed=11)
    binary = synthetic_predictions(("agranulocytes", "granulocytes"), [53, 147], 1.5, seed=12)
    for name, predictions in (("five", five), ("binary", binary)):
        write_run_folder(root / name, evaluate(predictions), settings={"seed": 1}, n_bootstrap=0, plots=False)
    return {"five": (load_run(root / "five"), five), "binary": (load_run(root / "binary"), binary)}


def _row(table, value_id, reading):
    return next(r for r in table["rows"] if r["id"] == value_id and r["reading"] == reading)


def test_labels_map_to_the_papers_spelling():
    assert [canonical_label(x) for x in ("Netrophil", "Neutrophils", "Agranulocytes", "basophil")] == \
        ["neutrophil", "neutrophil", "agranulocyte", "basophil"]


def test_five_class_run_against_tables_4_5_6_8_9(runs):
    run, predictions = runs["five"]
    table = compare_with_paper(load_paper("alkrimi2023"), [run])
    assert table["task"] == "five"
    assert {r["table"] for r in table["rows"]} == {"Table 4", "Table 5", "Table 6", "Table 8", "Table 9",
                                                   "Abstract", "Conclusion"}
    y, proba = predictions.actual, predictions.distribution
    y_pred = proba.argmax(axis=1)
    precision, recall, f1, _ = precision_recall_fscore_support(y, y_pred, zero_division=0)
    # Table 4 basophil "accuracy" under each reading (class index 4 in the run).
    basophil = {r["reading"]: r for r in table["rows"] if r["id"] == "t4.basophil"}
    assert basophil["recall (TP rate)"]["values"][0] == pytest.approx(recall[4])
    assert basophil["precision"]["values"][0] == pytest.approx(precision[4])
    n = len(y)
    ovr = (n - ((y == 4) & (y_pred != 4)).sum() - ((y != 4) & (y_pred == 4)).sum()) / n
    assert basophil["one-vs-rest accuracy"]["values"][0] == pytest.approx(ovr)
    assert basophil["recall (TP rate)"]["primary"] and basophil["recall (TP rate)"]["published_value"] == 0.967
    # Table 5 and 6 under Weka's weighted average and the macro reading.
    weights = np.bincount(y) / n
    row = _row(table, "t5.multi.f_measure", "Weka weighted average")
    assert row["values"][0] == pytest.approx(float(f1 @ weights))
    assert row["differences"][0] == pytest.approx(float(f1 @ weights) - 0.96)
    assert _row(table, "t5.multi.f_measure", "macro average")["values"][0] == pytest.approx(f1.mean())
    aucs = [roc_auc_score(y == k, proba[:, k]) for k in range(5)]
    assert _row(table, "t6.multi.auc", "Weka weighted ROC Area")["values"][0] == pytest.approx(float(np.dot(aucs, weights)))
    assert _row(table, "t6.multi.roc", "one-vs-rest macro AUC")["values"][0] == pytest.approx(np.mean(aucs))
    # "MSE" under every reading: Brier (sum over classes) = K x Weka's RMSE².
    brier = brier_score_loss(y, proba, labels=range(5), scale_by_half=False)
    assert _row(table, "t9.multi.mse", "Brier score (sum over classes)")["values"][0] == pytest.approx(brier)
    assert _row(table, "t9.multi.mse", "Weka RMSE squared")["values"][0] == pytest.approx(brier / 5)
    # Table 8 cells as shares of their row: basophil -> eosinophil is 3 of 25 in the paper.
    cell = _row(table, "t8.basophil.eosinophil", "share of the actual class's row")
    assert cell["published_value"] == pytest.approx(3 / 25)
    assert cell["values"][0] == pytest.approx(((y == 4) & (y_pred == 2)).sum() / (y == 4).sum())


def test_binary_run_against_tables_3_5_6_7_9(runs):
    run, predictions = runs["binary"]
    table = compare_with_paper(load_paper("alkrimi2023"), [run])
    assert table["task"] == "binary"
    assert {r["table"] for r in table["rows"]} == {"Table 3", "Table 5", "Table 6", "Table 7", "Table 9",
                                                   "Abstract", "Conclusion"}
    y_pred = predictions.distribution.argmax(axis=1)
    accuracy = (y_pred == predictions.actual).mean()
    row = _row(table, "abstract.binary.accuracy", "Weka % correct")
    assert row["values"][0] == pytest.approx(accuracy) and row["published_value"] == pytest.approx(0.9786)


def test_cli_writes_markdown_html_json(runs, tmp_path, capsys):
    assert main(["compare", "alkrimi2023", str(runs["five"][0].path), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| Table 6 | ROC | **Weka weighted ROC Area** | 0.967 |" in out
    data = json.loads((tmp_path / "compare_alkrimi2023_five.json").read_text())
    assert data["task"] == "five" and len(data["rows"]) == len([line for line in out.splitlines() if line.startswith("| ")]) - 1
    page = (tmp_path / "compare_alkrimi2023_five.html").read_text()
    assert '<table class="compare">' in page and '<table class="heat">' in page and "run 1" not in page


def test_refuses_runs_on_other_or_mixed_classes(runs, tmp_path):
    paper = load_paper("alkrimi2023")
    with pytest.raises(WekawbcError, match="cannot compare runs on different class sets"):
        compare_with_paper(paper, [runs["five"][0], runs["binary"][0]])
    other = synthetic_predictions(("neutrophil", "lymphocyte", "platelet"), [20, 20, 20], 2.0, seed=1)
    write_run_folder(tmp_path / "other", evaluate(other), n_bootstrap=0, plots=False)
    with pytest.raises(WekawbcError, match=r"classes \(neutrophil, lymphocyte, platelet\) match no task of alkrimi2023"):
        compare_with_paper(paper, [load_run(tmp_path / "other")])

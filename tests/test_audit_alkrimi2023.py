"""Every finding of ``wekawbc audit alkrimi2023``, recomputed independently of the audit's code.

The matrices and counts below are typed again from the paper (not read from the package data); the
figures come from scikit-learn, scipy and plain arithmetic; each verdict is asserted as decided by hand
(see docs/audit_alkrimi2023.md). A test also checks that every finding has an expectation here.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, precision_recall_fscore_support

from wekawbc.papers import load_paper
from wekawbc.papers.audit import audit_paper, max_kappa

# Tables 7 and 8 as printed (rows: actual class, the row totals equal the class counts of Tables 1, 2).
T7 = np.array([[210, 56], [28, 706]])  # agranulocyte, granulocyte
T8 = np.array([[35, 0, 0, 1, 2], [3, 220, 0, 0, 5], [1, 0, 546, 6, 3], [0, 0, 2, 138, 13], [1, 0, 0, 3, 21]])
MULTI = ("monocyte", "lymphocyte", "neutrophil", "eosinophil", "basophil")
GROUP = {"monocyte": 0, "lymphocyte": 0, "neutrophil": 1, "eosinophil": 1, "basophil": 1}


def _labels(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(i, j) for i, j in itertools.product(range(len(matrix)), repeat=2) for _ in range(matrix[i, j])]
    y_true, y_pred = np.array(pairs).T
    return y_true, y_pred


def _sk(matrix: np.ndarray) -> dict:
    y_true, y_pred = _labels(matrix)
    out = {"accuracy": accuracy_score(y_true, y_pred), "kappa": cohen_kappa_score(y_true, y_pred)}
    for average in (None, "weighted", "macro"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        out[average or "class"] = {"precision": p, "recall": r, "f_measure": f}
    n = matrix.sum()
    out["ovr_accuracy"] = np.array([(n - (matrix[k].sum() - matrix[k, k]) - (matrix[:, k].sum() - matrix[k, k])) / n
                                    for k in range(len(matrix))])
    out["errors"] = n - np.trace(matrix)
    return out


SK = {"binary": _sk(T7), "multi": _sk(T8)}
GROUPED = np.zeros((2, 2), dtype=int)
for a, b in itertools.product(range(5), repeat=2):
    GROUPED[GROUP[MULTI[a]], GROUP[MULTI[b]]] += T8[a, b]

EXPECTED: dict[str, tuple[object, bool | None]] = {
    "input:Table 7": (None, None),
    "input:Table 8": (None, None),
    # Table 1 adds up; its split is 80:20 of each class, rounded.
    "arithmetic:t1.agranulocyte.total:row": (213 + 53, True),
    "arithmetic:t1.granulocyte.total:row": (587 + 147, True),
    "arithmetic:t1.total.total:row": (800 + 200, True),
    "arithmetic:t1.total.training:column": (213 + 587, True),
    "arithmetic:t1.total.validation:column": (53 + 147, True),
    "arithmetic:t1.total.total:column": (266 + 734, True),
    "split:t1.agranulocyte.training": (round(266 * 0.8), True),
    "split:t1.granulocyte.training": (round(734 * 0.8), True),
    "split:t1.total.training": (800, True),
    "split:t1.agranulocyte.validation": (round(266 * 0.2), True),
    "split:t1.granulocyte.validation": (round(734 * 0.2), True),
    "split:t1.total.validation": (200, True),
    "split:s2.1.split": ("80:20", True),
    # Both matrices hold all 1000 images, not the 200 validation images.
    "protocol:t7.total.total": (T7.sum(), False),
    "protocol:t8.total.total": (T8.sum(), False),
    "cross-table:s2.1.images:Table 1": (1000, True),
    "cross-table:s2.1.images:Table 2": (556 + 153 + 25 + 38 + 228, True),
    "text:s2.1.source_images": (None, None),
    "cross-table:t1.agranulocyte.total:types": (38 + 228, True),
    "cross-table:t1.granulocyte.total:types": (556 + 153 + 25, True),
    "cross-table:t2.neutrophil:matrix": (T8[2].sum(), True),
    "cross-table:t2.eosinophil:matrix": (T8[3].sum(), True),
    "cross-table:t2.basophil:matrix": (T8[4].sum(), True),
    "cross-table:t2.monocyte:matrix": (T8[0].sum(), True),
    "cross-table:t2.lymphocyte:matrix": (T8[1].sum(), True),
    "cross-table:t1.agranulocyte.total:matrix": (T7[0].sum(), True),
    "cross-table:t1.granulocyte.total:matrix": (T7[1].sum(), True),
    # Table 8 grouped into the two groups is not Table 7.
    "cross-table:t7.agranulocyte.agranulocyte": (GROUPED[0, 0], False),
    "cross-table:t7.agranulocyte.granulocyte": (GROUPED[0, 1], False),
    "cross-table:t7.granulocyte.agranulocyte": (GROUPED[1, 0], False),
    "cross-table:t7.granulocyte.granulocyte": (GROUPED[1, 1], False),
    "arithmetic:t7.agranulocyte.total": (T7[0].sum(), True),
    "arithmetic:t7.granulocyte.total": (T7[1].sum(), True),
    "arithmetic:t7.total.agranulocyte": (T7[:, 0].sum(), True),
    "arithmetic:t7.total.granulocyte": (T7[:, 1].sum(), True),
    "arithmetic:t7.total.total": (T7.sum(), True),
    **{f"arithmetic:t8.{c}.total": (T8[k].sum(), True) for k, c in enumerate(MULTI)},
    **{f"arithmetic:t8.total.{c}": (T8[:, k].sum(), c != "eosinophil") for k, c in enumerate(MULTI)},  # 149 printed, 148
    "arithmetic:t8.total.total": (T8.sum(), True),
    # Accuracies of the abstract (97.86%, 96.4%) and conclusion (97.2, 96.28) vs the matrices (91.6%, 96.0%).
    "matrix:abstract.binary.accuracy": (100 * SK["binary"]["accuracy"], False),
    "matrix:abstract.multi.accuracy": (100 * SK["multi"]["accuracy"], False),
    "matrix:conclusion.binary.accuracy": (100 * SK["binary"]["accuracy"], False),
    "matrix:conclusion.multi.accuracy": (100 * SK["multi"]["accuracy"], False),
    # Tables 3 and 4 match no reading of "per-class accuracy".
    **{f"per-class reading:t3.{c}:{reading}": (
        100 * (SK["binary"]["ovr_accuracy"] if reading == "ovr_accuracy" else SK["binary"]["class"][reading])[k], False)
       for k, c in enumerate(("agranulocyte", "granulocyte")) for reading in ("recall", "precision", "ovr_accuracy")},
    **{f"per-class reading:t4.{c}:{reading}": (
        100 * (SK["multi"]["ovr_accuracy"] if reading == "ovr_accuracy" else SK["multi"]["class"][reading])[k], False)
       for k, c in enumerate(MULTI) for reading in ("recall", "precision", "ovr_accuracy")},
    # Table 5: only the five-class F (0.96, two decimals) fits Weka's weighted average.
    **{f"matrix:t5.{task}.{metric}:{average}": (SK[task][average][metric],
                                               (task, metric, average) == ("multi", "f_measure", "weighted"))
       for task in ("binary", "multi") for metric in ("f_measure", "precision", "recall")
       for average in ("weighted", "macro")},
    "bound:abstract.f_measure": ((0.971 + 0.972) / 2, False),
    "bound:t5.binary.f_measure": ((0.977 + 0.978) / 2, False),
    "bound:t5.multi.f_measure": ((0.966 + 0.967) / 2, True),
    "matrix:t6.binary.kappa": (SK["binary"]["kappa"], False),
    "matrix:t6.multi.kappa": (SK["multi"]["kappa"], False),
    "needs scores:t6.binary.roc": (None, None),
    "needs scores:t6.multi.roc": (None, None),
    "needs scores:t9.binary.roc": (None, None),
    "needs scores:t9.multi.roc": (None, None),
    "needs scores:abstract.roc": (None, None),
    "needs scores:t6.binary.auc": (None, None),
    "needs scores:t6.multi.auc": (None, None),
    "needs scores:abstract.auc": (None, None),
    "definition:t6.binary.roc": ("0.9995", False),
    "definition:t6.multi.roc": ("0.9996", False),
    "cross-table:t9.binary.roc:t6.binary.roc": ("0.961", True),
    "cross-table:t9.multi.roc:t6.multi.roc": ("0.967", False),
    # MSE lower bound (Weka's RMSE²): errors / N / (2K).
    "bound:t9.binary.mse": (SK["binary"]["errors"] / 1000 / 4, False),
    "bound:t9.multi.mse": (SK["multi"]["errors"] / 1000 / 10, False),
    "bound:abstract.binary.mse": (SK["binary"]["errors"] / 1000 / 4, False),
    "bound:abstract.multi.mse": (SK["multi"]["errors"] / 1000 / 10, True),
    "bound:conclusion.binary.mse": (SK["binary"]["errors"] / 1000 / 4, False),
    "bound:conclusion.multi.mse": (SK["multi"]["errors"] / 1000 / 10, True),
    "cross-table:abstract.binary.mse:t9.binary.mse": ("0.004", False),
    "cross-table:abstract.multi.mse:t9.multi.mse": ("0.002", False),
    "cross-table:conclusion.binary.mse:t9.binary.mse": ("0.004", False),
    "cross-table:conclusion.multi.mse:t9.multi.mse": ("0.002", False),
    # The abstract's figures are the means of the binary and five-class rows (AUC only if truncated).
    "summary:abstract.f_measure": ((0.987 + 0.96) / 2, True),
    "summary:abstract.precision": ((0.977 + 0.966) / 2, True),
    "summary:abstract.recall": ((0.978 + 0.967) / 2, True),
    "summary:abstract.kappa": ((0.963 + 0.965) / 2, True),
    "summary:abstract.roc": ((0.961 + 0.967) / 2, True),
    "summary:abstract.auc": ((0.9995 + 0.9996) / 2, False),
    "matrix:abstract.f_measure:mean": ((SK["binary"]["weighted"]["f_measure"] + SK["multi"]["weighted"]["f_measure"]) / 2, False),
    "matrix:abstract.precision:mean": ((SK["binary"]["weighted"]["precision"] + SK["multi"]["weighted"]["precision"]) / 2, False),
    "matrix:abstract.recall:mean": ((SK["binary"]["weighted"]["recall"] + SK["multi"]["weighted"]["recall"]) / 2, False),
    "matrix:abstract.kappa:mean": ((SK["binary"]["kappa"] + SK["multi"]["kappa"]) / 2, False),
    # The conclusion's accuracies are the unweighted means of Tables 3 and 4.
    "summary:conclusion.binary.accuracy": ((96.4 + 98.1) / 2, True),
    "cross-table:conclusion.binary.accuracy:abstract.binary.accuracy": ("97.86%", False),
    "summary:conclusion.multi.accuracy": ((97 + 95.3 + 95.3 + 97.1 + 96.7) / 5, True),
    "cross-table:conclusion.multi.accuracy:abstract.multi.accuracy": ("96.4%", False),
    "text:s4.2.binary.ranking": ("Kappa.St 0.963, ROC 0.961, AUC 0.9995", False),
    "text:s4.2.multi.ranking": ("Kappa.St 0.965, ROC 0.967, AUC 0.9996", False),
    "text:conclusion.binary.ranking": ("Kappa.St 0.963, ROC 0.961, AUC 0.9995", False),
    "text:conclusion.multi.ranking": ("Kappa.St 0.965, ROC 0.967, AUC 0.9996", False),
    "summary:conclusion.scorecard:the abstract's F, precision and recall": ("0.973, 0.971, 0.972", True),
    "summary:conclusion.scorecard:Table 5, binary row": ("0.987, 0.977, 0.978", True),
    "summary:conclusion.scorecard:Table 5, five-class row": ("0.960, 0.966, 0.967", False),
    "summary:conclusion.scorecard:Table 7 (Weka weighted F, precision, recall)": (", ".join(
        f"{SK['binary']['weighted'][m]:.3f}" for m in ("f_measure", "precision", "recall")), False),
    "summary:conclusion.scorecard:Table 8 (Weka weighted F, precision, recall)": (", ".join(
        f"{SK['multi']['weighted'][m]:.3f}" for m in ("f_measure", "precision", "recall")), False),
    "text:abstract.class_types": (5, False),
    "text:intro.granulocyte.share": ("25-34%", False),
    "text:intro.agranulocyte.share": ("64 -75%", False),
    "text:s2.agranulocyte.share": (26.6, False),
    "text:s2.granulocyte.share": (73.4, False),
    "text:intro.granulocyte.members": ("neutrophil, eosinophil, basophil", False),
    "text:intro.agranulocyte.members": ("monocyte, lymphocyte", True),
}


def _kappa_bound(accuracy: float, counts: np.ndarray) -> float:
    """Independent brute force: the largest kappa over predicted-class shares on a grid near the LP optimum.

    With po fixed, kappa is largest when the misclassified mass moves from the largest class to the
    smallest (it minimises sum r_i c_i), which the grid search below confirms.
    """
    r = counts / counts.sum()
    best = -1.0
    excess = 1 - accuracy
    for source, target in itertools.permutations(range(len(r)), 2):
        c = r.copy()
        c[source] -= excess
        c[target] += excess
        if c[source] < 0:
            continue
        pe = float(r @ c)
        best = max(best, (accuracy - pe) / (1 - pe))
    return best


EXPECTED["bound:t6.binary.kappa:accuracy"] = (_kappa_bound(0.97865, T7.sum(axis=1)), False)
EXPECTED["bound:t6.multi.kappa:accuracy"] = (_kappa_bound(0.9645, T8.sum(axis=1)), False)


@pytest.fixture(scope="module")
def findings() -> dict:
    return {finding.id: finding for finding in audit_paper(load_paper("alkrimi2023"))}


def test_every_finding_has_an_independent_expectation(findings):
    assert len(findings) == len(audit_paper(load_paper("alkrimi2023"))), "finding ids are unique"
    assert set(findings) == set(EXPECTED)


def test_every_printed_value_is_judged_or_marked_unjudgeable(findings):
    paper = load_paper("alkrimi2023")
    covered = {key.split(":")[1] for key in findings}
    assert [v.id for v in paper.values if v.id not in covered and v.table not in covered] == []


@pytest.mark.parametrize("finding_id", sorted(EXPECTED))
def test_finding(findings, finding_id):
    recomputed, verdict = EXPECTED[finding_id]
    finding = findings[finding_id]
    assert finding.consistent is verdict, finding.note
    if isinstance(recomputed, str) or recomputed is None:
        assert finding.recomputed == recomputed
    else:
        assert finding.recomputed == pytest.approx(float(recomputed), abs=5e-4), finding.quantity


def test_max_kappa_is_attained_and_never_exceeded():
    # The bound from the LP equals the brute-force optimum, and random matrices with that accuracy stay below it.
    counts = T8.sum(axis=1)
    assert max_kappa(0.96, counts / counts.sum()) == pytest.approx(_kappa_bound(0.96, counts), abs=1e-9)
    rng = np.random.default_rng(0)
    for _ in range(50):
        matrix = np.diag(counts).astype(float)
        for _ in range(40):  # move 40 instances off the diagonal: accuracy 0.96
            i = rng.choice(5, p=np.diag(matrix) / np.trace(matrix))
            j = rng.choice([k for k in range(5) if k != i])
            matrix[i, i] -= 1
            matrix[i, j] += 1
        y_true, y_pred = _labels(matrix.astype(int))
        assert cohen_kappa_score(y_true, y_pred) <= max_kappa(0.96, counts / counts.sum()) + 1e-12


def test_mse_bound_is_reached_by_ties_only():
    # 40 errors out of 1000 with 5 classes: each a 0.5/0.5 tie gives Weka's RMSE² = 40 * 0.5 / 5 / 1000 = 0.004.
    squared = 40 * ((1 - 0.5) ** 2 + 0.5 ** 2) / 5 / 1000
    assert math.isclose(squared, 0.004)


def test_cli_json_and_table(capsys, tmp_path):
    import json

    from wekawbc.cli import main

    assert main(["audit", "alkrimi2023", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["counts"]["inconsistent"] == sum(1 for _, v in EXPECTED.values() if v is False)
    assert set(document["findings"][0]) >= {"table", "quantity", "published", "recomputed", "consistent", "note"}
    assert main(["audit", "alkrimi2023"]) == 0
    text = capsys.readouterr().out
    assert "column total of 'Eosinophil'" in text and "not checkable from the matrix" in text
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "wekawbc.paper", "schema_version": 1, "key": "x"}')
    assert main(["audit", str(bad)]) == 1
    assert "bad.json: document: field 'citation' is missing" in capsys.readouterr().err

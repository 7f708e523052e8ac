"""The engine's Weka numbers against scikit-learn/imbalanced-learn where they coincide, the imbalance
extras, the bootstrap, and textbook anchors (hard predictions, ZeroR)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from imblearn.metrics import classification_report_imbalanced, geometric_mean_score, specificity_score
from sklearn.metrics import average_precision_score, brier_score_loss, cohen_kappa_score, roc_auc_score

from wekawbc.evaluation import evaluate
from wekawbc.predictions import Predictions

sys.path.insert(0, str(Path(__file__).parent))
from test_evaluation_vs_weka import generate_predictions  # noqa: E402


def _soft(seed: int, n: int = 400, k: int = 5, weights: bool = False) -> Predictions:
    rng = np.random.default_rng(seed)
    proportions = np.array([0.6, 0.2, 0.1, 0.07, 0.03])[:k]
    actual = rng.choice(k, size=n, p=proportions / proportions.sum())
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[actual]
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    dist = np.array([rng.multinomial(20, row) for row in softmax]) / 20  # multiples of 0.05: many ties
    weight = rng.uniform(0.2, 2.0, n) if weights else None
    return Predictions(tuple("abcde"[:k]), actual, dist, weight, fold=np.arange(n) % 10)


def test_rounding_below_zero_in_a_distribution_is_scored() -> None:
    """A Weka scheme gave -5.55e-19 for a class (pbc grid): the Brier score is still Weka's RMSE² x K."""
    p = _soft(7)
    distribution = p.distribution.copy()
    distribution[0, 1], distribution[0, 0] = -5.551115123125783e-19, distribution[0, 0] + distribution[0, 1]
    rounded = Predictions(p.labels, p.actual, distribution, p.weight, fold=p.fold)
    m = evaluate(rounded).imbalance_metrics()
    assert math.isclose(m["mse"] * p.n_classes, m["brier_multiclass"], rel_tol=1e-12)


@pytest.mark.parametrize("weights", [False, True])
def test_kappa_roc_prc_equal_sklearn(weights: bool) -> None:
    p = _soft(3, weights=weights)
    r = evaluate(p)
    predicted = np.argmax(p.distribution, axis=1)
    assert r.unclassified == 0
    assert math.isclose(r.kappa, cohen_kappa_score(p.actual, predicted, sample_weight=p.weight), abs_tol=1e-12)
    for c in range(p.n_classes):
        y = p.actual == c
        assert math.isclose(r.roc_area[c], roc_auc_score(y, p.distribution[:, c], sample_weight=p.weight), abs_tol=1e-12)
        assert math.isclose(r.prc_area[c], average_precision_score(y, p.distribution[:, c], sample_weight=p.weight),
                            abs_tol=1e-12)


def test_imbalance_metrics_equal_imblearn_for_unit_weights() -> None:
    p = _soft(5)
    r = evaluate(p)
    m = r.imbalance_metrics()
    y, yp = p.actual, np.argmax(p.distribution, axis=1)
    labels = list(range(p.n_classes))
    np.testing.assert_allclose(list(m["specificity"].values()), specificity_score(y, yp, labels=labels, average=None))
    np.testing.assert_allclose(list(m["g_mean"].values()), geometric_mean_score(y, yp, labels=labels, average=None))
    report = classification_report_imbalanced(y, yp, labels=labels, output_dict=True, zero_division=0)
    np.testing.assert_allclose(list(m["iba"].values()), [report[str(j)]["iba"] for j in labels])
    assert math.isclose(m["iba_weighted"], report["avg_iba"])
    # Weka's RMSE² is the multiclass Brier score divided by K.
    brier = brier_score_loss(y, p.distribution, labels=labels, scale_by_half=False)
    assert math.isclose(m["brier_multiclass"], brier)
    assert math.isclose(m["mse"] * p.n_classes, brier, rel_tol=1e-12)
    assert math.isclose(m["kappa"], r.kappa, abs_tol=1e-12)
    assert math.isclose(m["roc_auc_ovr_macro"], roc_auc_score(y, p.distribution, multi_class="ovr", average="macro"),
                        abs_tol=1e-12)
    assert math.isclose(m["micro_f1"], r.pct_correct / 100, abs_tol=1e-12)


def test_specificity_stays_a_rate_with_weights() -> None:
    # imbalanced-learn mixes weighted and unweighted counts here (its issue #1180); the engine does not.
    m = evaluate(_soft(8, weights=True)).imbalance_metrics()
    assert all(0 <= v <= 1 for v in m["specificity"].values())


def test_hard_predictions_and_zeror_anchors() -> None:
    # One-hot predictions: MAE = 2·err/K, RMSE = sqrt(2·err/K) (Weka's errors are over K classes).
    actual = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 0])
    predicted = np.array([0, 1, 0, 1, 2, 2, 2, 0, 2, 0])
    r = evaluate(Predictions(("a", "b", "c"), actual, np.eye(3)[predicted], train_counts=[[4, 2, 4]]))
    err = 3 / 10
    assert math.isclose(r.mean_absolute_error, 2 * err / 3)
    assert math.isclose(r.root_mean_squared_error, math.sqrt(2 * err / 3))
    # ZeroR (the training priors as the distribution) gives RAE = RRSE = 100 %.
    counts = np.array([[4.0, 2.0, 4.0]])
    zeror = np.repeat((counts + 1) / (counts.sum() + 3), 10, axis=0)
    z = evaluate(Predictions(("a", "b", "c"), actual, zeror, train_counts=counts))
    assert math.isclose(z.relative_absolute_error, 100.0) and math.isclose(z.root_relative_squared_error, 100.0)


def test_without_counts_a_single_fold_has_no_priors() -> None:
    p = Predictions(("a", "b"), [0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    r = evaluate(p)
    assert not r.has_priors and math.isnan(r.relative_absolute_error)
    assert "Relative absolute error" not in r.summary_text()
    cv = evaluate(Predictions(("a", "b"), [0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [1, 0]], fold=[0, 0, 1, 1]))
    assert cv.has_priors and "Root relative squared error" in cv.summary_text()


def test_bootstrap_is_seeded_stratified_and_brackets_the_estimate() -> None:
    r = evaluate(_soft(11))
    first, again, other = r.bootstrap(300, seed=4), r.bootstrap(300, seed=4), r.bootstrap(300, seed=5)
    assert first == again and first != other
    for name in ("accuracy", "kappa", "macro_f1"):
        ci = first["metrics"][name]
        assert ci["low"] <= ci["estimate"] <= ci["high"]
    assert math.isclose(first["metrics"]["accuracy"]["estimate"], r.pct_correct / 100)
    assert math.isclose(first["metrics"]["kappa"]["estimate"], r.kappa)
    # A class that is always recognised keeps recall 1 in every stratified resample.
    actual = np.array([0] * 30 + [1] * 5)
    dist = np.eye(2)[np.where(np.arange(35) % 7 == 0, 1, actual)]
    perfect = evaluate(Predictions(("major", "minor"), actual, dist)).bootstrap(200)
    assert perfect["metrics"]["recall"]["minor"] == {"estimate": 1.0, "low": 1.0, "high": 1.0, "std": 0.0}


def test_bootstrap_rejects_bad_parameters() -> None:
    r = evaluate(_soft(1, n=50))
    with pytest.raises(ValueError, match="n_resamples"):
        r.bootstrap(0)
    with pytest.raises(ValueError, match="confidence"):
        r.bootstrap(10, confidence=1.5)


@pytest.mark.parametrize("seed", range(40))
def test_to_dict_is_strict_json_with_every_number(seed: int) -> None:
    r = evaluate(generate_predictions(seed))
    data = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert len(data["classes"]) == r.n_classes
    assert data["summary"]["total_instances"] == r.total_instances
    assert set(data["weighted_avg"]) == set(data["macro_avg"]) == set(r.weighted)
    assert all(v is None or isinstance(v, float) for row in data["classes"] for k, v in row.items() if k != "class")


def test_curves_follow_weka_threshold_curve() -> None:
    p = _soft(2)
    r = evaluate(p)
    fpr, tpr, thresholds = r.roc_curve("a")
    assert fpr[0] == tpr[0] == 1.0 and fpr[-1] == tpr[-1] == 0.0
    assert np.all(np.diff(thresholds) > 0)
    # Trapezoids under Weka's points give Weka's (Mann-Whitney) ROC area.
    assert math.isclose(-np.trapezoid(tpr, fpr), r.roc_area[0], abs_tol=1e-12)
    precision, recall, _ = r.pr_curve(4)
    assert math.isclose(float(np.nansum(precision[:-1] * -np.diff(recall))), r.prc_area[4], abs_tol=1e-12)
    with pytest.raises(ValueError, match="not among"):
        r.roc_curve("z")


def test_nan_probabilities_are_refused() -> None:
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        evaluate(Predictions(("a", "b"), [0, 1], [[0.5, 0.5], [math.nan, 1.0]]))


def test_bootstrap_in_small_batches_and_without_known_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    from wekawbc.evaluation import _imbalance

    result = evaluate(_soft(4, n=200))
    monkeypatch.setattr(_imbalance, "_BATCH_CELLS", 450)  # two resamples per batch
    batched = result.bootstrap(101, seed=3)
    assert batched == result.bootstrap(101, seed=3)
    accuracy = batched["metrics"]["accuracy"]
    assert accuracy["low"] <= accuracy["estimate"] <= accuracy["high"] and accuracy["std"] > 0
    unknown = evaluate(Predictions(("a", "b"), [-1, -1], [[0.5, 0.5], [0.2, 0.8]]))
    with pytest.raises(ValueError, match="no instance has a known class"):
        unknown.bootstrap(10)

"""Imbalance strategies: their Weka wiring, their weights and costs, and that no test row leaks into training."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn import FunctionSampler
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.datasets import make_classification
from sklearn.utils.class_weight import compute_sample_weight

from wekawbc._io import WekawbcError
from wekawbc.imbalance import (STRATEGIES, AdaptiveSMOTE, ClassBalancedWekaClassifier, CostSensitiveWekaClassifier,
                               balanced_class_weights, balanced_sample_weights, get_strategy,
                               inverse_frequency_costs, make_estimator)
from wekawbc.protocol.folds import stratified_fold_assignment
from wekawbc.weka.sklearn import cross_validate_predictions

LABELS = ("eos", "lymph", "neut")
FEATURE_STRATEGIES = ("none", "weights", "class_balancer", "cost_sensitive", "smote")


@pytest.fixture(scope="module")
def data():
    """200 x 10, classes 140/45/15, with an id per row."""
    X, codes = make_classification(n_samples=200, n_features=10, n_informative=5, n_classes=3,
                                   weights=[0.7, 0.225, 0.075], flip_y=0, random_state=3)
    y = np.array(LABELS)[codes]
    ids = np.array([f"cell{i:03d}" for i in range(len(y))])
    return X, y, ids


def test_strategies_are_named_and_scoped():
    assert set(STRATEGIES) == {"none", "weights", "class_balancer", "cost_sensitive", "smote", "sampler"}
    assert get_strategy("sampler", "cnn").to_dict()["applies_to"] == ["cnn"]
    with pytest.raises(WekawbcError, match="unknown imbalance strategy 'sampler' for features; choose one of none"):
        make_estimator("sampler")
    with pytest.raises(WekawbcError, match="unknown imbalance strategy 'smoot'"):
        get_strategy("smoot")


def test_balanced_weights_equalise_class_totals():
    codes = np.array([0] * 7 + [1] * 2 + [2])
    sample_weight = np.linspace(0.5, 2.0, 10)
    weights = balanced_sample_weights(codes, 3, sample_weight)
    totals = np.bincount(codes, weights=weights)
    np.testing.assert_allclose(totals, sample_weight.sum() / 3)
    np.testing.assert_allclose(balanced_sample_weights(codes, 3), compute_sample_weight("balanced", codes))
    np.testing.assert_allclose(balanced_class_weights(codes, 4), [10 / 28, 10 / 8, 10 / 4, 0.0])


def test_inverse_frequency_costs():
    costs = inverse_frequency_costs([100.0, 20.0, 5.0])
    np.testing.assert_array_equal(costs, [[0, 1, 1], [5, 0, 5], [20, 20, 0]])


def test_weights_strategy_equals_wekas_class_balancer(jvm, data):
    X, y, _ = data
    reweighted = make_estimator("weights").fit(X, y)
    balancer = make_estimator("class_balancer").fit(X, y)
    assert isinstance(balancer, ClassBalancedWekaClassifier)
    assert str(balancer.weka_model_.getClass().getName()) == "weka.classifiers.meta.FilteredClassifier"
    assert "ClassBalancer" in str(balancer.weka_model_.getFilter().getClass().getName())
    # Same weights, same arithmetic as Weka's ClassBalancer, so the very same J48.
    np.testing.assert_array_equal(reweighted.predict_proba(X), balancer.predict_proba(X))
    plain = make_estimator("none").fit(X, y)
    assert not np.array_equal(plain.predict_proba(X), reweighted.predict_proba(X))


def test_cost_sensitive_uses_training_frequencies(jvm, data):
    X, y, _ = data
    estimator = make_estimator("cost_sensitive", "weka.classifiers.trees.J48 -C 0.25")
    assert isinstance(estimator, CostSensitiveWekaClassifier)
    train = np.arange(0, 200, 2)
    estimator.fit(X[train], y[train])
    counts = np.array([np.sum(y[train] == label) for label in LABELS], dtype=float)
    np.testing.assert_allclose(estimator.cost_matrix_, inverse_frequency_costs(counts))
    model = estimator.weka_model_
    assert str(model.getClass().getName()) == "weka.classifiers.meta.CostSensitiveClassifier"
    assert "J48" in str(model.getClassifier().getClass().getName())
    assert list(map(float, str(model.getCostMatrix().getElement(1, 0)).split())) == [counts.max() / counts[1]]
    # Reweighting by row costs balances the class totals, so J48 grows the tree ClassBalancer gives it.
    np.testing.assert_allclose(estimator.predict_proba(X), make_estimator("class_balancer").fit(
        X[train], y[train]).predict_proba(X), atol=1e-12)
    expected_cost = CostSensitiveWekaClassifier(minimize_expected_cost=True).fit(X[train], y[train])
    assert set(np.unique(expected_cost.predict_proba(X))) <= {0.0, 1.0}


def test_adaptive_smote_caps_neighbours_by_smallest_class(jvm):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(43, 4))
    y = np.array(["a"] * 30 + ["b"] * 10 + ["c"] * 3)
    with pytest.raises(ValueError):
        SMOTE(random_state=1).fit_resample(X, y)  # plain SMOTE needs 6 members in every class
    sampler = AdaptiveSMOTE(random_state=1)
    X_new, y_new = sampler.fit_resample(X, y)
    assert sampler.k_neighbors_ == 2
    assert sorted(np.unique(y_new, return_counts=True)[1]) == [30, 30, 30]
    with pytest.raises(WekawbcError, match="class 'c': the training data hold only 1 instance"):
        AdaptiveSMOTE().fit_resample(X[:41], y[:41])


@pytest.mark.parametrize("strategy", FEATURE_STRATEGIES)
def test_every_strategy_cross_validates_on_untouched_test_folds(jvm, data, strategy):
    from wekawbc.evaluation import evaluate

    X, y, ids = data
    folds = stratified_fold_assignment(y, 5, 1)
    predictions = cross_validate_predictions(make_estimator(strategy, seed=1), X, y, folds, LABELS, ids)
    assert predictions.ids == tuple(ids)
    np.testing.assert_allclose(predictions.distribution.sum(axis=1), 1.0)
    counts = np.array([[np.sum((y == label) & (folds != f)) for label in LABELS] for f in range(5)])
    np.testing.assert_array_equal(predictions.train_counts, counts)
    assert evaluate(predictions).total_instances == 200


# -- leakage: which rows reach training, traced by identifier ------------------------------------------------

def _recorder():
    """A FunctionSampler function that changes nothing and remembers every (X, y) handed to it.

    A plain function, because ``clone`` deep-copies parameters and ``deepcopy`` keeps functions as
    they are: every fold's clone records into the same list, ``recorder.seen``.
    """
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def record(X, y):
        seen.append((np.array(X, copy=True), np.array(y, copy=True)))
        return X, y

    record.seen = seen
    return record


def _with_recorders(estimator, before, after):
    """The estimator with a recorder in front of it (and, for SMOTE, one after the sampler)."""
    record = ("record", FunctionSampler(func=before, validate=False))
    if isinstance(estimator, Pipeline):
        (name, sampler), last = estimator.steps[0], estimator.steps[1:]
        return Pipeline([record, (name, sampler), ("after", FunctionSampler(func=after, validate=False)), *last])
    return Pipeline([record, ("weka", estimator)])


def _row_ids(rows: np.ndarray, X: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The id of each row of ``rows`` that is an exact row of ``X``; "" for a row that is none."""
    lookup = {row.tobytes(): i for row, i in zip(X, ids)}
    return np.array([lookup.get(row.tobytes(), "") for row in rows])


def _smote_parents(synthetic: np.ndarray, synthetic_y: np.ndarray, X: np.ndarray, y: np.ndarray,
                   ids: np.ndarray) -> set[str]:
    """Ids of the rows each synthetic row was interpolated between, ``p + t (q - p)`` with 0 <= t <= 1,
    searched among ALL rows of its class (training and test alike)."""
    parents: set[str] = set()
    for row, label in zip(synthetic, synthetic_y):
        candidates, candidate_ids = X[y == label], ids[y == label]
        offset = row[None, :] - candidates  # s - p for every p
        exact = np.flatnonzero(np.linalg.norm(offset, axis=1) < 1e-12)
        if exact.size:  # a step of 0 reproduces its parent
            parents.add(str(candidate_ids[exact[0]]))
            continue
        diffs = candidates[None, :, :] - candidates[:, None, :]  # diffs[p, q] = q - p
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.einsum("pf,pqf->pq", offset, diffs) / np.einsum("pqf,pqf->pq", diffs, diffs)
        residual = np.linalg.norm(offset[:, None, :] - t[..., None] * diffs, axis=2)
        matches = np.argwhere((residual < 1e-9) & (t >= 0) & (t <= 1))
        assert len(matches), "a synthetic row lies between no two rows of its class"
        p, q = matches[0]
        parents.update((str(candidate_ids[p]), str(candidate_ids[q])))
    return parents


@pytest.mark.parametrize("strategy", FEATURE_STRATEGIES)
def test_no_test_instance_reaches_training(jvm, data, strategy):
    X, y, ids = data
    folds = stratified_fold_assignment(y, 5, 1)
    before, after = _recorder(), _recorder()
    estimator = _with_recorders(make_estimator(strategy, seed=1), before, after)
    cross_validate_predictions(estimator, X, y, folds, LABELS, ids)
    assert len(before.seen) == 5  # one fit per fold
    for fold, (seen, _) in enumerate(before.seen):
        assert sorted(_row_ids(seen, X, ids)) == sorted(ids[folds != fold])  # exactly the training fold, once each
    if strategy != "smote":
        assert after.seen == []
        return
    for fold, (resampled, resampled_y) in enumerate(after.seen):
        n_train = int(np.sum(folds != fold))
        synthetic, synthetic_y = resampled[n_train:], resampled_y[n_train:]
        assert len(synthetic) > 0 and not (_row_ids(synthetic, X, ids) != "").any()
        parents = _smote_parents(synthetic, synthetic_y, X, y, ids)
        assert parents and parents <= set(ids[folds != fold])


def test_leakage_check_detects_smote_before_the_split(jvm, data):
    # The same parent check on SMOTE fitted on all rows (the mistake the pipeline prevents) finds test rows.
    X, y, ids = data
    folds = stratified_fold_assignment(y, 5, 1)
    X_all, y_all = SMOTE(random_state=1, k_neighbors=3).fit_resample(X, y)
    parents = _smote_parents(X_all[len(X):], y_all[len(X):], X, y, ids)
    assert parents & set(ids[folds == 0])


@pytest.mark.slow
def test_smote_pipeline_grid_search_in_worker_processes(jvm, data):
    from sklearn.model_selection import GridSearchCV

    X, y, _ = data
    search = GridSearchCV(make_estimator("smote", "weka.classifiers.trees.J48", seed=1),
                          {"smote__k_neighbors": [3, 5], "weka__options": [None, "-M 10"]}, cv=3, n_jobs=2,
                          scoring="balanced_accuracy", error_score="raise").fit(X, y)
    assert not np.isnan(search.cv_results_["mean_test_score"]).any()
    serial = GridSearchCV(make_estimator("smote", "weka.classifiers.trees.J48", seed=1),
                          {"smote__k_neighbors": [3, 5], "weka__options": [None, "-M 10"]}, cv=3,
                          scoring="balanced_accuracy").fit(X, y)
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])

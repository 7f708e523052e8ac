"""Class-balanced self-training on an unlabelled test lab (``wekawbc.experiment.crosslab.self_train``);
its cross-lab accuracies on the shared data are in docs/cross_lab.md ("Self-training on round 4's pipeline")."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from test_prior_adjustment import LOGISTIC, pbc_cells  # noqa: F401  (the fixture: real pbc features, skewed test mix)

from wekawbc.experiment.crosslab import self_train


def _fit_predict_proba(X, y, Z):
    return LogisticRegression().fit(X, y).predict_proba(Z)


def test_rows_chosen_per_predicted_class_by_confidence_on_the_stated_schedule():
    rng = np.random.default_rng(2)
    X_train = np.vstack([rng.normal(loc=c * 3.0, size=(50, 2)) for c in range(3)])
    y_train = np.repeat(np.arange(3), 50)
    X_test = np.vstack([rng.normal(loc=c * 3.0, size=(n, 2)) for c, n in enumerate((80, 15, 5))]) + 0.5

    equal = self_train(X_train, y_train, X_test, _fit_predict_proba, rounds=3, fraction=0.2)
    assert len(equal.history) == 4 and len(equal.pseudo_rows) == 3 and len(equal.predicted_counts) == 4
    assert np.array_equal(equal.history[0], _fit_predict_proba(X_train, y_train, X_test))
    for r, (rows, counts) in enumerate(zip(equal.pseudo_rows, equal.pseudo_counts), start=1):
        predicted = equal.history[r - 1].argmax(axis=1)
        wanted = int(np.ceil(min(1.0, 0.2 * r) * 100 / 3))  # the same number per class, or all of a small class
        assert counts == [min(wanted, int((predicted == c).sum())) for c in range(3)]
        for c in range(3):  # the most confident of their predicted class
            confidence = equal.history[r - 1].max(axis=1)
            taken = rows[predicted[rows] == c]
            rest = np.setdiff1d(np.flatnonzero(predicted == c), taken)
            assert not len(rest) or confidence[taken].min() >= confidence[rest].max()
    proportional = self_train(X_train, y_train, X_test, _fit_predict_proba, rounds=1, fraction=0.5,
                              balance="proportional")
    predicted = proportional.history[0].argmax(axis=1)
    assert proportional.pseudo_counts[0] == [int(np.ceil(0.5 * (predicted == c).sum())) for c in range(3)]
    assert self_train(X_train, y_train, X_test, _fit_predict_proba, rounds=0).pseudo_rows == []
    for bad in ({"rounds": -1}, {"fraction": 0.0}, {"fraction": 1.5}, {"balance": "skewed"}):
        with pytest.raises(ValueError):
            self_train(X_train, y_train, X_test, _fit_predict_proba, **bad)


@pytest.mark.slow  # extracts 300 real pbc cells (shared with test_prior_adjustment), then 2 x 3 Weka fits
def test_weka_on_real_features_never_reads_the_test_labels_and_keeps_accuracy(jvm, pbc_cells):  # noqa: F811
    """Weka Logistic trained on 40 pbc cells per class; held-out pbc cells at a skewed mix (56 % neutrophils)."""
    import pandas as pd

    from wekawbc.evaluation import evaluate
    from wekawbc.predictions import Predictions
    from wekawbc.weka import run_classifier

    train, test, _ = pbc_cells
    columns = [c for c in train.columns if c != "class"]
    classes = train["class"].cat.categories
    actual = np.asarray(test["class"].cat.codes)

    def weka(test_classes):
        def fit_predict_proba(X, y, Z):  # the test class column is Weka's to carry, never self_train's to read
            frame, supplied = pd.DataFrame(X, columns=columns), pd.DataFrame(Z, columns=columns)
            frame["class"] = pd.Categorical.from_codes(y, categories=classes)
            supplied["class"] = pd.Categorical(test_classes, categories=classes)
            return run_classifier(frame, LOGISTIC, test=supplied).predictions.distribution
        return fit_predict_proba

    args = (train[columns].to_numpy(np.float64), np.asarray(train["class"].cat.codes), test[columns].to_numpy(np.float64))
    result = self_train(*args, weka(test["class"]), rounds=2, fraction=0.2)
    shuffled = test["class"].sample(frac=1.0, random_state=4).to_numpy()
    assert (shuffled != test["class"].to_numpy()).any()
    again = self_train(*args, weka(shuffled), rounds=2, fraction=0.2)
    assert np.array_equal(result.probabilities, again.probabilities)
    assert all(np.array_equal(a, b) for a, b in zip(result.pseudo_rows, again.pseudo_rows))
    assert sum(len(rows) for rows in result.pseudo_rows) > 0

    accuracy = [evaluate(Predictions(tuple(classes), actual, p)).pct_correct for p in result.history]
    assert accuracy[-1] >= accuracy[0] - 100 / 36, accuracy  # at most one cell lost

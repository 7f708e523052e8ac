"""Per-lab standardisation at an equal class mix (``robust_standardise`` with weights,
``prior_balanced_standardise``); its cross-lab accuracies on the shared data are in docs/cross_lab.md."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from wekawbc.experiment.crosslab import class_balance_weights, prior_balanced_standardise, robust_standardise


def test_weights_act_as_repeated_rows_and_equal_weights_change_nothing():
    rng = np.random.default_rng(3)
    values = rng.lognormal(size=(40, 4))
    values[5, 2] = np.nan
    assert np.allclose(robust_standardise(values, np.ones(40)), robust_standardise(values), equal_nan=True)
    # weight 2 on the first ten rows = those rows twice (numpy's percentiles on the repeated table as the oracle);
    # the two agree at the quantile positions that fall on rows, so compare at an odd total of 50 + 1 rows
    values = rng.lognormal(size=(41, 3))
    weights = np.ones(41)
    weights[:10] = 2.0
    repeated = np.vstack([values, values[:10]])
    assert np.allclose(robust_standardise(values, weights), robust_standardise(repeated)[:41], atol=0.05)
    with pytest.raises(ValueError, match="positive"):
        robust_standardise(values, np.zeros(41))
    assert np.array_equal(class_balance_weights(np.array([0, 0, 0, 1])), [1 / 3, 1 / 3, 1 / 3, 1.0])


def _lab(rng, n_per_class, offset):
    X = np.vstack([rng.normal(loc=c * 2.0, size=(n, 3)) for c, n in enumerate(n_per_class)]) + offset
    return X, np.repeat(np.arange(len(n_per_class)), n_per_class)


def test_a_test_lab_of_mostly_one_class_is_standardised_as_if_balanced():
    rng = np.random.default_rng(1)
    X_train, y_train = _lab(rng, (200, 200), 0.0)
    X_test, y_test = _lab(rng, (360, 40), 5.0)  # another lab: shifted, 90 % of class 0

    def fit_predict(X, y, Z):
        return LogisticRegression().fit(X, y).predict(Z)

    plain = fit_predict(robust_standardise(X_train), y_train, robust_standardise(X_test))
    train, test, counts = prior_balanced_standardise([X_train], [y_train], X_test, fit_predict, rounds=16)
    balanced = fit_predict(train, y_train, test)
    assert (plain == y_test).mean() < 0.8  # the mostly-class-0 median is read as the middle of both classes
    assert (balanced == y_test).mean() > (plain == y_test).mean() + 0.1
    assert len(counts) == 16 and all(sum(c) == 400 for c in counts)
    assert prior_balanced_standardise([X_train], [y_train], X_test, fit_predict, rounds=0)[2] == []

"""Per-lab quantile mapping of the features (``wekawbc.experiment.crosslab.quantile_standardise``) and the soft
class-balance weights; its cross-lab accuracies on the shared data are in docs/cross_lab.md ("Quantile mapping")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, rankdata

from wekawbc.experiment.crosslab import (class_balance_weights, prior_balanced_standardise, quantile_standardise,
                                         robust_standardise)


def test_equal_weights_give_the_normal_scores_of_mid_ranks():
    rng = np.random.default_rng(3)
    values = np.column_stack([rng.lognormal(size=40), rng.integers(0, 4, size=40).astype(float)])  # ties in column 1
    values[[2, 17], 0] = np.nan
    out = quantile_standardise(values)
    for j in range(2):
        known = np.isfinite(values[:, j])
        ranks = rankdata(values[known, j], method="average")  # the oracle: SciPy's mid-ranks, Hazen's positions
        assert np.allclose(out[known, j], norm.ppf((ranks - 0.5) / known.sum()))
    assert np.isnan(out[[2, 17], 0]).all()


def test_integer_weights_act_as_repeated_rows():
    rng = np.random.default_rng(4)
    values = rng.normal(size=(30, 3))
    repeats = rng.integers(1, 4, size=30)
    weighted = quantile_standardise(values, repeats.astype(float))
    repeated = quantile_standardise(np.repeat(values, repeats, axis=0))
    first = np.concatenate([[0], np.cumsum(repeats)[:-1]])
    assert np.allclose(weighted, repeated[first])
    with pytest.raises(ValueError, match="positive"):
        quantile_standardise(values, np.zeros(30))


def test_soft_class_balance_weights_give_an_equal_mix_of_the_classes():
    codes = np.array([0, 0, 0, 1, 2, 2])
    assert np.allclose(class_balance_weights(np.eye(3)[codes]), class_balance_weights(codes))
    rng = np.random.default_rng(5)
    probabilities, values = rng.dirichlet(np.ones(3), size=50), rng.normal(size=50)
    weights = class_balance_weights(probabilities)
    # the weighted rows are the equal mix of the classes' soft distributions: any average is their mean
    per_class = (probabilities * values[:, None]).sum(axis=0) / probabilities.sum(axis=0)
    assert np.average(values, weights=weights) == pytest.approx(per_class.mean())
    assert weights.sum() == pytest.approx(3.0)


def test_prior_balanced_with_one_hot_probabilities_equals_the_codes_version():
    rng = np.random.default_rng(6)
    train = rng.normal(size=(60, 2)) + np.repeat([[0, 0], [3, 0], [0, 3]], 20, axis=0)
    codes = np.repeat([0, 1, 2], 20)
    test = rng.normal(size=(50, 2)) * 1.5 + 1.0 + np.repeat([[0, 0], [3, 0], [0, 3]], [40, 5, 5], axis=0) * 1.5

    def nearest_mean(X, y, Z):
        means = np.array([X[y == c].mean(axis=0) for c in range(3)])
        return np.argmin(((Z[:, None, :] - means) ** 2).sum(axis=2), axis=1)

    for standardiser in (robust_standardise, quantile_standardise):
        hard = prior_balanced_standardise([train], [codes], test, nearest_mean, 3, standardiser)
        soft = prior_balanced_standardise([train], [codes], test, lambda X, y, Z: np.eye(3)[nearest_mean(X, y, Z)], 3,
                                          standardiser)
        assert np.allclose(hard[1], soft[1]) and hard[2] == soft[2]


@pytest.fixture(scope="module")
def two_labs(datasets, tmp_path_factory):
    """Real density (colour relative to the plasma) features of 40 pbc and 40 jtsc cells (seeded), with classes."""
    from wekawbc.experiment.data import extract_table, select_cells
    from wekawbc.experiment.scaleout import SerialExecutor
    from wekawbc.features.registry import FEATURES

    columns = [f.name for f in FEATURES if f.group == "density"]
    labs = {}
    for lab, counts in (("pbc", dict.fromkeys(("neutrophil", "eosinophil", "basophil", "lymphocyte", "monocyte"), 8.0)),
                        ("jtsc", {"neutrophil": 24.0, "eosinophil": 4.0, "lymphocyte": 6.0, "monocyte": 6.0})):
        selection = select_cells(lab, datasets / lab, counts, 1, allow_outside=True)
        table = extract_table(selection, {}, tmp_path_factory.mktemp(lab), SerialExecutor(), progress=False)
        by_id = {str(r.image): r.label for r in selection.records}
        frame = pd.DataFrame(table.values, columns=list(table.names))[columns]
        frame["class"] = pd.Categorical([by_id[i] for i in table.ids],
                                        categories=["neutrophil", "eosinophil", "basophil", "lymphocyte", "monocyte"])
        labs[lab] = frame
    return labs, columns


def test_on_real_features_each_labs_quantiles_agree_and_a_monotone_change_drops_out(two_labs):
    labs, columns = two_labs
    pbc, jtsc = (labs[lab][columns].to_numpy(np.float64) for lab in ("pbc", "jtsc"))
    codes = labs["pbc"]["class"].cat.codes.to_numpy()
    # a monotone change of every feature (a lab's stain curve, whatever its shape) leaves the map unchanged;
    # the median/IQR standardisation removes only its linear part
    bent = np.sign(pbc) * np.abs(pbc) ** 3 + 2.0
    assert np.allclose(quantile_standardise(bent), quantile_standardise(pbc), equal_nan=True)
    assert not np.allclose(robust_standardise(bent), robust_standardise(pbc), equal_nan=True)
    # before: the labs' medians differ by several interquartile ranges in some column; after, every
    # column's quartiles agree between the labs (ties aside: at most one rank step)
    quartiles = (25, 50, 75)
    raw_gap = np.abs(np.nanmedian(pbc, axis=0) - np.nanmedian(jtsc, axis=0)) / (
        np.nanpercentile(pbc, 75, axis=0) - np.nanpercentile(pbc, 25, axis=0))
    assert np.nanmax(raw_gap) > 2.0
    gap = np.abs(np.nanpercentile(quantile_standardise(pbc), quartiles, axis=0)
                 - np.nanpercentile(quantile_standardise(jtsc), quartiles, axis=0))
    assert np.nanmax(gap) < 0.1
    # at an equal class mix (pbc is balanced: the weights change nothing) the weighted median maps to 0
    weighted = quantile_standardise(pbc, class_balance_weights(codes))
    assert np.allclose(weighted, quantile_standardise(pbc), equal_nan=True)


def test_quantile_prior_balanced_with_weka_never_reads_the_test_classes(jvm, two_labs):
    from wekawbc.weka import run_classifier

    labs, columns = two_labs
    train, test = labs["pbc"], labs["jtsc"]
    y_train = train["class"].cat.codes.to_numpy()

    def frame(values, classes):
        out = pd.DataFrame(values, columns=columns)
        out["class"] = pd.Categorical(classes, categories=list(train["class"].cat.categories))
        return out

    def run(test_classes):
        def fit_predict(X, y, Z):  # Weka's evaluation needs a class column; the probabilities do not read it
            predictions = run_classifier(frame(X, train["class"].to_numpy()),
                                         "weka.classifiers.functions.Logistic -R 1.0 -M -1",
                                         test=frame(Z, test_classes)).predictions
            return np.asarray(predictions.distribution)
        return prior_balanced_standardise([train[columns].to_numpy(np.float64)], [y_train],
                                          test[columns].to_numpy(np.float64), fit_predict, 3, quantile_standardise)

    shuffled = np.random.default_rng(1).permutation(test["class"].to_numpy())
    first, second = run(test["class"].to_numpy()), run(shuffled)
    assert np.allclose(first[1], second[1], equal_nan=True) and first[2] == second[2]
    assert len(first[2]) == 3 and sum(first[2][0]) == len(test)

"""CORAL, correlation alignment of one lab's features to another's (``wekawbc.experiment.crosslab.coral_align``);
its cross-lab accuracies on the shared data are in docs/cross_lab.md ("CORAL and Macenko on round 4's pipeline")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wekawbc.experiment.crosslab import class_balance_weights, coral_align, robust_standardise


def _weighted_cov(values, weights=None):
    return np.cov(values, rowvar=False, aweights=weights)


def test_without_ridge_the_aligned_source_has_the_targets_mean_and_covariance():
    rng = np.random.default_rng(5)
    source = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4))
    target = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4)) + 3.0
    aligned = coral_align(source, target, ridge=0.0)
    assert np.allclose(_weighted_cov(aligned), _weighted_cov(target))
    assert np.allclose(aligned.mean(axis=0), target.mean(axis=0))
    assert not np.allclose(_weighted_cov(source), _weighted_cov(target))
    # a lab aligned to itself is unchanged, whatever the ridge
    assert np.allclose(coral_align(target, target, ridge=1.0), target)


def test_weights_align_the_weighted_statistics_of_a_chosen_class_mix():
    rng = np.random.default_rng(7)
    codes_s = np.repeat([0, 1], [100, 100])
    codes_t = np.repeat([0, 1], [180, 20])  # a target lab of mostly one class
    source = rng.normal(size=(200, 3)) + codes_s[:, None] * [2.0, 0.0, 1.0]
    target = rng.normal(size=(200, 3)) * [1.0, 2.0, 0.5] + codes_t[:, None] * [2.0, 0.0, 1.0]
    w_s, w_t = class_balance_weights(codes_s), class_balance_weights(codes_t)
    aligned = coral_align(source, target, w_s, w_t, ridge=0.0)
    assert np.allclose(_weighted_cov(aligned, w_s), _weighted_cov(target, w_t))
    assert np.allclose(np.average(aligned, axis=0, weights=w_s), np.average(target, axis=0, weights=w_t))
    unweighted = coral_align(source, target, ridge=0.0)
    assert not np.allclose(_weighted_cov(unweighted, w_s), _weighted_cov(target, w_t))


def test_refuses_what_it_cannot_align():
    good = np.zeros((5, 2)) + np.arange(10).reshape(5, 2) % 3
    with pytest.raises(ValueError, match="finite"):
        coral_align(np.array([[np.nan, 1.0], [1.0, 2.0], [0.0, 1.0]]), good)
    with pytest.raises(ValueError, match="same columns"):
        coral_align(good, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="ridge"):
        coral_align(good, good, ridge=-1.0)
    with pytest.raises(ValueError, match="positive"):
        coral_align(good, good, np.zeros(5))
    with pytest.raises(ValueError, match="singular"):
        coral_align(np.ones((5, 2)), good, ridge=0.0)


@pytest.fixture(scope="module")
def two_labs(datasets, tmp_path_factory):
    """Real density (colour relative to the plasma) features of 60 pbc and 60 jtsc cells (seeded), 19 columns."""
    from wekawbc.experiment.data import extract_table, select_cells
    from wekawbc.experiment.scaleout import SerialExecutor
    from wekawbc.features.registry import FEATURES

    # each compartment's three density fractions sum to 1: two of them carry the three
    columns = [f.name for f in FEATURES if f.group == "density" and not f.name.endswith("_Density_Fraction_B")]
    labs = {}
    for lab, counts in (("pbc", dict.fromkeys(("neutrophil", "eosinophil", "basophil", "lymphocyte", "monocyte"), 12.0)),
                        ("jtsc", {"neutrophil": 35.0, "eosinophil": 5.0, "lymphocyte": 10.0, "monocyte": 10.0})):
        selection = select_cells(lab, datasets / lab, counts, 1, allow_outside=True)
        table = extract_table(selection, {}, tmp_path_factory.mktemp(lab), SerialExecutor(), progress=False)
        labs[lab] = pd.DataFrame(table.values, columns=list(table.names))[columns].to_numpy(np.float64)
    return labs


@pytest.mark.slow  # extracts 120 real cells of two labs
def test_on_real_feature_tables_the_target_covariance_is_matched(two_labs):
    pbc, jtsc = (np.nan_to_num(robust_standardise(two_labs[lab]), nan=0.0) for lab in ("pbc", "jtsc"))
    assert pbc.shape[1] == jtsc.shape[1] == 19
    exact = coral_align(pbc, jtsc, ridge=0.0)  # 60 cells, 19 columns: full rank
    assert np.allclose(_weighted_cov(exact), _weighted_cov(jtsc), atol=1e-8)
    # the paper's ridge regularises; the covariance still moves most of the way to the target's
    before = np.linalg.norm(_weighted_cov(pbc) - _weighted_cov(jtsc))
    after = np.linalg.norm(_weighted_cov(coral_align(pbc, jtsc, ridge=1.0)) - _weighted_cov(jtsc))
    assert after < 0.5 * before

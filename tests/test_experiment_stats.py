"""Experimenter statistics against Weka's own PairedStatsCorrected and PairedCorrectedTTester."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from wekawbc.experiment.stats import corrected_paired_ttest, experimenter_table, summarise_runs


def _results(rng: np.random.Generator, shifts: dict[str, float], runs: int, folds: int, n: int) -> pd.DataFrame:
    n_test = n // folds
    rows = []
    for scheme, shift in shifts.items():
        for r in range(1, runs + 1):
            for f in range(1, folds + 1):
                rows.append({"scheme": scheme, "repetition": r, "fold": f, "n_train": n - n_test, "n_test": n_test,
                             "pct_correct": 70 + shift + rng.normal(0, 4)})
    return pd.DataFrame(rows)


def _weka_tester(results: pd.DataFrame, metric: str, alpha: float):
    """Weka's PairedCorrectedTTester over an Experimenter result set holding ``results``."""
    from jpype import JClass

    Attribute, ArrayList = JClass("weka.core.Attribute"), JClass("java.util.ArrayList")

    def nominal(name, values):
        levels = ArrayList()
        for value in values:
            levels.add(value)
        return Attribute(name, levels)

    schemes = list(dict.fromkeys(results["scheme"]))
    attributes = ArrayList()
    for attribute in (nominal("Key_Dataset", ["data"]), Attribute("Key_Run"), Attribute("Key_Fold"),
                      nominal("Key_Scheme", schemes), nominal("Key_Scheme_options", ["none"]),
                      nominal("Key_Scheme_version_ID", ["1"]), Attribute("Number_of_training_instances"),
                      Attribute("Number_of_testing_instances"), Attribute(metric)):
        attributes.add(attribute)
    data = JClass("weka.core.Instances")("results", attributes, 0)
    for row in results.itertuples():
        instance = JClass("weka.core.DenseInstance")(9)
        instance.setDataset(data)
        for i, value in enumerate((0, row.repetition, row.fold, schemes.index(row.scheme), 0, 0, row.n_train,
                                   row.n_test, getattr(row, metric))):
            instance.setValue(i, float(value))
        data.add(instance)
    tester = JClass("weka.experiment.PairedCorrectedTTester")()
    tester.setInstances(data)
    tester.setDatasetKeyColumns(JClass("weka.core.Range")("first"))
    tester.setRunColumn(1)
    tester.setFoldColumn(2)
    tester.setResultsetKeyColumns(JClass("weka.core.Range")("4,5,6"))
    tester.setSignificanceLevel(alpha)
    return tester, data


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_paired_stats_equal_weka(jvm, seed):
    from jpype import JClass

    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 101))
    x = rng.normal(80, 3, n)
    y = x + rng.normal(rng.uniform(-2, 2), 2, n)
    ratio = 1 / 9
    weka = JClass("weka.experiment.PairedStatsCorrected")(0.05, ratio)
    for a, b in zip(x, y):
        weka.add(float(a), float(b))
    weka.calculateDerived()
    ours = corrected_paired_ttest(x, y, ratio)
    assert ours.difference_mean == pytest.approx(weka.differencesStats.mean, abs=1e-12)
    assert ours.difference_std == pytest.approx(weka.differencesStats.stdDev, rel=1e-10)
    assert ours.p_value == pytest.approx(weka.differencesProbability, rel=1e-8, abs=1e-12)
    assert ours.significance == weka.differencesSignificance


def test_no_spread_follows_weka(jvm):
    from jpype import JClass

    for x, y in (([80.0] * 5, [80.0] * 5), ([80.0] * 5, [78.0] * 5)):
        weka = JClass("weka.experiment.PairedStatsCorrected")(0.05, 0.25)
        for a, b in zip(x, y):
            weka.add(a, b)
        weka.calculateDerived()
        ours = corrected_paired_ttest(np.array(x), np.array(y), 0.25)
        assert ours.p_value == weka.differencesProbability
        assert ours.significance == weka.differencesSignificance


@pytest.mark.parametrize("shift", [0.0, 1.5, 6.0, -6.0])
def test_table_equals_weka_tester(jvm, shift):
    rng = np.random.default_rng(int(abs(shift) * 10))
    results = _results(rng, {"J48": 0.0, "RandomForest": shift, "SMO": -shift / 2}, runs=4, folds=5, n=150)
    ours = experimenter_table(results, "pct_correct", baseline="J48")
    tester, data = _weka_tester(results, "pct_correct", 0.05)
    for other in (1, 2):
        weka = tester.calculateStatistics(data.instance(0), 0, other, 8)
        test = ours.tests[other]
        assert ours.means[0] == pytest.approx(weka.xStats.mean, abs=1e-10)
        assert ours.means[other] == pytest.approx(weka.yStats.mean, abs=1e-10)
        assert ours.stds[other] == pytest.approx(weka.yStats.stdDev, rel=1e-10)
        assert test.p_value == pytest.approx(weka.differencesProbability, rel=1e-8, abs=1e-12)
        assert test.significance == weka.differencesSignificance
    # Weka's printed marks: the same character in the same column.
    printed = str(tester.multiResultsetFull(0, 8)).splitlines()[2].split("|")[1]
    cells = re.findall(r"(\d+\.\d+) ([v* ])", printed + " ")
    assert [mark for _, mark in cells] == list(ours.marks[1:])
    assert [float(mean) for mean, _ in cells] == [round(m, 2) for m in ours.means[1:]]


def test_summary_and_text():
    results = _results(np.random.default_rng(9), {"A": 0.0, "B": 8.0}, runs=3, folds=4, n=100)
    summary = summarise_runs(results, ["pct_correct"])
    a = results.loc[results.scheme == "A", "pct_correct"]
    assert summary.loc[0, "pct_correct_mean"] == pytest.approx(a.mean())
    assert summary.loc[0, "pct_correct_std"] == pytest.approx(a.std(ddof=1))
    table = experimenter_table(results, "pct_correct", baseline="A")
    assert table.marks == ("", "v")
    assert "(0/0/1)" not in table.text() and "(1/0/0)" in table.text()
    assert table.to_dict()["schemes"][1]["mark"] == "v"
    with pytest.raises(ValueError, match="baseline"):
        experimenter_table(results, "pct_correct", baseline="C")
    assert math.isnan(corrected_paired_ttest(np.array([]), np.array([]), 0.1).p_value)


def test_undefined_values_are_left_out():
    x = np.array([80.0, np.nan, 82.0, 79.0, 81.0])
    y = np.array([85.0, 84.0, np.nan, 83.0, 86.0])
    both = corrected_paired_ttest(x, y, 0.25)
    defined = corrected_paired_ttest(np.array([80.0, 79.0, 81.0]), np.array([85.0, 83.0, 86.0]), 0.25)
    assert both == defined and both.n == 3
    results = _results(np.random.default_rng(2), {"A": 0.0, "B": 0.0}, runs=2, folds=3, n=60)
    results.loc[0, "pct_correct"] = np.nan
    summary = summarise_runs(results, ["pct_correct"])
    assert summary.loc[0, "pct_correct_n"] == 5
    assert summary.loc[0, "pct_correct_mean"] == pytest.approx(results.pct_correct[1:6].mean())

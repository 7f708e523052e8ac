"""Experimenter statistics: repeated cross-validation summaries and Weka's corrected paired t-test.

Weka's Experimenter evaluates every scheme on every fold of every run (run ``r`` randomises the
data with seed ``r``), keeps one row of metrics per (scheme, run, fold), and compares schemes with
the *corrected resampled paired t-test* of Nadeau and Bengio (2003), ``PairedCorrectedTTester``:
for the paired differences ``d`` of a metric between the baseline and another scheme over the
``n`` folds of all runs,

.. math::  t = \\bar d \\,/\\, \\sqrt{(1/n + n_{test}/n_{train})\\, s_d^2},

two-sided, with ``n - 1`` degrees of freedom. ``n_test/n_train`` is the summed test size over the
summed training size of the baseline's rows. A difference significant at ``alpha`` is marked as
Weka prints it: ``v`` where the scheme's mean is *higher* than the baseline's, ``*`` where it is
lower, a blank otherwise — by value, whatever the metric's direction (Weka does the same: for an
error rate ``v`` is worse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from wekawbc._json import json_number

__all__ = ["PairedTest", "ExperimentTable", "corrected_paired_ttest", "summarise_runs", "experimenter_table"]

WIN, TIE, LOSS = "v", " ", "*"
_KEYS = ("scheme", "repetition", "fold")


@dataclass(frozen=True)
class PairedTest:
    """The corrected resampled paired t-test of one scheme against a baseline on one metric."""

    n: int
    """Number of paired values (runs × folds)."""
    baseline_mean: float
    other_mean: float
    difference_mean: float
    """Mean of ``baseline - other``, as Weka's ``differencesStats.mean``."""
    difference_std: float
    """Sample standard deviation of the differences."""
    test_train_ratio: float
    t_statistic: float
    """NaN where the differences have no spread."""
    p_value: float
    significance: int
    """+1 baseline significantly higher, -1 lower, 0 not significant (Weka's ``differencesSignificance``)."""

    @property
    def mark(self) -> str:
        """Weka's mark for the *other* scheme: ``v`` higher than the baseline, ``*`` lower, blank tie."""
        return {-1: WIN, 0: TIE, 1: LOSS}[self.significance]


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation of the defined values (NaN is Weka's ``?``: left out)."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return math.nan, math.nan
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if values.size > 1 else math.nan
    return mean, std


def corrected_paired_ttest(baseline: np.ndarray, other: np.ndarray, test_train_ratio: float,
                           alpha: float = 0.05) -> PairedTest:
    """Weka's ``PairedStatsCorrected``: the corrected resampled t-test of paired values.

    Parameters
    ----------
    baseline, other : array of float
        The metric of the two schemes on the same (run, fold) pairs, in the same order; pairs
        holding a NaN (an undefined value) are left out.
    test_train_ratio : float
        Test-set size over training-set size (``1 / (k - 1)`` for k-fold cross-validation).
    alpha : float, default=0.05
        Significance level (Weka's default).
    """
    x = np.asarray(baseline, dtype=np.float64)
    y = np.asarray(other, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired values must be two 1-d arrays of one length, got {x.shape} and {y.shape}")
    # A pair where either value is undefined (NaN, Weka's "?") is left out.
    defined = ~(np.isnan(x) | np.isnan(y))
    x, y = x[defined], y[defined]
    differences = x - y
    n = differences.size
    mean_d, std_d = _mean_std(differences)
    t = p = math.nan
    if n > 1 and std_d > 0:
        t = mean_d / math.sqrt((1.0 / n + test_train_ratio) * std_d * std_d)
        p = float(2 * scipy_stats.t.sf(abs(t), n - 1))
    elif n > 1:
        # No spread: Weka calls identical values not different, constant non-zero differences certain.
        p = 1.0 if not np.any(differences) else 0.0
    elif n == 1:
        p = 1.0
    x_mean, y_mean = float(x.mean()) if n else math.nan, float(y.mean()) if n else math.nan
    significance = 0
    if not math.isnan(p) and p <= alpha:
        significance = 1 if x_mean > y_mean else -1
    return PairedTest(n, x_mean, y_mean, mean_d, std_d, test_train_ratio, t, p, significance)


def summarise_runs(results: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean and sample standard deviation of each metric per scheme over all (repetition, fold) rows.

    Rows where a metric is undefined (NaN, e.g. a precision with no predictions of a class) are
    left out of that metric; ``<metric>_n`` says how many rows count.

    ``results`` has one row per ``scheme, repetition, fold`` (as the Experimenter's result set);
    the answer has one row per scheme and columns ``<metric>_mean``, ``<metric>_std`` and ``n``.
    """
    rows = []
    for scheme, group in results.groupby("scheme", sort=False):
        row: dict[str, object] = {"scheme": scheme, "n": len(group)}
        for metric in metrics:
            mean, std = _mean_std(group[metric].to_numpy(dtype=np.float64))
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean, std
            row[f"{metric}_n"] = int(group[metric].notna().sum())
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ExperimentTable:
    """One metric of several schemes against a baseline, as Weka's Experimenter reports it."""

    metric: str
    baseline: str
    alpha: float
    schemes: tuple[str, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    tests: tuple[PairedTest | None, ...]
    """None for the baseline itself."""

    @property
    def marks(self) -> tuple[str, ...]:
        return tuple("" if test is None else test.mark for test in self.tests)

    def counts(self, scheme: str) -> tuple[int, int, int]:
        """Weka's ``(v/ /*)`` counts of one scheme (one data set here, so each is 0 or 1)."""
        test = self.tests[self.schemes.index(scheme)]
        if test is None:
            return (0, 0, 0)
        mark = test.mark
        return (int(mark == WIN), int(mark == TIE), int(mark == LOSS))

    def to_dict(self) -> dict:
        return {
            "metric": self.metric, "baseline": self.baseline, "alpha": self.alpha,
            "test": "corrected resampled paired t-test (Nadeau & Bengio; Weka PairedCorrectedTTester)",
            "schemes": [
                {"scheme": s, "mean": json_number(m), "std": json_number(sd), "mark": mark,
                 **({} if t is None else {"t": json_number(t.t_statistic), "p_value": json_number(t.p_value),
                                          "n": t.n, "test_train_ratio": t.test_train_ratio})}
                for s, m, sd, t, mark in zip(self.schemes, self.means, self.stds, self.tests, self.marks)
            ],
        }

    def text(self, dataset: str = "data") -> str:
        """A plain-text table in the Experimenter's layout: ``mean(std)`` and the mark per scheme."""
        width = max(12, len(dataset))
        headers = [f"({i + 1}) {s}" for i, s in enumerate(self.schemes)]
        cells = [f"{m:.2f}({sd:.2f}){'' if mark == '' else ' ' + mark}" for m, sd, mark
                 in zip(self.means, self.stds, self.marks)]
        widths = [max(len(h), len(c)) for h, c in zip(headers, cells)]

        def line(parts: list[str]) -> str:
            return f"{parts[0]:<{width}} | " + " | ".join(p.ljust(w) for p, w in zip(parts[1:], widths))

        counts = ["", *[f"({'/'.join(str(c) for c in self.counts(s))})" for s in self.schemes[1:]]]
        lines = [
            f"Tester:     weka.experiment.PairedCorrectedTTester -S {self.alpha}",
            f"Analysing:  {self.metric}",
            f"Test base:  {self.baseline}",
            "",
            line(["Dataset", *headers]),
            "-" * (width + 3 + sum(widths) + 3 * (len(widths) - 1)),
            line([dataset, *cells]),
            "-" * (width + 3 + sum(widths) + 3 * (len(widths) - 1)),
            line(["(v/ /*)", *counts]),
            "",
            "v, * : significantly higher, lower than the base at the given level",
        ]
        return "\n".join(text.rstrip() for text in lines) + "\n"


def experimenter_table(results: pd.DataFrame, metric: str, baseline: str, alpha: float = 0.05) -> ExperimentTable:
    """Compare every scheme of ``results`` with ``baseline`` on ``metric``, as Weka's tester does.

    ``results`` holds one row per ``scheme, repetition, fold`` with the metric and the columns
    ``n_train`` and ``n_test`` (training and test sizes of that fold). Rows are paired on
    ``(repetition, fold)``; the test/train ratio is the baseline's summed ``n_test`` over its
    summed ``n_train``. The baseline comes first, the others in their order of appearance.
    """
    missing = sorted({*_KEYS, metric, "n_train", "n_test"} - set(results.columns))
    if missing:
        raise ValueError(f"results lack the column(s) {missing}")
    schemes = list(dict.fromkeys(results["scheme"]))
    if baseline not in schemes:
        raise ValueError(f"baseline '{baseline}' is not among the schemes {schemes}")
    schemes.remove(baseline)
    schemes.insert(0, baseline)
    indexed = results.set_index(list(_KEYS)).sort_index()
    base = indexed.loc[baseline]
    ratio = float(base["n_test"].sum()) / float(base["n_train"].sum())
    means: list[float] = []
    stds: list[float] = []
    tests: list[PairedTest | None] = []
    for scheme in schemes:
        rows = indexed.loc[scheme]
        mean, std = _mean_std(rows[metric].to_numpy(dtype=np.float64))
        means.append(mean)
        stds.append(std)
        if scheme == baseline:
            tests.append(None)
            continue
        paired = base[[metric]].join(rows[[metric]].rename(columns={metric: "other"}), how="inner")
        tests.append(corrected_paired_ttest(paired[metric].to_numpy(), paired["other"].to_numpy(),
                                            ratio, alpha))
    return ExperimentTable(metric, baseline, alpha, tuple(schemes), tuple(means), tuple(stds), tuple(tests))

"""Cross-lab evaluation: train on some data sets, test on others; leave-one-group-out folds.

Two modes of ``wekawbc run``, through the same fold tasks and the same evaluation engine as the
in-lab grid:

* ``[cross_lab] train = [...], test = [...]``: every Weka scheme is trained once on all the
  ``train`` data sets' cells together and scored on each ``test`` data set (an external test set:
  never trained on). Test cells of a class that no training set holds cannot be predicted; they
  are left out and the report says how many (the other classes are scored as usual).
  With ``standardise = true`` each data set's features are first standardised on their own
  (:func:`robust_standardise`), the step that moved cross-lab accuracy most in ``docs/cross_lab.md``.
* ``[evaluation] groups = "COLUMN"``: leave-one-group-out cross-validation, one fold per value of
  a ``labels.csv`` column (lab, scanner, patient); a data set with a single group is refused.

:func:`cross_lab_report` puts the in-lab cross-validation and the cross-lab results side by side,
each with stratified bootstrap intervals (:meth:`wekawbc.evaluation.EvaluationResult.bootstrap`),
so neither is read without the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from wekawbc._io import WekawbcError
from wekawbc.experiment.grid import FoldPlan
from wekawbc.predictions import Predictions

__all__ = ["CrossLabResult", "SelfTraining", "class_balance_weights", "coral_align", "cross_lab_markdown", "group_plans",
           "group_values", "prior_balanced_standardise", "quantile_standardise", "robust_standardise", "self_train",
           "shared_class_rows"]


def _weighted_quantiles(column: np.ndarray, weights: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Weighted quantiles of the finite values, interpolated as numpy's linear percentiles when weights are equal."""
    known = np.isfinite(column)
    if not known.any():
        return np.full(len(quantiles), np.nan)
    order = np.argsort(column[known])
    values, w = column[known][order], weights[known][order]
    positions = (np.cumsum(w) - w) / max(float(w.sum() - w[-1]), 1e-12)
    return np.interp(quantiles, positions, values)


def robust_standardise(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Each column centred on its median and divided by its interquartile range (1 where that is 0).

    Applied to each data set on its own, this removes a lab's offset and spread of every feature
    (stain hue, blur, scale left over): unsupervised, no label is used, but the data set's class
    mix moves its median too. NaN (missing) stays NaN. With ``weights`` (one per row) the median
    and quartiles are weighted: :func:`class_balance_weights` gives those of an equal class mix.
    """
    values = np.asarray(values, dtype=np.float64)
    if weights is None:
        with np.errstate(all="ignore"):
            median = np.nanmedian(values, axis=0)
            spread = np.nanpercentile(values, 75, axis=0) - np.nanpercentile(values, 25, axis=0)
    else:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (values.shape[0],) or not (np.isfinite(weights).all() and (weights > 0).all()):
            raise ValueError(f"weights must be {values.shape[0]} positive numbers, one per row")
        q = np.array([_weighted_quantiles(values[:, j], weights, (0.25, 0.5, 0.75))
                      for j in range(values.shape[1])]).reshape(-1, 3)
        median, spread = q[:, 1], q[:, 2] - q[:, 0]
    spread = np.where(np.isfinite(spread) & (spread != 0), spread, 1.0)
    return (values - np.where(np.isfinite(median), median, 0.0)) / spread


def quantile_standardise(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Each column replaced by the normal score of its own (weighted) empirical distribution (a rank-Gaussian map).

    A value ``x`` of a column becomes ``Φ⁻¹(F(x))``, with ``F(x)`` the weight of the column's values
    below ``x`` plus half the weight of those equal to it, over the total (Hazen's mid-rank plotting
    position; with equal weights ``(rank − ½) / n``). Applied to each data set on its own it maps every
    lab's distribution of a feature onto the same standard normal one: where :func:`robust_standardise`
    matches a lab's median and interquartile range, this matches every quantile (a per-feature quantile
    mapping between labs, skew and long tails included), so a rank is what a classifier sees. With
    ``weights`` (one per row, :func:`class_balance_weights`) the distribution is that of the weighted
    mix, e.g. an equal class mix. NaN (missing) stays NaN; ties share one score.
    """
    from scipy.special import ndtri

    values = np.asarray(values, dtype=np.float64)
    weights = np.ones(values.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if weights.shape != (values.shape[0],) or not (np.isfinite(weights).all() and (weights > 0).all()):
        raise ValueError(f"weights must be {values.shape[0]} positive numbers, one per row")
    out = np.full(values.shape, np.nan)
    for j in range(values.shape[1]):
        known = np.isfinite(values[:, j])
        if not known.any():
            continue
        distinct, inverse = np.unique(values[known, j], return_inverse=True)
        mass = np.bincount(inverse, weights=weights[known], minlength=len(distinct))
        below = np.cumsum(mass) - mass
        out[known, j] = ndtri((below + mass / 2) / mass.sum())[inverse]
    return out


def class_balance_weights(codes: np.ndarray) -> np.ndarray:
    """Weights of an equal class mix: ``1 / (rows of the row's class)`` for each row.

    ``codes`` may also be class probabilities (rows × classes, e.g. after EM): each row then weighs
    ``Σ_c p_ic / Σ_j p_jc``, so the weighted rows are the equal mix of the classes' soft
    distributions (one-hot rows give the hard weights).
    """
    codes = np.asarray(codes)
    if codes.ndim == 2:
        probabilities = codes.astype(np.float64)
        totals = probabilities.sum(axis=0)
        return (probabilities[:, totals > 0] / totals[totals > 0]).sum(axis=1)
    codes = codes.astype(np.int64)
    return 1.0 / np.bincount(codes)[codes]


def prior_balanced_standardise(train_blocks: Sequence[np.ndarray], train_codes: Sequence[np.ndarray],
                               test: np.ndarray, fit_predict, rounds: int = 8,
                               standardiser: Callable[[np.ndarray, np.ndarray | None], np.ndarray] = robust_standardise,
                               ) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """Per-lab standardisation at an equal class mix on both sides; unsupervised on the test lab.

    :func:`robust_standardise` moves each lab's median, and a lab's median follows its class mix:
    a test lab of mostly neutrophils is centred on its neutrophils, a balanced training lab on a
    mix of every type, so the test lab's neutrophils land where the training lab had another type.
    Here each training lab is standardised at an equal class mix (its labels are known); the test
    lab first as is, then ``rounds`` times with each row weighted by ``1 / (rows predicted in its
    class)`` by ``fit_predict`` trained on the training labs: the classifier's own predictions,
    never the test labels (self-training of the statistics only, like AdaBN for a network).

    Parameters
    ----------
    train_blocks, train_codes :
        Each training lab's feature matrix and class codes.
    test : ndarray, shape (n, features)
        The test lab's feature matrix.
    fit_predict : callable
        ``fit_predict(X_train, y_train, X_test) -> predicted codes of X_test``, or their class
        probabilities (rows × classes, e.g. adjusted by EM): each test row is then weighted softly
        (:func:`class_balance_weights` of the probabilities).
    rounds : int
        Re-estimations of the test lab's statistics.
    standardiser : callable
        ``standardiser(values, weights) -> standardised values`` applied to each lab:
        :func:`robust_standardise` (median and interquartile range) or :func:`quantile_standardise`
        (every quantile).

    Returns
    -------
    (X_train, X_test, predicted_counts)
        The standardised stacked training matrix, the standardised test matrix, and the predicted
        class counts of each round.
    """
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    X_train = np.vstack([standardiser(block, class_balance_weights(codes))
                         for block, codes in zip(train_blocks, train_codes)])
    y_train = np.concatenate([np.asarray(c, dtype=np.int64) for c in train_codes])
    X_test = standardiser(test, None)
    counts = []
    for _ in range(rounds):
        predicted = np.asarray(fit_predict(X_train, y_train, X_test))
        codes = predicted.argmax(axis=1) if predicted.ndim == 2 else predicted.astype(np.int64)
        counts.append(np.bincount(codes).tolist())
        X_test = standardiser(test, class_balance_weights(predicted))
    return X_train, X_test, counts


def _weighted_moments(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The (weighted) mean and covariance of the rows of ``values``."""
    return np.average(values, axis=0, weights=weights), np.atleast_2d(np.cov(values, rowvar=False, aweights=weights))


def _symmetric_power(matrix: np.ndarray, power: float) -> np.ndarray:
    """``matrix ** power`` of a symmetric positive semi-definite matrix (definite for a negative power)."""
    eigenvalues, vectors = np.linalg.eigh(matrix)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    return (vectors * eigenvalues ** power) @ vectors.T


def coral_align(source: np.ndarray, target: np.ndarray, source_weights: np.ndarray | None = None,
                target_weights: np.ndarray | None = None, ridge: float = 1.0) -> np.ndarray:
    """The source rows re-coloured to the target's second-order statistics (CORAL; Sun, Feng & Saenko 2016).

    Correlation alignment, label-free on the target: the source rows are centred on their mean, whitened
    by their covariance ``C_s + ridge I`` and re-coloured by the target's ``C_t + ridge I``
    (``X_s (C_s + λI)^(-1/2) (C_t + λI)^(1/2)``), then moved to the target's mean. A classifier trained on
    the result is applied to the target rows as they are. With ``ridge = 0`` the covariance of the aligned
    rows equals the target's exactly; the paper's ``ridge = 1`` (on standardised features) regularises both.

    The weights (one per row) make the means and covariances those of a chosen class mix:
    :func:`class_balance_weights` of the source labels and of the target's *predicted* classes give an
    equal mix on both sides, as :func:`prior_balanced_standardise` does for the medians, so a target lab
    of mostly one type is not read as that type's covariance. Missing values are refused: impute first
    (after :func:`robust_standardise`, 0 is the median).

    Parameters
    ----------
    source, target : ndarray, shape (n_s, features), (n_t, features)
        Feature matrices of the training lab(s) and of the test lab, finite.
    source_weights, target_weights : ndarray, optional
        Positive weights, one per row (default: equal).
    ridge : float
        Added to the diagonal of both covariances (≥ 0).

    Returns
    -------
    ndarray, shape (n_s, features)
        The aligned source rows.
    """
    source, target = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target must be 2-D with the same columns, got {source.shape} and {target.shape}")
    if not (np.isfinite(source).all() and np.isfinite(target).all()):
        raise ValueError("coral_align needs finite values: impute missing ones first")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    for name, rows, weights in (("source", source, source_weights), ("target", target, target_weights)):
        if weights is not None and (np.shape(weights) != (len(rows),) or not (np.asarray(weights) > 0).all()):
            raise ValueError(f"{name}_weights must be {len(rows)} positive numbers, one per row")
    eye = ridge * np.eye(source.shape[1])
    mean_s, cov_s = _weighted_moments(source, source_weights)
    if ridge == 0:
        eigenvalues = np.linalg.eigvalsh(cov_s)
        if eigenvalues.min() <= 1e-12 * max(eigenvalues.max(), 1.0):
            raise ValueError("the source covariance is singular: give coral_align a ridge > 0")
    mean_t, cov_t = _weighted_moments(target, target_weights)
    transform = _symmetric_power(cov_s + eye, -0.5) @ _symmetric_power(cov_t + eye, 0.5)
    return (source - mean_s) @ transform + mean_t


@dataclass
class SelfTraining:
    """What :func:`self_train` ends with, and what it chose on the way."""

    probabilities: np.ndarray
    """Class probabilities of every test row from the last refit (shape: test rows × classes)."""
    pseudo_rows: list[np.ndarray]
    """The test rows pseudo-labelled in each round (labelled with the class of ``history[round - 1]``)."""
    pseudo_counts: list[list[int]]
    """Pseudo-labelled test rows per class in each round."""
    predicted_counts: list[list[int]]
    """Test rows predicted in each class: trained on the training labs alone, then after each refit."""
    history: list[np.ndarray]
    """The probabilities of every fit (the first: the training labs alone); ``history[r]`` is what
    ``rounds = r`` ends with."""


def self_train(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, fit_predict_proba,
               rounds: int = 2, fraction: float = 0.1, balance: str = "equal") -> SelfTraining:
    """Class-balanced self-training on an unlabelled test lab (pseudo-labelling; Zou et al. 2018, CBST).

    A transductive, label-free adaptation: ``fit_predict_proba`` trained on the training labs predicts
    the test lab; in round ``r`` (1 … ``rounds``) the test rows it is most confident about *within each
    predicted class* join the training rows with their predicted class, replacing the previous round's,
    and it is refitted. Each class is ranked on its own, so a dominant class's confidences do not crowd
    the others out. How many per class: ``balance="equal"``: ``ceil(r * fraction * n_test / n_classes)``
    (every row of a class predicted for fewer), which keeps the added rows near the training lab's equal
    mix rather than copying the test lab's skew; ``"proportional"``: ``ceil(r * fraction)`` of the rows
    predicted in the class (CBST's per-class share), which copies the predicted mix. The growing share
    follows CBST's schedule. Only the classifier's own probabilities are read, never the test labels.
    Prior adjustment (EM) goes inside ``fit_predict_proba`` when wanted.

    Parameters
    ----------
    X_train, y_train :
        Training matrix and class codes (``0 … n_classes - 1``).
    X_test : ndarray, shape (n, features)
        The unlabelled test lab.
    fit_predict_proba : callable
        ``fit_predict_proba(X_train, y_train, X_test) -> probabilities, shape (n, n_classes)``.
    rounds : int
        Refits with pseudo-labelled rows (0: the plain prediction).
    fraction : float
        Share added per class in round 1 (``r`` times it in round ``r``, at most all): of
        ``n_test / n_classes`` (``balance="equal"``) or of the rows predicted in the class (``"proportional"``).
    balance : {"equal", "proportional"}
    """
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if balance not in ("equal", "proportional"):
        raise ValueError(f"balance must be 'equal' or 'proportional', got {balance!r}")
    X_train, X_test = np.asarray(X_train, dtype=np.float64), np.asarray(X_test, dtype=np.float64)
    y_train = np.asarray(y_train, dtype=np.int64)
    probabilities = np.asarray(fit_predict_proba(X_train, y_train, X_test), dtype=np.float64)
    history = [probabilities]
    n_classes = probabilities.shape[1]
    pseudo_rows, pseudo_counts, predicted_counts = [], [], []
    for r in range(1, rounds + 1):
        predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
        predicted_counts.append(np.bincount(predicted, minlength=n_classes).tolist())
        share = min(1.0, r * fraction)
        by_class = [np.flatnonzero(predicted == c) for c in range(n_classes)]
        chosen = np.concatenate([rows[np.argsort(-confidence[rows], kind="stable")[:int(np.ceil(
            share * (len(X_test) / n_classes if balance == "equal" else len(rows))))]] for rows in by_class])
        pseudo_rows.append(chosen)
        pseudo_counts.append(np.bincount(predicted[chosen], minlength=n_classes).tolist())
        probabilities = np.asarray(fit_predict_proba(np.vstack([X_train, X_test[chosen]]),
                                                     np.concatenate([y_train, predicted[chosen]]), X_test),
                                   dtype=np.float64)
        history.append(probabilities)
    predicted_counts.append(np.bincount(probabilities.argmax(axis=1), minlength=n_classes).tolist())
    return SelfTraining(probabilities, pseudo_rows, pseudo_counts, predicted_counts, history)


def group_values(records: Sequence, column: str, source: str) -> np.ndarray:
    """The ``column`` value of each record (from ``labels.csv``); a clear error when absent or single-valued."""
    missing = [str(r.image) for r in records if not r.extra.get(column)]
    if missing:
        raise WekawbcError(f"{source}: [evaluation] groups = {column!r}, but {len(missing)} image(s) have no "
                           f"'{column}' value in labels.csv (first: {missing[0]})")
    values = np.array([r.extra[column] for r in records], dtype=object)
    if len(set(values.tolist())) < 2:
        raise WekawbcError(f"{source}: leave-one-group-out needs at least 2 groups in column '{column}'; "
                           f"every image has {values[0]!r}")
    return values


def group_plans(groups: np.ndarray, seed: int, repetition: int = 1) -> list[FoldPlan]:
    """One fold per group (in order of first appearance): train on the other groups, test on it."""
    plans = []
    for fold, value in enumerate(dict.fromkeys(groups.tolist())):
        test = np.flatnonzero(groups == value)
        train = np.flatnonzero(groups != value)
        plans.append(FoldPlan(repetition, seed, fold, train, test))
    return plans


def shared_class_rows(train_codes: np.ndarray, test_codes: np.ndarray, labels: Sequence[str]
                      ) -> tuple[np.ndarray, str]:
    """Indices of the test rows whose class the training data holds, and a note on those left out."""
    known = np.isin(test_codes, np.unique(train_codes))
    if known.all():
        return np.arange(len(test_codes)), ""
    if not known.any():
        raise WekawbcError("the test set shares no class with the training sets: nothing to score")
    dropped = {labels[c]: int((test_codes == c).sum()) for c in np.unique(test_codes[~known])}
    text = ", ".join(f"{count} {name}" for name, count in dropped.items())
    return np.flatnonzero(known), (f"scored on the classes shared with the training sets: {text} test cell(s) "
                                   "of classes absent from training left out")


@dataclass
class CrossLabResult:
    """One scheme trained on ``train`` and scored on ``test`` (or in-lab CV when ``test`` is None)."""

    scheme: str
    train: tuple[str, ...]
    test: str | None
    predictions: Predictions
    bootstrap: dict[str, Any]
    note: str = ""
    n_train: int = 0
    task: str = "five"
    prior_adjustment: dict[str, Any] | None = None
    """With ``adapt_priors``: the estimated class priors and EM iterations (:meth:`PriorAdjustment.to_dict`)."""

    @property
    def column(self) -> str:
        where = "+".join(self.train)
        return f"{where} → {self.test}" if self.test else f"{where} in-lab CV"

    def to_dict(self) -> dict[str, Any]:
        metrics = self.bootstrap["metrics"]
        return {"task": self.task, "scheme": self.scheme, "train": list(self.train), "test": self.test or "in-lab cross-validation",
                "n_train": self.n_train, "n_test": int(self.predictions.n_instances), "note": self.note,
                **({"prior_adjustment": self.prior_adjustment} if self.prior_adjustment else {}),
                **{name: {k: metrics[name][k] for k in ("estimate", "low", "high")}
                   for name in ("accuracy", "macro_f1", "kappa")}}


def _cell(result: CrossLabResult | None) -> str:
    if result is None:
        return "–"
    metrics = result.bootstrap["metrics"]
    acc, f1 = metrics["accuracy"], metrics["macro_f1"]
    return (f"{100 * acc['estimate']:.1f} % [{100 * acc['low']:.1f}, {100 * acc['high']:.1f}]; "
            f"F1 {f1['estimate']:.3f} [{f1['low']:.3f}, {f1['high']:.3f}]")


def cross_lab_markdown(results: list[CrossLabResult], n_resamples: int, confidence: float = 0.95) -> str:
    """In-lab CV and cross-lab columns side by side, one row per scheme; notes below."""
    columns = list(dict.fromkeys(r.column for r in sorted(results, key=lambda r: r.test is not None)))
    schemes = list(dict.fromkeys(r.scheme for r in results))
    by_key = {(r.scheme, r.column): r for r in results}
    lines = [f"## Cross-lab evaluation\n\nAccuracy and macro-F1 with {100 * confidence:.0f} % stratified bootstrap "
             f"intervals ({n_resamples} resamples). In-lab: cross-validation inside the training data; "
             "cross-lab: trained on all of it, tested on a data set never trained on.\n",
             "| scheme | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for scheme in schemes:
        lines.append(f"| {scheme} | " + " | ".join(_cell(by_key.get((scheme, c))) for c in columns) + " |")
    notes = sorted({f"{r.column}: {r.note}" for r in results if r.note})
    if notes:
        lines += [""] + [f"* {note}" for note in notes]
    return "\n".join(lines) + "\n"

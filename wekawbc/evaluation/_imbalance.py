"""Metrics for imbalanced data beyond Weka's, and stratified bootstrap confidence intervals.

Library implementations are used where they exist (scikit-learn, imbalanced-learn). Two values come
from the engine instead, because the library gets them wrong with instance weights: per-class
specificity (imbalanced-learn derives true negatives from the unweighted row count, issue #1180) and
what derives from it (per-class G-mean and IBA). They equal imbalanced-learn's for unit weights,
which the tests check.

Instances scored: those with a known class; label-based metrics use Weka's predicted class and leave
out unclassified instances (all-zero distributions), as Weka's confusion matrix does.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from wekawbc.predictions import Predictions, predicted_classes

if TYPE_CHECKING:
    from wekawbc.evaluation._result import EvaluationResult

__all__ = ["imbalance_metrics", "bootstrap", "IBA_ALPHA"]

IBA_ALPHA = 0.1
"""Dominance weight of the index of balanced accuracy (imbalanced-learn's default)."""

_BATCH_CELLS = 4_000_000  # drawn indices per bootstrap batch: bounds the memory of the resamples


def _predicted(distribution: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weka's predicted class and whether the instance is classified (see :func:`predicted_classes`)."""
    predicted = predicted_classes(distribution)
    return predicted, predicted >= 0


def imbalance_metrics(result: EvaluationResult) -> dict[str, Any]:
    """Metrics that stay honest on imbalanced classes, from one evaluation (``evaluate(predictions)``).

    Returns
    -------
    dict
        ``specificity``, ``g_mean``, ``iba`` (per class, dicts keyed by label), ``balanced_accuracy``,
        ``macro_f1`` and ``micro_f1`` (scikit-learn, over the classes present in actual or predicted
        labels), ``g_mean_multiclass`` (geometric mean of the recalls, imbalanced-learn),
        ``iba_weighted`` (support-weighted IBA, as imbalanced-learn's report), ``mcc_multiclass``
        (scikit-learn's R_K, not Weka's per-class average), ``kappa``, ``roc_auc_ovr_macro`` (mean of
        scikit-learn's one-vs-rest AUCs over classes with both positives and negatives),
        ``brier_multiclass`` (sum over classes, scikit-learn) and ``mse`` (Weka's RMSE², what papers
        call "MSE"; equals ``brier_multiclass / K`` on classified instances).
    """
    from imblearn.metrics import geometric_mean_score
    from sklearn.metrics import (balanced_accuracy_score, brier_score_loss, cohen_kappa_score, f1_score,
                                 matthews_corrcoef, roc_auc_score)

    weka, predictions = result, result.predictions
    labels = predictions.labels
    k = len(labels)
    known = predictions.actual >= 0
    predicted, classified = _predicted(predictions.distribution)
    scored = known & classified
    y, y_pred, w = predictions.actual[scored], predicted[scored], predictions.weight[scored]
    # A probability may exceed 1 by float rounding (the command line refuses more); scikit-learn's
    # Brier score refuses any excess, so it sees the value capped at 1.
    proba = np.minimum(predictions.distribution[scored], 1.0)

    specificity = np.asarray(weka.tn_rate, dtype=float)
    recall = np.asarray(weka.recall, dtype=float)
    with np.errstate(invalid="ignore"):
        g_mean = np.sqrt(recall * specificity)
        iba = (1 + IBA_ALPHA * (recall - specificity)) * g_mean**2
    support = np.asarray([w[y == j].sum() for j in range(k)])
    out: dict[str, Any] = {
        "specificity": dict(zip(labels, specificity.tolist())),
        "g_mean": dict(zip(labels, g_mean.tolist())),
        "iba": dict(zip(labels, iba.tolist())),
        "iba_alpha": IBA_ALPHA,
        "support": dict(zip(labels, support.tolist())),
        "iba_weighted": float(np.nansum(iba * support) / support.sum()) if support.sum() > 0 else math.nan,
        "mse": weka.root_mean_squared_error ** 2,
        "weka_unweighted_macro_f_measure": weka.unweighted_macro_f_measure,
    }
    if y.shape[0] == 0 or not w.sum() > 0:  # nothing scored, or only zero weights: undefined
        for name in ("balanced_accuracy", "macro_f1", "micro_f1", "g_mean_multiclass", "mcc_multiclass",
                     "kappa", "roc_auc_ovr_macro", "brier_multiclass"):
            out[name] = math.nan
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined per-class values are reported, not warned about
        out["balanced_accuracy"] = float(balanced_accuracy_score(y, y_pred, sample_weight=w))
        out["macro_f1"] = float(f1_score(y, y_pred, average="macro", sample_weight=w, zero_division=0))
        out["micro_f1"] = float(f1_score(y, y_pred, average="micro", sample_weight=w, zero_division=0))
        out["g_mean_multiclass"] = float(geometric_mean_score(y, y_pred, average="multiclass", sample_weight=w))
        out["mcc_multiclass"] = float(matthews_corrcoef(y, y_pred, sample_weight=w))
        out["kappa"] = float(cohen_kappa_score(y, y_pred, sample_weight=w))
        aucs = [roc_auc_score(y == j, proba[:, j], sample_weight=w)
                for j in range(k) if w[y == j].sum() > 0 and w[y != j].sum() > 0]
        out["roc_auc_ovr_macro"] = float(np.mean(aucs)) if aucs else math.nan
        # Weka's distributions carry rounding (-5.6e-19 seen from a scheme in the pbc grid), which
        # scikit-learn refuses; clipping moves the score by far less than its printed precision.
        out["brier_multiclass"] = float(brier_score_loss(y, np.clip(proba, 0.0, 1.0), sample_weight=w,
                                                         labels=list(range(k)), scale_by_half=False))
    return out


def _kappa(matrices: np.ndarray) -> np.ndarray:
    total = matrices.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.trace(matrices, axis1=1, axis2=2) / total
        chance = (matrices.sum(axis=2) * matrices.sum(axis=1)).sum(axis=1) / total**2
        return np.where(chance < 1, (observed - chance) / (1 - chance), 1.0)


def _macro_f1(matrices: np.ndarray) -> np.ndarray:
    # scikit-learn's macro F1 (zero_division=0) over the classes present in actual or predicted labels.
    tp = np.diagonal(matrices, axis1=1, axis2=2)
    actual = matrices.sum(axis=2)
    predicted = matrices.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(actual + predicted > 0, 2 * tp / (actual + predicted), 0.0)
    present = (actual + predicted) > 0
    return (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def bootstrap(predictions: Predictions, n_resamples: int = 1000, seed: int = 1,
              confidence: float = 0.95) -> dict[str, Any]:
    """Percentile bootstrap intervals, resampling instances within each class (stratified), seeded.

    Each resample draws, for every class, as many instances as it has, with replacement (weights
    travel with their instances); accuracy counts unclassified instances as errors (Weka's
    percentage), Kappa is Weka's (on the classified instances) and macro-F1 scikit-learn's.

    Returns
    -------
    dict
        ``{"n_resamples", "seed", "confidence", "method", "metrics": {"accuracy", "kappa",
        "macro_f1", "recall": {label: ...}}}``; each metric holds ``estimate`` (on the data),
        ``low``, ``high`` and ``std`` over the resamples.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    k = predictions.n_classes
    known = np.flatnonzero(predictions.actual >= 0)
    actual = predictions.actual[known]
    predicted, classified = _predicted(predictions.distribution[known])
    weight = predictions.weight[known]
    if known.size == 0:
        raise ValueError("no instance has a known class, so there is nothing to resample")
    rng = np.random.default_rng(seed)
    draws = [np.flatnonzero(actual == j) for j in range(k)]
    original = np.concatenate([members for members in draws if members.size])[None, :]

    def statistics(index: np.ndarray) -> dict[str, np.ndarray]:
        rows = np.repeat(np.arange(index.shape[0]), index.shape[1])
        flat = index.ravel()
        a, p, w, c = actual[flat], predicted[flat], weight[flat], classified[flat]
        cells = np.bincount(rows[c] * k * k + a[c] * k + p[c], weights=w[c], minlength=index.shape[0] * k * k)
        matrices = cells.reshape(index.shape[0], k, k)
        total = np.bincount(rows, weights=w, minlength=index.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            recall = np.diagonal(matrices, axis1=1, axis2=2) / matrices.sum(axis=2)
            accuracy = np.trace(matrices, axis1=1, axis2=2) / total
        return {"accuracy": accuracy, "kappa": _kappa(matrices), "macro_f1": _macro_f1(matrices), "recall": recall}

    estimate = statistics(original)
    # Resamples in batches of about _BATCH_CELLS drawn indices, so memory stays bounded.
    batch = max(1, _BATCH_CELLS // max(original.shape[1], 1))
    parts = []
    for first in range(0, n_resamples, batch):
        size = min(batch, n_resamples - first)
        samples = np.concatenate([members[rng.integers(0, members.size, (size, members.size))]
                                  for members in draws if members.size], axis=1)
        parts.append(statistics(samples))
    resampled = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    tail = (1 - confidence) / 2 * 100

    def interval(point: float, values: np.ndarray) -> dict[str, float | None]:
        values = values[~np.isnan(values)]
        if values.size == 0:
            return {"estimate": point, "low": math.nan, "high": math.nan, "std": math.nan}
        low, high = np.percentile(values, [tail, 100 - tail])
        return {"estimate": point, "low": float(low), "high": float(high), "std": float(values.std())}

    metrics: dict[str, Any] = {name: interval(float(estimate[name][0]), resampled[name])
                               for name in ("accuracy", "kappa", "macro_f1")}
    metrics["recall"] = {label: interval(float(estimate["recall"][0, j]), resampled["recall"][:, j])
                         for j, label in enumerate(predictions.labels)}
    return {"n_resamples": n_resamples, "seed": seed, "confidence": confidence,
            "method": "percentile, stratified by class", "metrics": metrics}


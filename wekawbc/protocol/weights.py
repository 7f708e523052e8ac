"""Class weights every classifier shares: Weka's ClassBalancer formula and inverse-frequency costs."""

from __future__ import annotations

import numpy as np

__all__ = ["balanced_class_weights", "balanced_sample_weights", "class_totals", "inverse_frequency_costs"]


def class_totals(codes: np.ndarray, n_classes: int, sample_weight: np.ndarray | None) -> np.ndarray:
    """Each class's total instance weight (default weight 1), classes 0..n_classes-1."""
    codes = np.asarray(codes, dtype=np.int64)
    weights = np.ones(codes.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    return np.bincount(codes, weights=weights, minlength=n_classes).astype(np.float64)


def balanced_class_weights(codes, n_classes: int, sample_weight=None) -> np.ndarray:
    """Per-class factors that give every class the same total weight, ``W / (K * W_c)``.

    Parameters
    ----------
    codes : array-like of int, shape (n_samples,)
        Class index of each instance, 0..n_classes-1.
    n_classes : int
        K, the number of classes (Weka counts every value of the class attribute, present or not).
    sample_weight : array-like of shape (n_samples,), optional
        Existing instance weights (default 1); ``W_c`` is class c's weight total, ``W`` the sum.

    Returns
    -------
    ndarray of shape (n_classes,)
        The factor for each class; 0 for a class without instances. For unit weights this is
        scikit-learn's ``compute_class_weight("balanced")``, ``n / (K * n_c)``.
    """
    totals = class_totals(codes, n_classes, sample_weight)
    factor = float(sum(totals.tolist())) / n_classes
    with np.errstate(divide="ignore"):
        return np.where(totals > 0, factor / totals, 0.0)


def balanced_sample_weights(codes, n_classes: int, sample_weight=None) -> np.ndarray:
    """Instance weights after balancing, computed in the order Weka's ``ClassBalancer`` uses.

    Each weight becomes ``(W / K) * w / W_c`` (same operations, same rounding as Weka), so a model
    trained on these weights equals one trained behind ``ClassBalancer``.
    """
    codes = np.asarray(codes, dtype=np.int64)
    weights = np.ones(codes.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    totals = class_totals(codes, n_classes, weights)
    factor = float(sum(totals.tolist())) / n_classes
    # A class whose weights sum to 0 keeps its zero weights (Weka would divide 0 by 0).
    return np.divide(factor * weights, totals[codes], out=np.zeros_like(weights), where=totals[codes] > 0)


def inverse_frequency_costs(class_totals) -> np.ndarray:
    """A misclassification cost matrix from class frequencies (rows: actual class, columns: predicted).

    Misclassifying an instance of class ``i`` costs ``W_max / W_i`` (so the largest class costs 1
    and a class ten times rarer costs 10), whatever it is predicted as; correct predictions cost 0.
    With Weka's ``CostSensitiveClassifier`` in its default reweighting mode, instance weights scale
    with each row's total cost, so every class ends up with the same total weight while the model
    still outputs probabilities (the ``-M`` expected-cost mode would output 0/1 distributions,
    which leave ROC and PRC areas meaningless). A class without instances costs 1.
    """
    totals = np.asarray(class_totals, dtype=np.float64)
    with np.errstate(divide="ignore"):
        per_class = np.where(totals > 0, totals.max() / totals, 1.0)
    costs = np.repeat(per_class[:, None], totals.shape[0], axis=1)
    np.fill_diagonal(costs, 0.0)
    return costs

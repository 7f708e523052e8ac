"""Weka's ``ThresholdCurve`` for one class: the curve points and the ROC and PRC areas.

Weka sorts the pooled predictions by the class's score, makes one point per distinct score (the
counts for "predict positive when score >= threshold"), and appends an artificial all-negative point
unless the last real point already is one. Its running counts are updated by repeated addition and
subtraction; ``np.subtract.accumulate``/``np.cumsum`` repeat exactly that order, so integer and
dyadic weights give Weka's bits, and any weights agree to ~1e-15.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ThresholdCurve", "threshold_curve", "curve_areas", "roc_area", "prc_area"]


@dataclass(frozen=True)
class ThresholdCurve:
    """The points of Weka's ``ThresholdCurve.getCurve(predictions, class)``, lowest threshold first.

    Attributes
    ----------
    threshold, true_positives, false_positives, false_negatives, true_negatives : ndarray, shape (n_points,)
        The threshold of each point and the weighted counts when instances scoring at least the
        threshold are predicted positive.
    """

    threshold: np.ndarray
    true_positives: np.ndarray
    false_positives: np.ndarray
    false_negatives: np.ndarray
    true_negatives: np.ndarray

    @property
    def tp_rate(self) -> np.ndarray:
        """True positive rate (recall) of each point."""
        return _rate(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def fp_rate(self) -> np.ndarray:
        """False positive rate of each point."""
        return _rate(self.false_positives, self.false_positives + self.true_negatives)

    @property
    def precision(self) -> np.ndarray:
        """Precision of each point (NaN where nothing is predicted positive)."""
        return _rate(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> np.ndarray:
        """Recall of each point (the same as ``tp_rate``)."""
        return self.tp_rate

    def to_dict(self) -> dict[str, list]:
        """Columns as lists (NaN as None), ready for JSON."""
        columns = {"threshold": self.threshold, "true_positives": self.true_positives,
                   "false_positives": self.false_positives, "false_negatives": self.false_negatives,
                   "true_negatives": self.true_negatives, "tp_rate": self.tp_rate, "fp_rate": self.fp_rate,
                   "precision": self.precision, "recall": self.recall}
        return {name: [None if np.isnan(v) else float(v) for v in values] for name, values in columns.items()}


def _counts(scores: np.ndarray, positive: np.ndarray, usable_weight: np.ndarray,
            with_thresholds: bool) -> tuple[np.ndarray, ...]:
    """TP, FP, FN, TN (and thresholds) at Weka's curve points, in one preallocated pass.

    Weka's loop records a point at the start of each group of equal scores, from the state before
    the group, and then subtracts the group's weight: TP is ``totPos - g0 - g1 - ...`` evaluated
    left to right, which ``np.subtract.accumulate`` reproduces bit for bit. ``usable_weight`` is
    0 for the predictions Weka skips in the counts (negative weights).
    """
    n = scores.shape[0]
    # Totals in prediction order, as Weka sums them (bincount adds one element after the other).
    total_neg, total_pos = (0.0 + float(v) for v in np.bincount(positive.view(np.int8) if positive.dtype == bool
                                                                 else positive.astype(np.int8),
                                                                 weights=usable_weight, minlength=2))
    order = np.argsort(scores)  # Weka's Utils.sort is a quicksort: not stable either
    sorted_scores = scores[order]
    sorted_weight = usable_weight[order]
    pos_sorted = np.where(positive[order], sorted_weight, 0.0)
    neg_sorted = sorted_weight - pos_sorted  # exact: w - w = 0, w - 0 = w
    starts_group = np.empty(n, dtype=bool)
    starts_group[0] = True
    np.greater(sorted_scores[1:], sorted_scores[:-1], out=starts_group[1:])
    if starts_group.all():  # all scores distinct: every prediction is its own group
        group_pos, group_neg = pos_sorted[:-1], neg_sorted[:-1]
        starts = None
    else:
        starts = np.flatnonzero(starts_group)
        group_pos = np.add.reduceat(pos_sorted, starts)[:-1]
        group_neg = np.add.reduceat(neg_sorted, starts)[:-1]
    groups = group_pos.shape[0] + 1
    tp, fp, fn, tn = (np.empty(groups + 1) for _ in range(4))
    tp[0], fp[0], fn[0], tn[0] = total_pos, total_neg, 0.0, 0.0
    tp[1:groups], fn[1:groups] = group_pos, group_pos
    fp[1:groups], tn[1:groups] = group_neg, group_neg
    np.subtract.accumulate(tp[:groups], out=tp[:groups])
    np.subtract.accumulate(fp[:groups], out=fp[:groups])
    np.cumsum(fn[:groups], out=fn[:groups])
    np.cumsum(tn[:groups], out=tn[:groups])
    points = groups
    if fn[groups - 1] != total_pos or tn[groups - 1] != total_neg:  # Weka adds the all-negative point
        tp[groups], fp[groups], fn[groups], tn[groups] = 0.0, 0.0, total_pos, total_neg
        points += 1
    if not with_thresholds:
        return tp[:points], fp[:points], fn[:points], tn[:points]
    threshold = np.empty(points)
    threshold[:groups] = sorted_scores if starts is None else sorted_scores[starts]
    if points > groups:
        threshold[groups] = sorted_scores[-1] + 10e-6
    return tp[:points], fp[:points], fn[:points], tn[:points], threshold


def threshold_curve(scores: np.ndarray, positive: np.ndarray, weight: np.ndarray, usable: np.ndarray) -> ThresholdCurve:
    """Weka's threshold curve for one class.

    Parameters
    ----------
    scores : ndarray, shape (n,)
        The class's predicted probability for every stored prediction, in Weka's order.
    positive : ndarray of bool, shape (n,)
        Whether the actual class is this class.
    weight : ndarray, shape (n,)
        Instance weights.
    usable : ndarray of bool, shape (n,)
        False for predictions Weka skips in the counts (negative weight); they still make thresholds.
    """
    tp, fp, fn, tn, threshold = _counts(scores, positive, np.where(usable, weight, 0.0), with_thresholds=True)
    return ThresholdCurve(threshold, tp, fp, fn, tn)


def _rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def curve_areas(scores: np.ndarray, positive: np.ndarray, usable_weight: np.ndarray) -> tuple[float, float]:
    """``(ROC area, PRC area)`` of one class, as ``getROCArea``/``getPRCArea`` on Weka's curve.

    ``usable_weight``: instance weights, 0 where Weka skips the prediction (negative weight).
    """
    if scores.shape[0] == 0:
        return float("nan"), float("nan")
    tp, fp, fn, _ = _counts(scores, positive, usable_weight, with_thresholds=False)
    return _roc_area(tp, fp), _prc_area(_rate(tp, tp + fp), _rate(tp, tp + fn))


def _roc_area(tp: np.ndarray, fp: np.ndarray) -> float:
    # Mann-Whitney U with ties counted half: area += cip * (cumNeg + 0.5 * cin), in Weka's order.
    cip = np.empty_like(tp)
    cin = np.empty_like(fp)
    np.subtract(tp[:-1], tp[1:], out=cip[:-1])
    np.subtract(fp[:-1], fp[1:], out=cin[:-1])
    cip[-1], cin[-1] = tp[-1], fp[-1]
    cum_neg = np.empty_like(cin)
    cum_neg[0] = 0.0
    np.cumsum(cin[:-1], out=cum_neg[1:])
    cum_neg += 0.5 * cin
    cum_neg *= cip
    area = float(np.cumsum(cum_neg)[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(area) / (np.float64(fp[0]) * np.float64(tp[0])))


def _prc_area(precision: np.ndarray, recall: np.ndarray) -> float:
    # Step-wise sum from the highest threshold down; Weka returns NaN for an area of exactly 0.
    if precision.shape[0] < 2:
        return float("nan")
    terms = precision[:-1] * (recall[:-1] - recall[1:])
    area = float(np.cumsum(terms[::-1])[-1])
    return float("nan") if area == 0 else area


def roc_area(curve: ThresholdCurve) -> float:
    """``ThresholdCurve.getROCArea``: Mann-Whitney U with ties counted half (NaN without both classes)."""
    return _roc_area(curve.true_positives, curve.false_positives)


def prc_area(curve: ThresholdCurve) -> float:
    """``ThresholdCurve.getPRCArea``: step-wise precision × recall gain, highest threshold first; NaN if 0."""
    return _prc_area(curve.precision, curve.recall)

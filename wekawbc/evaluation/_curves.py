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

__all__ = ["ThresholdCurve", "threshold_curve", "roc_area", "prc_area"]


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

    @staticmethod
    def _rate(numerator: np.ndarray, other: np.ndarray) -> np.ndarray:
        # TwoClassStats: NaN when the denominator is 0.
        denominator = numerator + other
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(denominator == 0, np.nan, numerator / denominator)

    @property
    def tp_rate(self) -> np.ndarray:
        """True positive rate (recall) of each point."""
        return self._rate(self.true_positives, self.false_negatives)

    @property
    def fp_rate(self) -> np.ndarray:
        """False positive rate of each point."""
        return self._rate(self.false_positives, self.true_negatives)

    @property
    def precision(self) -> np.ndarray:
        """Precision of each point (NaN where nothing is predicted positive)."""
        return self._rate(self.true_positives, self.false_positives)

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
    n = scores.shape[0]
    pos_weight = np.where(usable & positive, weight, 0.0)
    neg_weight = np.where(usable & ~positive, weight, 0.0)
    total_pos = float(np.cumsum(pos_weight)[-1]) if n else 0.0
    total_neg = float(np.cumsum(neg_weight)[-1]) if n else 0.0
    order = np.argsort(scores)
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_scores[1:] > sorted_scores[:-1])))
    group_pos = np.add.reduceat(pos_weight[order], starts)[:-1]
    group_neg = np.add.reduceat(neg_weight[order], starts)[:-1]
    tp = np.subtract.accumulate(np.concatenate(([total_pos], group_pos)))
    fp = np.subtract.accumulate(np.concatenate(([total_neg], group_neg)))
    fn = np.cumsum(np.concatenate(([0.0], group_pos)))
    tn = np.cumsum(np.concatenate(([0.0], group_neg)))
    threshold = sorted_scores[starts]
    if fn[-1] != total_pos or tn[-1] != total_neg:
        tp, fp = np.append(tp, 0.0), np.append(fp, 0.0)
        fn, tn = np.append(fn, total_pos), np.append(tn, total_neg)
        threshold = np.append(threshold, sorted_scores[-1] + 10e-6)
    return ThresholdCurve(threshold, tp, fp, fn, tn)


def roc_area(curve: ThresholdCurve) -> float:
    """``ThresholdCurve.getROCArea``: Mann-Whitney U with ties counted half (NaN without both classes)."""
    tp, fp = curve.true_positives, curve.false_positives
    cip = np.append(tp[:-1] - tp[1:], tp[-1])
    cin = np.append(fp[:-1] - fp[1:], fp[-1])
    cum_neg = np.concatenate(([0.0], np.cumsum(cin[:-1])))
    area = float(np.cumsum(cip * (cum_neg + 0.5 * cin))[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(area) / (np.float64(fp[0]) * np.float64(tp[0])))


def prc_area(curve: ThresholdCurve) -> float:
    """``ThresholdCurve.getPRCArea``: step-wise precision × recall gain, highest threshold first; NaN if 0."""
    precision, recall = curve.precision, curve.recall
    if precision.shape[0] < 2:
        return float("nan")
    terms = precision[:-1] * (recall[:-1] - recall[1:])
    area = float(np.cumsum(terms[::-1])[-1])
    return float("nan") if area == 0 else area

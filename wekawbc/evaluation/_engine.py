"""The evaluation engine: Weka's ``Evaluation`` bookkeeping and statistics from predictions, in numpy.

Weka accumulates every sum one prediction at a time, folds in order; the engine keeps that order
(a stable sort by fold) and sums with order-preserving numpy reductions (``np.bincount``,
``np.cumsum``), and computes the per-class statistics from the confusion matrix with Weka's own loop
order, so that the printed digits agree with Weka's even on rounding ties.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from wekawbc._cores import usable_cores
from wekawbc.evaluation._curves import curve_areas
from wekawbc.predictions import Predictions, predicted_classes

__all__ = ["compute_statistics", "training_counts", "PER_CLASS", "COVERAGE_LEVEL"]

# Double.MIN_VALUE: Weka's floor for probabilities in the log-loss and K&B scores.
_MIN_SF_PROB = 5e-324
_LOG2 = math.log(2)
_PARALLEL_MIN = 100_000  # predictions from which the per-class curves run in threads

COVERAGE_LEVEL = 0.95  # Weka's default confidence level of the coverage statistics
PER_CLASS = ("tp_rate", "fp_rate", "precision", "recall", "f_measure", "mcc", "roc_area", "prc_area")


def _div(a: float, b: float) -> float:
    # Java double division: x/0 is ±Infinity or NaN, never an exception.
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _ordered_sum(values: np.ndarray) -> float:
    """Sum from 0.0, one element after the other, as a Java loop does."""
    if values.shape[0] == 0:
        return 0.0
    return 0.0 + float(np.bincount(np.zeros(values.shape[0], dtype=np.intp), weights=values)[0])


def training_counts(predictions: Predictions) -> np.ndarray | None:
    """Summed training weight per class for each fold, or None where Weka would have no priors.

    ``predictions.train_counts`` when given; otherwise, for a cross-validation, each fold's
    training data are all the other folds (class weight sums over the instances with a known class);
    a single fold without counts has no priors (Weka's ``useNoPriors``).
    """
    if predictions.train_counts is not None:
        return np.asarray(predictions.train_counts, dtype=np.float64)
    n_folds = predictions.n_folds
    if n_folds < 2:
        return None
    known = predictions.actual >= 0
    k = predictions.n_classes
    per_fold = np.bincount(predictions.fold[known] * k + predictions.actual[known],
                           weights=predictions.weight[known], minlength=n_folds * k).reshape(n_folds, k)
    return per_fold.sum(axis=0) - per_fold


def _class_statistics(c: list[list[float]], k: int, i: int, classified: float) -> dict[str, float]:
    # Weka 3.9's per-class arithmetic: numPositives/numPredictedPositives are sequential row/column
    # sums, every other count is derived from them and from numClassified (withClass - unclassified).
    positives = predicted = 0.0
    for j in range(k):
        positives += c[i][j]
        predicted += c[j][i]
    tp = c[i][i]
    fn = positives - tp
    fp = predicted - tp
    negatives = classified - positives
    tn = negatives - fp
    precision = _div(tp, predicted)
    recall = _div(tp, positives)
    f_measure = 0.0 if precision == 0 and recall == 0 else _div(2.0 * precision * recall, precision + recall)
    with np.errstate(invalid="ignore"):  # rounding can make the product a hair below 0: NaN, as in Java
        denominator = float(np.sqrt(np.float64((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))))
    return {"tp_rate": recall, "fp_rate": _div(fp, negatives), "precision": precision,
            "recall": recall, "f_measure": f_measure, "mcc": _div(tp * tn - fp * fn, denominator),
            "tn_rate": _div(tn, negatives), "fn_rate": _div(fn, positives),
            "true_positives": tp, "false_positives": fp, "true_negatives": tn, "false_negatives": fn,
            "positives": positives}


def _weighted(values: list[float], positives: list[float], classified: float) -> float:
    total = 0.0
    for value, count in zip(values, positives):
        if count > 0:  # a NaN statistic of a present class makes the average NaN, as in Weka
            total += value * count
    return _div(total, classified)


def _kappa(c: list[list[float]], k: int) -> float:
    rows, cols, total = [0.0] * k, [0.0] * k, 0.0
    for i in range(k):
        for j in range(k):
            rows[i] += c[i][j]
            cols[j] += c[i][j]
            total += c[i][j]
    correct = chance = 0.0
    for i in range(k):
        chance += rows[i] * cols[i]
        correct += c[i][i]
    chance = _div(chance, total * total)
    correct = _div(correct, total)
    return _div(correct - chance, 1 - chance) if chance < 1 else 1.0


def _log2(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x) / _LOG2


def _per_class_areas(columns: np.ndarray, actual: np.ndarray, usable_weight: np.ndarray,
                     k: int) -> list[tuple[float, float]]:
    """ROC and PRC area of every class (``columns[j]``: class j's scores); large inputs use threads."""
    def areas(j: int) -> tuple[float, float]:
        return curve_areas(columns[j], actual == j, usable_weight)

    workers = min(k, usable_cores())  # numpy sorts and ufuncs release the GIL
    if columns.shape[1] < _PARALLEL_MIN or workers < 2:
        return [areas(j) for j in range(k)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(areas, range(k)))


def _coverage_sums(columns: np.ndarray, actual: np.ndarray, weight: np.ndarray,
                   level: float = COVERAGE_LEVEL) -> tuple[float, float]:
    """Weka's coverage sums: the weight of instances whose class lies in the predicted region, and the
    weighted region sizes (classes in the region, over K).

    The region of an instance is its classes by falling probability (ties: higher class index first,
    as Weka walks ``Utils.stableSort`` backwards) until their probabilities add up to ``level``.
    """
    k, n = columns.shape
    if n == 0 or k == 0:
        return 0.0, 0.0
    dist = columns.T
    # A stable ascending sort of each row, then reversed: Weka's walk order.
    walk = np.argsort(dist, axis=1, kind="stable")[:, ::-1]
    walked = np.take_along_axis(dist, walk, axis=1)
    # The sum Weka holds when it reaches position j: cumsum adds left to right as Weka's loop does.
    running = np.concatenate([np.zeros((n, 1)), np.cumsum(walked, axis=1)[:, :-1]], axis=1)
    # The running sum never falls (probabilities are >= 0), so the region is a prefix of the walk.
    region_size = (running < level).sum(axis=1)
    covered = np.argmax(walk == actual[:, None], axis=1) < region_size  # the actual class's place in the walk
    return _ordered_sum(np.where(covered, weight, 0.0)), _ordered_sum(weight * region_size.astype(np.float64) / k)


def compute_statistics(predictions: Predictions) -> dict:
    """Every number of Weka's nominal-class ``Evaluation``, as a flat dict of floats and arrays."""
    k = predictions.n_classes
    actual, dist, weight, fold = (predictions.actual, predictions.distribution, predictions.weight,
                                  predictions.fold)
    if np.any(fold[1:] < fold[:-1]):  # Weka evaluates fold after fold
        order = np.argsort(fold, kind="stable")
        actual, dist, weight, fold = actual[order], dist[order], weight[order], fold[order]

    # Predicted class: the first strictly largest positive probability; none -> unclassified (-1).
    predicted = predicted_classes(dist)
    classified_mask = predicted >= 0
    known = actual >= 0
    # Outcome per instance: 0 correct, 1 incorrect, 2 unclassified, 3 class unknown.
    outcome = np.where(~known, 3, np.where(~classified_mask, 2, np.where(predicted == actual, 0, 1)))
    outcome_sums = np.bincount(outcome, weights=weight, minlength=4)
    with_class = _ordered_sum(np.where(known, weight, 0.0)) if weight.shape[0] else 0.0
    correct, incorrect, unclassified, missing = (0.0 + float(v) for v in outcome_sums)

    used = known & classified_mask
    all_columns = np.ascontiguousarray(dist.T)  # one contiguous array per class
    if used.all():  # the usual case: no copies
        a, p, w, f, columns = actual, predicted, weight, fold, all_columns
    else:
        a, p, w, f, columns = actual[used], predicted[used], weight[used], fold[used], all_columns[:, used]
    matrix = np.bincount(a * k + p, weights=w, minlength=k * k).reshape(k, k) + 0.0

    counts = training_counts(predictions)
    has_priors = counts is not None
    if counts is None:
        counts = np.zeros((1, k))
    class_priors = 1.0 + counts
    priors_sum = np.full(counts.shape[0], float(k))
    for j in range(k):
        priors_sum = priors_sum + counts[:, j]
    fold_priors = class_priors / priors_sum[:, None]
    prior_fold = f if has_priors else np.zeros_like(f)

    # Per instance, Weka sums |p_k - y_k| over k from 0.0 in class order; the prior's errors depend
    # only on (fold, actual class), so they come from small tables with the same loop.
    abs_err = np.zeros(a.shape[0])
    sqr_err = np.zeros(a.shape[0])
    for j in range(k):
        diff = columns[j] - (a == j)
        abs_err += np.abs(diff)
        sqr_err += diff * diff
    prior_abs_table = np.zeros((fold_priors.shape[0], k))
    prior_sqr_table = np.zeros((fold_priors.shape[0], k))
    for j in range(k):
        diff = fold_priors[:, j][:, None] - np.eye(k)[j][None, :]
        prior_abs_table += np.abs(diff)
        prior_sqr_table += diff * diff
    prior_abs = prior_abs_table[prior_fold, a]
    prior_sqr = prior_sqr_table[prior_fold, a]
    sum_abs = _ordered_sum(w * abs_err / k)
    sum_sqr = _ordered_sum(w * sqr_err / k)
    sum_prior_abs = _ordered_sum(w * prior_abs / k)
    sum_prior_sqr = _ordered_sum(w * prior_sqr / k)

    # Kononenko & Bratko information and the log-loss ("complexity") sums.
    # Logs of the priors come from (fold, class) tables: the same values, computed once.
    predicted_prob = np.maximum(_MIN_SF_PROB, columns.ravel()[a * columns.shape[1] + np.arange(a.shape[0])])
    prior_table = np.maximum(_MIN_SF_PROB, fold_priors)
    prior_prob = prior_table[prior_fold, a]
    log_prior = _log2(prior_table)[prior_fold, a]
    log_predicted = _log2(predicted_prob)
    gain = predicted_prob >= prior_prob
    kb_terms = (log_predicted - log_prior) * w
    loss = ~gain
    with np.errstate(invalid="ignore"):
        kb_terms[loss] = -((_log2(1.0 - predicted_prob[loss]) - _log2(1.0 - prior_table)[prior_fold[loss], a[loss]])
                           * w[loss])
    sum_kb = _ordered_sum(kb_terms)
    sum_scheme_entropy = _ordered_sum(-(log_predicted * w))
    sum_prior_entropy = _ordered_sum(-(log_prior * w))

    classified = with_class - unclassified
    covered, region_sizes = _coverage_sums(columns, a, w)
    c = matrix.tolist()
    per_class = [_class_statistics(c, k, i, classified) for i in range(k)]
    stats: dict = {name: np.array([row[name] for row in per_class]) for name in per_class[0]} if k else {}

    # Threshold curves over every stored prediction. Weka means to skip unknown classes there, but
    # its test (actual == MISSING_VALUE) compares with NaN and never holds: they count as negatives.
    areas = _per_class_areas(all_columns, actual, np.where(weight >= 0, weight, 0.0), k)
    stats["roc_area"] = np.array([roc for roc, _ in areas])
    stats["prc_area"] = np.array([prc for _, prc in areas])

    positives = stats.pop("positives").tolist() if k else []
    for name in PER_CLASS:
        stats[f"weighted_{name}"] = _weighted(stats[name].tolist(), positives, classified)

    macro = [stats["f_measure"][i] for i in range(k) if positives[i] > 0]
    micro_tp = micro_fn = micro_fp = 0.0
    for i in range(k):
        micro_tp += stats["true_positives"][i]
        micro_fn += stats["false_negatives"][i]
        micro_fp += stats["false_positives"][i]

    mae = _div(sum_abs, classified)
    rmse = float(np.sqrt(np.float64(_div(sum_sqr, classified))))
    prior_mae = _div(sum_prior_abs, with_class) if has_priors else math.nan
    prior_rmse = float(np.sqrt(np.float64(_div(sum_prior_sqr, with_class)))) if has_priors else math.nan
    kb_mean = _div(sum_kb, classified) if has_priors else math.nan
    mean_prior_entropy = _div(sum_prior_entropy, with_class) if has_priors else math.nan
    stats.update(
        confusion_matrix=matrix, total_instances=with_class, correct=correct, incorrect=incorrect,
        unclassified=unclassified, ignored_class_unknown=missing,
        pct_correct=_div(100 * correct, with_class), pct_incorrect=_div(100 * incorrect, with_class),
        pct_unclassified=_div(100 * unclassified, with_class), kappa=_kappa(c, k),
        mean_absolute_error=mae, root_mean_squared_error=rmse,
        mean_prior_absolute_error=prior_mae, root_mean_prior_squared_error=prior_rmse,
        relative_absolute_error=_div(100 * mae, prior_mae) if has_priors else math.nan,
        root_relative_squared_error=_div(100.0 * rmse, prior_rmse) if has_priors else math.nan,
        has_priors=has_priors,
        kb_information=sum_kb if has_priors else math.nan, kb_mean_information=kb_mean,
        kb_relative_information=_div(100.0 * kb_mean, mean_prior_entropy) if has_priors else math.nan,
        prior_entropy=sum_prior_entropy if has_priors else math.nan, mean_prior_entropy=mean_prior_entropy,
        scheme_entropy=sum_scheme_entropy, mean_scheme_entropy=_div(sum_scheme_entropy, classified),
        entropy_gain=sum_prior_entropy - sum_scheme_entropy if has_priors else math.nan,
        mean_entropy_gain=(_div(sum_prior_entropy - sum_scheme_entropy, classified)
                           if has_priors else math.nan),
        coverage_of_test_cases_by_predicted_regions=_div(100 * covered, with_class),
        size_of_predicted_regions=_div(100 * region_sizes, with_class) if has_priors else math.nan,
        unweighted_macro_f_measure=float(np.mean(macro)) if macro else math.nan,
        unweighted_micro_f_measure=_div(2.0 * micro_tp, 2.0 * micro_tp + micro_fn + micro_fp),
    )
    return stats

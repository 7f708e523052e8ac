"""Weka's cross-validation folds and percentage split in pure Python (no JVM).

A faithful transcription of the Java code Weka 3.9.7 runs, so any classifier (the CNN, a
scikit-learn model) can be scored on exactly the folds Weka's Explorer and command line use:

* :class:`JavaRandom` is ``java.util.Random`` (48-bit LCG, multiplier ``0x5DEECE66D``, increment
  ``0xB``; ``nextInt(bound)`` with its rejection loop; ``nextDouble``).
* ``Instances.randomize(Random)``: Fisher-Yates from the end, ``swap(j, random.nextInt(j + 1))``.
* ``Instances.stratify(k)``: Weka's in-place grouping of equal classes (in order of first
  appearance after randomizing; not a stable sort), then ``stratStep``, which deals the grouped
  list out round-robin: positions ``0, k, 2k, ...``, then ``1, k+1, ...``.
* ``testCV(k, i)``: a contiguous block of the stratified order; the first ``N mod k`` folds hold
  one extra instance. ``trainCV(k, i, random)``: everything else, then randomized with the same
  ``Random`` (so the training order of fold ``i`` depends on the folds before it).
* percentage split: ``randomize(new Random(seed))`` unless the order is preserved, then the first
  ``Math.round(N * pct / 100)`` instances train.

A class with fewer members than folds is spread one member per fold by ``stratStep``, so some test
folds hold none of it; Weka runs on regardless. Fewer instances than folds is an error in Weka
("Can't have more folds than instances!") and here.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["JavaRandom", "randomize", "stratify", "stratified_order", "stratified_fold_assignment",
           "cv_train_test_indices", "grouped_fold_assignment", "grouped_cv_train_test_indices", "grouping_note", "fold_bounds", "split_indices", "java_round", "small_class_notes"]

_MULTIPLIER = 0x5DEECE66D
_ADDEND = 0xB
_MASK = (1 << 48) - 1
_INT_LIMIT = 1 << 31


class JavaRandom:
    """``java.util.Random`` with the same sequence for the same seed (a Java ``long``)."""

    def __init__(self, seed: int) -> None:
        self._seed = (int(seed) ^ _MULTIPLIER) & _MASK

    def next_bits(self, bits: int) -> int:
        """``next(bits)``: the top ``bits`` bits of the advanced seed, as a signed Java int."""
        self._seed = (self._seed * _MULTIPLIER + _ADDEND) & _MASK
        value = self._seed >> (48 - bits)
        return value - (1 << 32) if value >= _INT_LIMIT else value

    def next_int(self, bound: int) -> int:
        """``nextInt(bound)``: uniform in ``[0, bound)``, with Java's rejection of the biased tail."""
        if bound <= 0:
            raise ValueError(f"bound must be positive, got {bound}")
        r = self.next_bits(31)
        m = bound - 1
        if bound & m == 0:  # a power of two: take the high bits
            return (bound * r) >> 31
        u = r
        r = u % bound
        while u - r + m >= _INT_LIMIT:  # Java's int overflow test "u - r + m < 0"
            u = self.next_bits(31)
            r = u % bound
        return r

    def next_double(self) -> float:
        """``nextDouble()``: 53 random bits in ``[0, 1)``."""
        return ((self.next_bits(26) << 27) + self.next_bits(27)) * 2.0 ** -53


def java_round(value: float) -> int:
    """Java's ``Math.round(double)``: the nearest integer, ties towards positive infinity."""
    floor = math.floor(value)
    return int(floor + 1 if value - floor >= 0.5 else floor)


def randomize(order: list, random: JavaRandom) -> list:
    """Shuffle ``order`` in place as ``Instances.randomize(random)`` does, and return it."""
    for j in range(len(order) - 1, 0, -1):
        k = random.next_int(j + 1)
        order[j], order[k] = order[k], order[j]
    return order


def _class_codes(y) -> list[int]:
    """One integer per instance; equal classes get equal codes, missing ones (NaN/None) share -1."""
    codes: dict = {}
    values = y.tolist() if isinstance(y, np.ndarray) else list(y)
    return [-1 if value is None or (isinstance(value, float) and math.isnan(value))
            else codes.setdefault(value, len(codes)) for value in values]


def stratify(order: list, codes, n_folds: int) -> list:
    """``Instances.stratify(n_folds)`` on ``order`` (indices whose classes are ``codes[index]``)."""
    if n_folds <= 1:
        raise ValueError("Number of folds must be greater than 1")
    order = list(order)
    classes = [codes[i] for i in order]
    n = len(order)
    index = 1
    while index < n:  # Weka's grouping: pull every later match of instance index-1's class forward
        current = classes[index - 1]
        for j in range(index, n):
            if classes[j] == current:
                classes[index], classes[j] = classes[j], classes[index]
                order[index], order[j] = order[j], order[index]
                index += 1
        index += 1
    stratified: list = []
    for start in range(n_folds):  # stratStep: deal the grouped list out round-robin
        stratified.extend(order[start::n_folds])
    return stratified


def _check_folds(n: int, n_folds: int) -> None:
    if n_folds < 2:
        raise ValueError("Number of folds must be at least 2!")
    if n_folds > n:
        raise ValueError(f"Can't have more folds than instances! ({n} instances, {n_folds} folds)")


def stratified_order(y, n_folds: int, seed: int = 1) -> tuple[list[int], JavaRandom]:
    """Original indices in Weka's order after ``randomize(new Random(seed))`` and ``stratify``.

    Also returns the ``Random``, positioned where ``crossValidateModel`` continues with ``trainCV``.
    """
    codes = _class_codes(y)
    _check_folds(len(codes), n_folds)
    random = JavaRandom(seed)
    order = randomize(list(range(len(codes))), random)
    return stratify(order, codes, n_folds), random


def fold_bounds(n: int, n_folds: int, fold: int) -> tuple[int, int]:
    """``testCV(n_folds, fold)``: the ``[start, stop)`` positions of the test fold in Weka's order."""
    _check_folds(n, n_folds)
    size = n // n_folds
    if fold < n % n_folds:
        size += 1
        offset = fold
    else:
        offset = n % n_folds
    first = fold * (n // n_folds) + offset
    return first, first + size


def stratified_fold_assignment(y, n_folds: int, seed: int = 1) -> np.ndarray:
    """The test fold (0 .. n_folds-1) of every instance under Weka's stratified cross-validation.

    Parameters
    ----------
    y : array-like of shape (n_instances,)
        Class of each instance in the data set's row order (labels or indices; only equality
        matters; NaN/None are missing classes, which Weka groups together).
    n_folds : int
        Number of folds (``-x``).
    seed : int, default=1
        Seed of ``new Random(seed)`` (``-s``).

    Returns
    -------
    ndarray of int, shape (n_instances,)
        ``fold[i]`` is the fold in which row ``i`` is a test instance.

    Raises
    ------
    ValueError
        Fewer than 2 folds, or more folds than instances.
    """
    order, _ = stratified_order(y, n_folds, seed)
    n = len(order)
    fold_of = np.empty(n, dtype=np.int64)
    for fold in range(n_folds):
        start, stop = fold_bounds(n, n_folds, fold)
        fold_of[order[start:stop]] = fold
    return fold_of


def cv_train_test_indices(y, n_folds: int, seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per fold, the original indices of ``trainCV(k, i, random)`` and ``testCV(k, i)``, in Weka's order.

    The test indices follow Weka's stratified order (the order Weka evaluates them in), the
    training indices the order Weka trains on (``trainCV`` randomizes with the shared ``Random``).
    """
    order, random = stratified_order(y, n_folds, seed)
    n = len(order)
    folds = []
    for fold in range(n_folds):
        start, stop = fold_bounds(n, n_folds, fold)
        train = randomize(order[:start] + order[stop:], random)
        folds.append((np.array(train, dtype=np.int64), np.array(order[start:stop], dtype=np.int64)))
    return folds


def split_indices(n: int, percentage: float, seed: int = 1,
                  preserve_order: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Weka's percentage split of ``n`` instances: ``(train_indices, test_indices)`` in Weka's order.

    ``randomize(new Random(seed))`` unless ``preserve_order``; the first
    ``Math.round(n * percentage / 100)`` instances train, the rest test.
    """
    if not 0 < percentage < 100:
        raise ValueError(f"Split percentage needs to be >0 and <100, got {percentage}")
    order = list(range(n))
    if not preserve_order:
        randomize(order, JavaRandom(seed))
    train_size = java_round(n * percentage / 100)
    return np.array(order[:train_size], dtype=np.int64), np.array(order[train_size:], dtype=np.int64)


def small_class_notes(class_codes: np.ndarray, labels: Sequence[str], n_folds: int) -> list[str]:
    """Weka's behaviour, stated, for each class with fewer instances than folds.

    Weka does not refuse such data: ``stratify`` deals the class's members one per fold, so some
    test folds hold none of them. ``class_codes`` are class indices (-1 for unknown, ignored).
    """
    codes = np.asarray(class_codes, dtype=np.int64)
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    return [f"class '{label}' has {count} instance(s), fewer than {n_folds} folds: Weka runs anyway; "
            f"stratify spreads them one per fold, so {n_folds - count} test fold(s) hold none of them"
            for label, count in zip(labels, counts) if 0 < count < n_folds]


def _group_classes(y, groups) -> tuple[list, list[int], np.ndarray]:
    """Groups in order of first appearance, each group's class (its most frequent, first on ties), row → group."""
    keys: dict = {}
    row_group = np.array([keys.setdefault(group, len(keys)) for group in groups], dtype=np.int64)
    codes = _class_codes(y)
    if len(codes) != len(row_group):
        raise ValueError(f"groups names {len(row_group)} instances, y has {len(codes)}")
    classes = []
    for number in range(len(keys)):
        members = [codes[i] for i in np.flatnonzero(row_group == number)]
        classes.append(max(dict.fromkeys(members), key=members.count))
    return list(keys), classes, row_group


def grouped_fold_assignment(y, groups, n_folds: int, seed: int = 1) -> np.ndarray:
    """Weka's stratified folds dealt to whole groups: every instance of a group lands in one test fold.

    Each group (an image, a slide, a patient) is one unit whose class is its most frequent one;
    the units go through Weka's ``randomize(new Random(seed))`` and ``stratify(n_folds)`` and are cut
    into test folds as ``testCV`` cuts instances. When every group has one instance this is
    exactly :func:`stratified_fold_assignment`; otherwise folds hold whole groups, so their sizes
    differ from Weka's (:func:`grouping_note` says so).

    Raises
    ------
    ValueError
        Fewer than 2 folds, more folds than groups, or ``groups`` and ``y`` of different lengths.
    """
    _, classes, row_group = _group_classes(y, groups)
    try:
        group_fold = stratified_fold_assignment(classes, n_folds, seed)
    except ValueError as error:
        raise ValueError(f"{error} (counting groups, not instances)") from None
    return group_fold[row_group]


def grouped_cv_train_test_indices(y, groups, n_folds: int, seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per fold, ``(train, test)`` indices of :func:`grouped_fold_assignment`'s folds.

    Test indices follow Weka's stratified order of the groups (a group's instances in row order);
    training indices are the other folds in that order, then randomized with the folds' ``Random``
    as ``trainCV`` does. With one instance per group this equals :func:`cv_train_test_indices`.
    """
    _, classes, row_group = _group_classes(y, groups)
    try:
        order, random = stratified_order(classes, n_folds, seed)
    except ValueError as error:
        raise ValueError(f"{error} (counting groups, not instances)") from None
    members = [np.flatnonzero(row_group == number).tolist() for number in range(len(classes))]
    folds = []
    for fold in range(n_folds):
        start, stop = fold_bounds(len(order), n_folds, fold)
        test_groups = order[start:stop]
        train_groups = randomize(order[:start] + order[stop:], random)
        folds.append((np.array([i for g in train_groups for i in members[g]], dtype=np.int64),
                      np.array([i for g in test_groups for i in members[g]], dtype=np.int64)))
    return folds


def grouping_note(groups, n_folds: int) -> str | None:
    """The sentence to show when grouping changed the folds (None when every group has one instance)."""
    sizes = np.unique(np.asarray([str(g) for g in groups]), return_counts=True)[1]
    if sizes.size == 0 or sizes.max() <= 1:
        return None
    return (f"folds grouped: {int((sizes > 1).sum())} of {sizes.size} groups hold several instances (up to "
            f"{int(sizes.max())}); each group is kept in one of the {n_folds} folds, so the folds differ from "
            "Weka's instance-level stratified folds")

"""wekawbc.protocol.folds reproduces Weka's folds and split exactly; the oracle is Weka's own Java code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wekawbc.protocol.folds import (JavaRandom, cv_train_test_indices, java_round, split_indices,
                                stratified_fold_assignment)


def _java_instances(y: list):
    """Java Instances with an ``id`` attribute (the row) and a nominal class (None = missing)."""
    from jpype import JArray, JClass, JDouble

    labels = sorted({label for label in y if label is not None})
    ArrayList = JClass("java.util.ArrayList")
    Attribute = JClass("weka.core.Attribute")
    attributes = ArrayList()
    attributes.add(Attribute("id"))
    attributes.add(Attribute("class", ArrayList(labels)))
    data = JClass("weka.core.Instances")("folds", attributes, len(y))
    for row, label in enumerate(y):
        value = math.nan if label is None else float(labels.index(label))
        data.add(JClass("weka.core.DenseInstance")(1.0, JArray(JDouble)([float(row), value])))
    data.setClassIndex(1)
    return data


def _ids(instances) -> list[int]:
    return [int(v) for v in instances.attributeToDoubleArray(0)]


def _weka_cv(y: list, n_folds: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """What Evaluation.crossValidateModel does to the data, read back as row ids."""
    from jpype import JClass

    data = JClass("weka.core.Instances")(_java_instances(y))
    random = JClass("java.util.Random")(seed)
    data.randomize(random)
    data.stratify(n_folds)
    return [(_ids(data.trainCV(n_folds, i, random)), _ids(data.testCV(n_folds, i))) for i in range(n_folds)]


def _class_list(counts: dict[str, int], rng: np.random.Generator) -> list:
    y = [label for label, count in counts.items() for _ in range(count)]
    rng.shuffle(y)
    return y


DATASETS = {
    "imbalanced-5": {"neutrophil": 120, "lymphocyte": 60, "monocyte": 25, "eosinophil": 9, "basophil": 3},
    "balanced-3": {"a": 40, "b": 40, "c": 40},
    "one-rare": {"big": 97, "single": 1},
    "binary-odd": {"yes": 13, "no": 8},
}


def test_java_random_sequence(jvm):
    from jpype import JClass

    for seed in (0, 1, 42, -7, 2**40 + 3):
        java, ours = JClass("java.util.Random")(seed), JavaRandom(seed)
        for bound in (1, 2, 3, 7, 10, 16, 999, 2**30 + 1, 2**31 - 1):
            assert [java.nextInt(bound) for _ in range(40)] == [ours.next_int(bound) for _ in range(40)]
        assert [java.nextDouble() for _ in range(20)] == [ours.next_double() for _ in range(20)]


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("n_folds, seed", [(10, 1), (5, 42), (3, 7), (2, 123)])
def test_cv_folds_equal_weka(jvm, name, n_folds, seed):
    y = _class_list(DATASETS[name], np.random.default_rng(len(name)))
    expected = _weka_cv(y, n_folds, seed)
    ours = cv_train_test_indices(y, n_folds, seed)
    for (weka_train, weka_test), (train, test) in zip(expected, ours, strict=True):
        assert test.tolist() == weka_test
        assert train.tolist() == weka_train
    fold = stratified_fold_assignment(y, n_folds, seed)
    for i, (_, weka_test) in enumerate(expected):
        assert sorted(np.flatnonzero(fold == i).tolist()) == sorted(weka_test)


def test_missing_classes_are_grouped_like_weka(jvm):
    y = _class_list({"a": 20, "b": 7}, np.random.default_rng(3)) + [None] * 4
    expected = _weka_cv(y, 4, 9)
    assert [test.tolist() for _, test in cv_train_test_indices(y, 4, 9)] == [test for _, test in expected]


def test_rare_class_is_spread_one_per_fold():
    y = ["big"] * 50 + ["rare"] * 3
    fold = stratified_fold_assignment(y, 10, seed=1)
    rare_folds = fold[50:]
    assert len(set(rare_folds.tolist())) == 3  # three folds hold one each, seven hold none
    assert np.bincount(fold, minlength=10).min() >= 5


def test_more_folds_than_instances_is_an_error():
    with pytest.raises(ValueError, match="more folds than instances"):
        stratified_fold_assignment(["a", "b", "a"], 4)


@pytest.mark.parametrize("n, pct, seed, preserve", [(400, 80, 1, False), (401, 66, 5, False), (7, 50, 1, False),
                                                     (10, 33.3, 2, True), (123, 90, 99, False)])
def test_split_equals_weka(jvm, n, pct, seed, preserve):
    from jpype import JClass

    data = JClass("weka.core.Instances")(_java_instances(["a", "b"] * (n // 2) + ["a"] * (n % 2)))
    if not preserve:
        data.randomize(JClass("java.util.Random")(seed))
    train_size = int(JClass("java.lang.Math").round(n * pct / 100))
    train, test = split_indices(n, pct, seed, preserve)
    assert train.tolist() == _ids(data)[:train_size]
    assert test.tolist() == _ids(data)[train_size:]


def test_java_round_ties_go_up(jvm):
    from jpype import JClass

    for value in (0.5, 1.5, 2.5, -0.5, 0.49999999999999994, 320.0, 80.4, 2.675 * 100):
        assert java_round(value) == int(JClass("java.lang.Math").round(value))

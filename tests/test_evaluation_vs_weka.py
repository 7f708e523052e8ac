"""The engine against Weka's own ``weka.classifiers.Evaluation``, fed the same predictions in the JVM.

Six hundred seeded prediction sets (3,000 more in the slow sweep) (2-10 classes, heavy imbalance, tied scores, all-zero
distributions, fractional and zero weights, unknown classes, classes never predicted or absent from
a fold, cross-validation and hold-out, with and without training counts) go to Weka through
``evaluateModelOnceAndRecordPrediction(double[], Instance)``, with priors set per fold from the
training counts as ``crossValidateModel`` does; the text must be byte-identical and every number
equal to 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from wekawbc.evaluation import evaluate
from wekawbc.evaluation.metrics import class_metrics, summary_metrics, weighted_metrics
from wekawbc.predictions import Predictions

N_DEFAULT = 600
N_SLOW = 3000


def generate_predictions(seed: int) -> Predictions:
    """One random but reproducible prediction set, mixing the hard cases by seed."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 11))
    n = int(rng.choice([1, 3, 8, 30, 100, 250]))
    labels = tuple(f"c{j}" if rng.random() < 0.7 else f"class {j}-x" for j in range(k))
    class_p = rng.dirichlet(np.full(k, 0.3 if rng.random() < 0.5 else 3.0))
    actual = rng.choice(k, size=n, p=class_p)
    kind = rng.integers(0, 5)
    if kind == 0:  # hard one-hot predictions, mostly right
        predicted = np.where(rng.random(n) < 0.7, actual, rng.integers(0, k, n))
        dist = np.eye(k)[predicted]
    elif kind == 1:  # soft and informative
        logits = rng.normal(size=(n, k)) + 2.0 * np.eye(k)[actual]
        dist = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    elif kind == 2:  # coarse probabilities: many tied scores
        dist = rng.integers(0, 4, size=(n, k)).astype(float) + 3 * np.eye(k)[actual] * (rng.random((n, 1)) < 0.6)
        dist = dist / np.maximum(dist.sum(axis=1, keepdims=True), 1)
    elif kind == 3:  # rounded to 1 decimal (ties), rows may be all zero
        dist = np.round(rng.dirichlet(np.ones(k), size=n), 1)
    else:  # a few classes are never predicted
        dist = rng.dirichlet(np.ones(k), size=n)
        dist[:, rng.choice(k, size=max(1, k // 2), replace=False)] = 0.0
        dist = dist / np.maximum(dist.sum(axis=1, keepdims=True), 1e-300)
    zero_rows = rng.random(n) < (0.1 if rng.random() < 0.3 else 0.0)
    dist[zero_rows] = 0.0
    weighting = rng.integers(0, 4)
    if weighting == 0:
        weight = np.ones(n)
    elif weighting == 1:
        weight = rng.integers(0, 4, n).astype(float)
    elif weighting == 2:
        weight = rng.integers(1, 9, n) / 4.0
    else:
        weight = rng.uniform(0.05, 3.0, n)
    if rng.random() < 0.15:
        actual = np.where(rng.random(n) < 0.1, -1, actual)
    n_folds = 1 if rng.random() < 0.4 else int(rng.integers(2, 11))
    fold = rng.integers(0, n_folds, n) if n_folds > 1 else np.zeros(n, dtype=int)
    if rng.random() < 0.5:
        fold = np.sort(fold)  # otherwise folds interleave: Weka still evaluates fold after fold
    train_counts = None
    if n_folds == 1 and rng.random() < 0.7:
        train_counts = np.round(rng.uniform(0, 50, (1, k)), int(rng.integers(0, 3)))
    elif n_folds > 1 and rng.random() < 0.3:
        train_counts = rng.integers(0, 40, (n_folds, k)).astype(float)
    return Predictions(labels, actual, dist, weight, fold, train_counts)


def _other_fold_counts(p: Predictions) -> np.ndarray:
    """Training counts of a CV without explicit counts: class weights of all other folds."""
    counts = np.zeros((p.n_folds, p.n_classes))
    for f in range(p.n_folds):
        for i in range(p.n_instances):
            if p.fold[i] != f and p.actual[i] >= 0:
                counts[f, p.actual[i]] += p.weight[i]
    return counts


class WekaOracle:
    """Feeds predictions to weka.classifiers.evaluation.Evaluation (the class behind weka.classifiers.Evaluation)."""

    def __init__(self) -> None:
        import jpype

        self.jpype = jpype
        self.Attribute = jpype.JClass("weka.core.Attribute")
        self.ArrayList = jpype.JClass("java.util.ArrayList")
        self.Instances = jpype.JClass("weka.core.Instances")
        self.DenseInstance = jpype.JClass("weka.core.DenseInstance")
        self.Evaluation = jpype.JClass("weka.classifiers.evaluation.Evaluation")
        self.DoubleArray = jpype.JArray(jpype.JDouble)

    def header(self, labels):
        values = self.ArrayList()
        for label in labels:
            values.add(label)
        attributes = self.ArrayList()
        attributes.add(self.Attribute("class", values))
        header = self.Instances("predictions", attributes, 0)
        header.setClassIndex(0)
        return header

    def evaluate(self, p: Predictions):
        header = self.header(p.labels)
        evaluation = self.Evaluation(header)
        counts = p.train_counts if p.train_counts is not None else (_other_fold_counts(p) if p.n_folds > 1 else None)
        if counts is None:
            evaluation.useNoPriors()
        for f in range(max(p.n_folds, 1)):
            if counts is not None:
                train = self.Instances(header, p.n_classes)
                for j in range(p.n_classes):
                    train.add(self.DenseInstance(float(counts[f, j]), self.DoubleArray([float(j)])))
                evaluation.setPriors(train)
            for i in np.flatnonzero(p.fold == f):
                value = float(p.actual[i]) if p.actual[i] >= 0 else math.nan
                instance = self.DenseInstance(float(p.weight[i]), self.DoubleArray([value]))
                instance.setDataset(header)
                evaluation.evaluateModelOnceAndRecordPrediction(self.DoubleArray(p.distribution[i].tolist()), instance)
        return evaluation


@pytest.fixture(scope="module")
def oracle(jvm) -> WekaOracle:
    return WekaOracle()


def _same(a: float, b: float) -> bool:
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


# Every number the engine computes, with the Weka getter that is its oracle: from the metric registry,
# so a metric added there is checked against Weka here with nothing else to change.
SCALARS = {m.name: m.weka_getter for m in (*summary_metrics(engine=True), *weighted_metrics(engine=True))}
PER_CLASS = {m.name: m.weka_getter for m in class_metrics()}


def check_against_weka(oracle: WekaOracle, p: Predictions) -> None:
    weka = oracle.evaluate(p)
    ours = evaluate(p)
    for complexity in (False, True):
        assert ours.summary_text(complexity=complexity) == str(weka.toSummaryString("=== Summary ===\n", complexity))
    assert ours.class_details_text() == str(weka.toClassDetailsString())
    try:
        matrix_text = str(weka.toMatrixString())
    except Exception as error:  # Weka's own bug: a fractional matrix whose cells are all below 0.1
        assert "NegativeArraySizeException" in str(error)
        assert np.nanmax(np.abs(ours.confusion_matrix)) < 0.1
    else:
        assert ours.matrix_text() == matrix_text
        assert ours.weka_text() == ours.summary_text() + "\n" + ours.class_details_text() + "\n" + matrix_text
    assert str(weka.toSummaryString()) == ours.summary_text(title="")
    mismatches = [name for name, method in SCALARS.items()
                  if not _same(getattr(ours, name), getattr(weka, method)())]
    for name, method in PER_CLASS.items():
        for j in range(p.n_classes):
            if not _same(getattr(ours, name)[j], getattr(weka, method)(j)):
                mismatches.append(f"{name}[{j}]")
    matrix = np.array([list(row) for row in weka.confusionMatrix()])
    assert np.array_equal(ours.confusion_matrix, matrix)
    assert not mismatches, mismatches


@pytest.mark.parametrize("block", range(6))
def test_generated_sets_match_weka(oracle: WekaOracle, block: int) -> None:
    per_block = N_DEFAULT // 6
    for seed in range(block * per_block, (block + 1) * per_block):
        p = generate_predictions(seed)
        try:
            check_against_weka(oracle, p)
        except AssertionError as error:
            raise AssertionError(f"seed {seed}: {error}") from None


@pytest.mark.slow
def test_many_more_generated_sets_match_weka(oracle: WekaOracle) -> None:
    for seed in range(N_DEFAULT, N_DEFAULT + N_SLOW):
        p = generate_predictions(seed)
        try:
            check_against_weka(oracle, p)
        except AssertionError as error:
            raise AssertionError(f"seed {seed}: {error}") from None


def _edge_cases() -> dict[str, Predictions]:
    rng = np.random.default_rng(7)
    cases = {}
    # 30 classes: two-letter matrix ids ("ba", "bb", ...).
    actual = np.arange(300) % 30
    cases["thirty_classes"] = Predictions(tuple(f"k{j}" for j in range(30)), actual,
                                          rng.dirichlet(np.ones(30), 300), fold=np.arange(300) % 3)
    # Matrix maxima that are exact powers of ten (log10 truncation in the cell width).
    for size in (10, 100, 1000):
        actual = np.zeros(size + 3, dtype=int)
        actual[-3:] = 1
        cases[f"max_cell_{size}"] = Predictions(("a", "b"), actual, np.eye(2)[actual], train_counts=[[5.0, 2.0]])
    # Every instance unclassified; every class unknown; a single instance.
    cases["all_unclassified"] = Predictions(("a", "b", "c"), [0, 1, 2, 1], np.zeros((4, 3)), train_counts=[[1, 2, 3]])
    cases["all_unknown"] = Predictions(("a", "b"), [-1, -1], [[0.2, 0.8], [0.9, 0.1]], train_counts=[[1, 1]])
    cases["single"] = Predictions(("a", "b"), [1], [[0.5, 0.5]])
    cases["empty"] = Predictions(("a", "b"), np.zeros(0, dtype=int), np.zeros((0, 2)))
    cases["one_class"] = Predictions(("only",), [0, 0, 0], [[1.0], [0.5], [0.0]], fold=[0, 1, 1])
    # Fractional matrix with large weights and cells just above/below whole numbers.
    weight = np.array([1000.004, 0.996, 12.5, 7.25, 3.0101, 0.0099])
    cases["fraction_edges"] = Predictions(("x", "y"), [0, 0, 1, 1, 0, 1], np.eye(2)[[0, 1, 1, 0, 0, 1]],
                                          weight, train_counts=[[10.5, 3.25]])
    return cases


@pytest.mark.parametrize("name", sorted(_edge_cases()))
def test_edge_cases_match_weka(oracle: WekaOracle, name: str) -> None:
    check_against_weka(oracle, _edge_cases()[name])


@pytest.mark.parametrize("seed", [3, 17, 42, 77, 123, 256])
def test_threshold_curve_points_match_weka(oracle: WekaOracle, seed: int) -> None:
    import jpype

    ThresholdCurve = jpype.JClass("weka.classifiers.evaluation.ThresholdCurve")
    p = generate_predictions(seed)
    if p.n_instances == 0:
        pytest.skip("no predictions")
    weka_predictions = oracle.evaluate(p).predictions()
    ours = evaluate(p)
    columns = {"True Positives": "true_positives", "False Positives": "false_positives",
               "False Negatives": "false_negatives", "True Negatives": "true_negatives", "Threshold": "threshold",
               "Precision": "precision", "Recall": "recall", "False Positive Rate": "fp_rate"}
    for c in range(p.n_classes):
        curve = ThresholdCurve().getCurve(weka_predictions, c)
        mine = ours.threshold_curve(c)
        for name, attribute in columns.items():
            expected = np.array(list(curve.attributeToDoubleArray(curve.attribute(name).index())))
            np.testing.assert_allclose(getattr(mine, attribute), expected, rtol=1e-12, atol=1e-12,
                                       err_msg=f"seed {seed} class {c} {name}")

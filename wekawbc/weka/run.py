"""Run a Weka classifier with exactly the Explorer's and the command line's evaluation.

Three evaluation modes, each a line-for-line transcription of Weka 3.9.7's own code, so the numbers
and text equal what ``java weka.classifiers.trees.J48 -t data.arff`` (and the Explorer) print:

* **cross-validation** (``folds=k``, ``Evaluation.crossValidateModel``): copy the data,
  ``randomize(new Random(seed))``, ``stratify(k)``; for each fold ``i``: ``trainCV(k, i, random)``
  (same ``Random``), ``setPriors(train fold)``, build a fresh copy of the classifier, evaluate it on
  ``testCV(k, i)``. One Java ``Evaluation`` pools every fold.
* **percentage split** (``split=pct``, the Explorer's and ``-split-percentage``): ``randomize(new
  Random(seed))`` unless ``preserve_order``; the first ``Math.round(N * pct / 100)`` instances train,
  the rest test; priors from the training part. (python-weka-wrapper3's ``evaluate_train_test_split``
  rounds differently and keeps the full data's priors, so it is not used.)
* **supplied test set** (``test=...``): train on all of ``data``, priors from it, evaluate on ``test``.

Each test fold is scored by Weka's ``Evaluation.evaluateModel``, which takes the batch
``distributionsForInstances`` path for classifiers that implement it more efficiently and otherwise
``evaluateModelOnceAndRecordPrediction`` one instance at a time; the per-instance predictions
(fold, actual class, weight, full distribution) are then read back from Weka's own prediction list.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from wekawbc._io import WekawbcError
from wekawbc._json import json_number
from wekawbc.evaluation.metrics import class_metrics, summary_metrics, weighted_metrics
from wekawbc.predictions import Predictions
from wekawbc.weka.classifiers import new_classifier, split_classifier_command
from wekawbc.weka.data import load_instances
from wekawbc.protocol.folds import (cv_train_test_indices, grouped_cv_train_test_indices, grouping_note,
                                small_class_notes, split_indices)
from wekawbc.weka.jvm import java_error

__all__ = ["WekaRun", "run_classifier", "make_classifier", "SmallClassWarning", "MODES"]

MODES = ("cross-validation", "split", "test")

# Weka's Evaluation getters → the registry's names: every number Weka exposes for a nominal class.
_SUMMARY_GETTERS = tuple((m.weka_getter, m.name) for m in (*summary_metrics(), *weighted_metrics()))
_CLASS_GETTERS = tuple((m.weka_getter, m.name) for m in class_metrics())
_TITLES = {
    "cross-validation": "=== Stratified cross-validation ===",
    "split": "=== Evaluation on test split ===",
    "test": "=== Evaluation on test set ===",
}


class SmallClassWarning(UserWarning):
    """A class has fewer instances than cross-validation folds (Weka runs anyway; some folds lack it)."""


@dataclass(frozen=True)
class WekaRun:
    """One evaluated run of a Weka classifier: Weka's own text, every number, the predictions.

    Attributes
    ----------
    classifier : str
        The classifier's full Weka command line (class name and every option, defaults included),
        as the Explorer's "Scheme:" line shows it.
    mode : {"cross-validation", "split", "test"}
    seed : int
        Seed of ``java.util.Random`` for the folds or the split (unused for a supplied test set).
    folds : int or None
        Number of cross-validation folds.
    split_percentage : float or None
        Percentage of the data used for training in a split.
    preserve_order : bool
        Whether the split kept the data's order instead of randomizing it.
    relation : str
        The data set's relation name.
    attributes : tuple of str
        Attribute names, class last or where the data put it.
    n_instances : int
        Instances in the training data (all of it for cross-validation).
    predictions : Predictions
        Per-instance predictions with per-fold training class weights (``train_counts``).
    summary_text, class_details_text, matrix_text : str
        Weka's ``toSummaryString("=== Summary ===\\n", false)``, ``toClassDetailsString()`` and
        ``toMatrixString()``, byte for byte.
    statistics : dict of str to float
        Every summary number Weka's ``Evaluation`` exposes (NaN where Weka gives NaN).
    class_statistics : dict of str to ndarray
        Every per-class number, one array of length n_classes per statistic.
    confusion_matrix : ndarray of shape (n_classes, n_classes)
        Rows are actual classes, columns predicted ones (weights).
    """

    classifier: str
    mode: str
    seed: int
    folds: int | None
    split_percentage: float | None
    preserve_order: bool
    relation: str
    attributes: tuple[str, ...]
    n_instances: int
    predictions: Predictions
    summary_text: str
    class_details_text: str
    matrix_text: str
    statistics: dict[str, float]
    class_statistics: dict[str, np.ndarray]
    confusion_matrix: np.ndarray
    java_evaluation: Any = field(default=None, repr=False, compare=False)
    """Weka's ``weka.classifiers.evaluation.Evaluation`` Java object, for anything not copied out."""
    grouping: str | None = None
    """When cross-validation folds were grouped and that changed them, the sentence saying so."""

    @property
    def labels(self) -> tuple[str, ...]:
        return self.predictions.labels

    @property
    def title(self) -> str:
        """The Explorer's heading for this mode, e.g. ``=== Stratified cross-validation ===``."""
        return _TITLES[self.mode]

    @property
    def test_mode(self) -> str:
        """The Explorer's "Test mode:" text (the Explorer does not mention a preserved order)."""
        if self.mode == "cross-validation":
            return f"{self.folds}-fold cross-validation" + (" (folds grouped)" if self.grouping else "")
        if self.mode == "split":
            return f"split {self.split_percentage!r}% train, remainder test"
        return f"user supplied test set: {self.predictions.n_instances} instances"

    @cached_property
    def evaluation(self):
        """The evaluation engine's result on :attr:`predictions` (``wekawbc.evaluation.evaluate``)."""
        from wekawbc.evaluation import evaluate

        return evaluate(self.predictions)

    def weka_text(self) -> str:
        """Weka's block as the Explorer prints it: summary, class details and confusion matrix."""
        return f"{self.summary_text}\n{self.class_details_text}\n{self.matrix_text}"

    def run_information(self) -> str:
        """The Explorer's ``=== Run information ===`` block."""
        lines = ["=== Run information ===", "", f"Scheme:       {self.classifier}",
                 f"Relation:     {self.relation}", f"Instances:    {self.n_instances}",
                 f"Attributes:   {len(self.attributes)}"]
        lines += [f"              {name}" for name in self.attributes]
        lines.append(f"Test mode:    {self.test_mode}")
        return "\n".join(lines) + "\n"

    def explorer_text(self, run_information: bool = True) -> str:
        """The Explorer's output: run information (optional), the mode's heading and Weka's block."""
        head = self.run_information() + "\n" if run_information else ""
        return f"{head}{self.title}\n{self.weka_text()}"

    def to_dict(self) -> dict[str, Any]:
        """Every number and setting, JSON-able (NaN becomes None)."""
        return {
            "classifier": self.classifier, "mode": self.mode, "seed": self.seed, "folds": self.folds,
            "split_percentage": self.split_percentage, "preserve_order": self.preserve_order,
            "grouping": self.grouping, "relation": self.relation, "n_instances": self.n_instances,
            "labels": list(self.labels),
            "statistics": {name: json_number(value) for name, value in self.statistics.items()},
            "class_statistics": {name: [json_number(v) for v in values]
                                 for name, values in self.class_statistics.items()},
            "confusion_matrix": [[json_number(v) for v in row] for row in self.confusion_matrix],
            "train_counts": [[json_number(v) for v in row] for row in self.predictions.train_counts],
            "weka_text": {"summary": self.summary_text, "class_details": self.class_details_text,
                          "matrix": self.matrix_text},
        }


def make_classifier(classifier: str):
    """A configured (untrained) Weka classifier from a command line like ``"weka.classifiers.trees.J48 -C 0.25"``.

    Split by :func:`wekawbc.weka.classifiers.split_classifier_command` and created by
    :func:`wekawbc.weka.classifiers.new_classifier`, as :class:`~wekawbc.weka.sklearn.WekaClassifier` does.

    Raises
    ------
    WekawbcError
        With Weka's own message: an unknown class, a class that is not a classifier, bad options.
    """
    text = " ".join(str(classifier).split())
    name, options = split_classifier_command(text)
    return new_classifier(name, options, f"classifier '{text}'")


def _evaluation_numbers(evaluation, n_classes: int) -> tuple[dict[str, float], dict[str, np.ndarray], np.ndarray]:
    statistics = {}
    for getter, name in _SUMMARY_GETTERS:
        statistics[name] = float(getattr(evaluation, getter)())
    per_class = {name: np.array([float(getattr(evaluation, getter)(k)) for k in range(n_classes)])
                 for getter, name in _CLASS_GETTERS}
    matrix = np.array([[float(v) for v in row] for row in evaluation.confusionMatrix()], dtype=np.float64)
    return statistics, per_class, matrix


def _class_weights(instances, n_classes: int) -> np.ndarray:
    """Summed weight per class of Java ``instances``, added in Weka's order as ``setPriors`` does."""
    class_index = instances.classIndex()
    values = np.asarray(instances.attributeToDoubleArray(class_index))
    known = ~np.isnan(values)
    if instances.allInstanceWeightsIdentical() and (instances.numInstances() == 0
                                                    or instances.instance(0).weight() == 1.0):
        return np.bincount(values[known].astype(np.int64), minlength=n_classes).astype(np.float64)
    counts = [0.0] * n_classes
    for i in range(instances.numInstances()):
        if known[i]:
            counts[int(values[i])] += float(instances.instance(i).weight())
    return np.array(counts)


def _collect(evaluation, start: int, fold: int, rows: dict[str, list]) -> int:
    """Copy Weka's recorded predictions from index ``start`` on into ``rows``; returns the new length."""
    recorded = evaluation.predictions()
    end = int(recorded.size())
    for i in range(start, end):
        prediction = recorded.get(i)
        actual = float(prediction.actual())
        rows["actual"].append(-1 if math.isnan(actual) else int(actual))
        rows["distribution"].append(np.asarray(prediction.distribution(), dtype=np.float64))
        rows["weight"].append(float(prediction.weight()))
        rows["fold"].append(fold)
    return end


def _check_small_classes(data, folds: int, labels: tuple[str, ...]) -> None:
    values = np.asarray(data.attributeToDoubleArray(data.classIndex()))
    codes = np.where(np.isnan(values), -1, values).astype(np.int64)
    for note in small_class_notes(codes, labels, folds):
        warnings.warn(note, SmallClassWarning, stacklevel=4)  # point at the caller of run_classifier


def run_classifier(data, classifier: str, *, folds: int | None = None, split: float | None = None,
                   test=None, preserve_order: bool = False, seed: int = 1,
                   class_name: str | None = None, groups=None) -> WekaRun:
    """Train and evaluate a Weka classifier exactly as Weka's Explorer and command line do.

    Parameters
    ----------
    data : str, PathLike, DataFrame or Instances
        Training data (see :func:`wekawbc.weka.load_instances`).
    classifier : str
        Weka class name and options, e.g. ``"weka.classifiers.trees.J48 -C 0.25 -M 2"``.
    folds : int, optional
        Stratified k-fold cross-validation (the default, with 10 folds, when neither ``split`` nor
        ``test`` is given).
    split : float, optional
        Percentage split: this percentage (0 < split < 100) trains, the rest tests.
    test : str, PathLike, DataFrame or Instances, optional
        A supplied test set with the same attributes as ``data``.
    preserve_order : bool, default=False
        For ``split``: keep the data's order instead of randomizing it first.
    seed : int, default=1
        Seed of ``java.util.Random`` for the folds / split, as Weka's ``-s``.
    class_name : str, optional
        The class attribute; the last attribute by default.
    groups : sequence, optional
        Cross-validation only: one group key per instance (its image, slide, patient). A group's
        instances always share a fold (:func:`wekawbc.protocol.folds.grouped_cv_train_test_indices`:
        Weka's randomize and stratify applied to the groups); with one instance per group the folds
        are Weka's own. ``WekaRun.grouping`` says when grouping changed them.

    Returns
    -------
    WekaRun

    Raises
    ------
    WekawbcError
        Bad data (see ``load_instances``), an unknown classifier or bad options (Weka's message), an
        invalid mode, fewer instances than folds (Weka: "Can't have more folds than instances!"), a
        split leaving no training or test instance, or an error Weka raises while training.

    Warns
    -----
    SmallClassWarning
        A class has fewer instances than folds: Weka runs anyway, and its stratification leaves
        that class out of some test folds.
    """
    chosen = [name for name, value in (("folds", folds), ("split", split), ("test", test)) if value is not None]
    if len(chosen) > 1:
        raise WekawbcError(f"choose one evaluation: {' or '.join(chosen)} were all given")
    if not chosen:
        folds = 10
    seed = int(seed)
    train = load_instances(data, class_name).jobject
    classifier_object = make_classifier(classifier)
    from jpype import JClass, JException

    scheme = str(JClass("weka.core.Utils").toCommandLine(classifier_object))
    labels = tuple(str(v) for v in train.classAttribute().enumerateValues())
    relation = str(train.relationName())
    attributes = tuple(str(train.attribute(i).name()) for i in range(train.numAttributes()))
    if groups is not None and (split is not None or test is not None):
        raise WekawbcError("groups apply to cross-validation only")
    try:
        if groups is not None:
            mode, (evaluation, rows, counts, row_ids) = "cross-validation", _cross_validate_grouped(
                train, classifier_object, int(folds), seed, labels, groups)
        elif split is not None:
            mode, (evaluation, rows, counts) = "split", _split(train, classifier_object, float(split), seed, preserve_order)
        elif test is not None:
            mode, (evaluation, rows, counts) = "test", _supplied_test(train, test, classifier_object, class_name)
        else:
            mode, (evaluation, rows, counts) = "cross-validation", _cross_validate(
                train, classifier_object, int(folds), seed, labels)
        summary = str(evaluation.toSummaryString("=== Summary ===\n", False))
        details = str(evaluation.toClassDetailsString())
        matrix_text = str(evaluation.toMatrixString())
    except JException as error:
        raise java_error(error, f"{scheme} on '{relation}'") from None
    statistics, per_class, matrix = _evaluation_numbers(evaluation, len(labels))
    distribution = np.vstack(rows["distribution"]) if rows["distribution"] else np.empty((0, len(labels)))
    actual = np.array(rows["actual"], dtype=np.int64)
    if groups is None:
        row_ids = _row_ids(train, mode, folds, split, seed, preserve_order, len(actual))
    if mode != "test":
        _check_rows(train, row_ids, actual)
    predictions = Predictions(labels, actual, distribution, np.array(rows["weight"]),
                              np.array(rows["fold"], dtype=np.int64), np.vstack(counts),
                              tuple(str(i) for i in row_ids))
    return WekaRun(
        classifier=scheme, mode=mode, seed=seed, folds=int(folds) if mode == "cross-validation" else None,
        split_percentage=float(split) if mode == "split" else None,
        preserve_order=bool(preserve_order) if mode == "split" else False, relation=relation,
        attributes=attributes, n_instances=int(train.numInstances()), predictions=predictions,
        summary_text=summary, class_details_text=details, matrix_text=matrix_text, statistics=statistics,
        class_statistics=per_class, confusion_matrix=matrix, java_evaluation=evaluation,
        grouping=None if groups is None else grouping_note(groups, int(folds)),
    )


def _row_ids(train, mode: str, folds, split, seed: int, preserve_order: bool, n_predictions: int):
    """Row (0-based) of the data behind each prediction: of the training data, or of the supplied test set."""
    if mode == "test":
        return np.arange(n_predictions)
    if mode == "split":
        return split_indices(int(train.numInstances()), float(split), seed, preserve_order)[1]
    y = np.asarray(train.attributeToDoubleArray(train.classIndex()))
    return np.concatenate([test for _, test in cv_train_test_indices(y, int(folds), seed)])


def _check_rows(train, row_ids: np.ndarray, actual: np.ndarray) -> None:
    # The pure-Python folds must reproduce Weka's: every prediction's class must be its row's class.
    if actual.shape[0] != row_ids.shape[0]:
        raise RuntimeError(f"Weka recorded {actual.shape[0]} predictions for {row_ids.shape[0]} test rows")
    if row_ids.size:
        y = np.asarray(train.attributeToDoubleArray(train.classIndex()))[row_ids]
        if not np.array_equal(np.where(np.isnan(y), -1, y).astype(np.int64), actual):
            raise RuntimeError("wekawbc.protocol.folds disagrees with Weka's folds; please report this bug")


def _empty_rows() -> dict[str, list]:
    return {"actual": [], "distribution": [], "weight": [], "fold": []}


def _cross_validate(data, classifier, folds: int, seed: int, labels: tuple[str, ...]):
    """``Evaluation.crossValidateModel``, fold by fold, keeping each fold's predictions and priors."""
    from jpype import JClass

    if folds < 2:
        raise WekawbcError(f"{folds} folds: Weka needs at least 2 (\"Number of folds must be greater than 1\")")
    n = int(data.numInstances())
    if n < folds:
        raise WekawbcError(f"'{data.relationName()}' has {n} instances, fewer than {folds} folds; Weka stops "
                           "with \"Can't have more folds than instances!\" (use fewer folds)")
    _check_small_classes(data, folds, labels)
    Instances = JClass("weka.core.Instances")
    AbstractClassifier = JClass("weka.classifiers.AbstractClassifier")
    random = JClass("java.util.Random")(seed)
    data = Instances(data)
    data.randomize(random)
    data.stratify(folds)
    evaluation = JClass("weka.classifiers.evaluation.Evaluation")(data)
    rows, counts, recorded = _empty_rows(), [], 0
    for fold in range(folds):
        train = data.trainCV(folds, fold, random)
        evaluation.setPriors(train)
        counts.append(_class_weights(train, len(labels)))
        model = AbstractClassifier.makeCopy(classifier)
        model.buildClassifier(train)
        evaluation.evaluateModel(model, data.testCV(folds, fold))
        recorded = _collect(evaluation, recorded, fold, rows)
    return evaluation, rows, counts


def _cross_validate_grouped(data, classifier, folds: int, seed: int, labels: tuple[str, ...], groups):
    """Cross-validation on :func:`~wekawbc.protocol.folds.grouped_cv_train_test_indices`' folds, fold by fold as
    ``crossValidateModel`` does (priors from each training part, a fresh copy of the classifier)."""
    from jpype import JClass

    n = int(data.numInstances())
    if len(groups) != n:
        raise WekawbcError(f"groups names {len(groups)} instances, '{data.relationName()}' has {n}")
    _check_small_classes(data, folds, labels)
    y = np.asarray(data.attributeToDoubleArray(data.classIndex()))
    try:
        splits = grouped_cv_train_test_indices(y, list(groups), folds, seed)
    except ValueError as error:
        raise WekawbcError(str(error)) from None
    Instances = JClass("weka.core.Instances")
    AbstractClassifier = JClass("weka.classifiers.AbstractClassifier")
    evaluation = JClass("weka.classifiers.evaluation.Evaluation")(data)

    def subset(indices: np.ndarray):
        part = Instances(data, int(indices.size))
        for i in indices:
            part.add(data.instance(int(i)))
        return part

    rows, counts, recorded = _empty_rows(), [], 0
    for fold, (train_rows, test_rows) in enumerate(splits):
        train = subset(train_rows)
        evaluation.setPriors(train)
        counts.append(_class_weights(train, len(labels)))
        model = AbstractClassifier.makeCopy(classifier)
        model.buildClassifier(train)
        evaluation.evaluateModel(model, subset(test_rows))
        recorded = _collect(evaluation, recorded, fold, rows)
    return evaluation, rows, counts, np.concatenate([test for _, test in splits])


def _split(data, classifier, percentage: float, seed: int, preserve_order: bool):
    """The Explorer's percentage split (and the command line's ``-split-percentage``)."""
    from jpype import JClass

    if not 0 < percentage < 100:
        raise WekawbcError(f"split percentage {percentage} must lie strictly between 0 and 100")
    Instances = JClass("weka.core.Instances")
    data = Instances(data)
    if not preserve_order:
        data.randomize(JClass("java.util.Random")(seed))
    n = int(data.numInstances())
    train_size = int(JClass("java.lang.Math").round(n * percentage / 100))
    if train_size == 0 or train_size == n:
        raise WekawbcError(f"a {percentage}% split of {n} instances leaves {'no training' if train_size == 0 else 'no test'} "
                           "instances")
    train = Instances(data, 0, train_size)
    test = Instances(data, train_size, n - train_size)
    model = JClass("weka.classifiers.AbstractClassifier").makeCopy(classifier)
    model.buildClassifier(train)
    return _evaluate_holdout(model, train, test)


def _supplied_test(train, test_source, classifier, class_name: str | None):
    """Train on all of ``train``, evaluate on a supplied test set (priors from the training data)."""
    from jpype import JClass

    test = load_instances(test_source, class_name or str(train.classAttribute().name())).jobject
    message = train.equalHeadersMsg(test)
    if message is not None:
        raise WekawbcError(f"test set '{test.relationName()}' does not match the training data: "
                           f"{' '.join(str(message).split())}")
    model = JClass("weka.classifiers.AbstractClassifier").makeCopy(classifier)
    model.buildClassifier(train)
    return _evaluate_holdout(model, train, test)


def _evaluate_holdout(model, train, test):
    from jpype import JClass

    evaluation = JClass("weka.classifiers.evaluation.Evaluation")(train)
    evaluation.evaluateModel(model, test)
    rows = _empty_rows()
    _collect(evaluation, 0, 0, rows)
    return evaluation, rows, [_class_weights(train, train.numClasses())]

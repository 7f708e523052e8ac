"""Imbalance strategies, chosen by name, for Weka's feature classifiers and the CNN.

Every strategy acts inside ``fit``, so under cross-validation it sees only the training fold; the
test fold is predicted untouched and scored by the one evaluation engine.

=================  ========================================================================  =========
name               what happens to the training fold                                          for
=================  ========================================================================  =========
``none``           nothing                                                                    both
``weights``        instance weights ``W / (K * W_c)``: every class gets the same total        both
                   weight (Weka's ClassBalancer formula; the CNN weights its loss alike)
``class_balancer`` Weka's ``weka.filters.supervised.instance.ClassBalancer`` inside           features
                   ``weka.classifiers.meta.FilteredClassifier``
``cost_sensitive`` Weka's ``weka.classifiers.meta.CostSensitiveClassifier`` with a cost        features
                   matrix from the fold's class frequencies (:func:`inverse_frequency_costs`)
``smote``          imbalanced-learn's SMOTE (every class oversampled to the largest), with    features
                   ``k_neighbors`` capped by the smallest class, in an imblearn ``Pipeline``
``sampler``        class-balanced sampling of mini-batches (implemented by the CNN)           cnn
=================  ========================================================================  =========

:func:`make_estimator` turns a strategy name and a Weka classifier command into the scikit-learn
estimator (or pipeline) to hand to :func:`wekawbc.weka.sklearn.cross_validate_predictions`,
``cross_val_score`` or ``GridSearchCV``; the base classifier is always its ``classifier``
parameter (``weka__classifier`` in the SMOTE pipeline).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from imblearn.utils import check_sampling_strategy
from sklearn.base import BaseEstimator

from wekawbc._io import WekawbcError
from wekawbc.protocol.weights import (balanced_class_weights, balanced_sample_weights, class_totals,
                                      inverse_frequency_costs)
from wekawbc.weka.sklearn import WekaClassifier, split_command

__all__ = ["STRATEGIES", "Strategy", "AdaptiveSMOTE", "ClassBalancedWekaClassifier", "CostSensitiveWekaClassifier",
           "balanced_class_weights", "balanced_sample_weights", "get_strategy", "inverse_frequency_costs",
           "make_estimator"]


@dataclass(frozen=True)
class Strategy:
    """One imbalance strategy: its name, what it does, and which classifiers offer it."""

    name: str
    description: str
    applies_to: tuple[str, ...]
    """``"features"`` (Weka classifiers on features), ``"cnn"``, or both."""

    def to_dict(self) -> dict:
        """The record written into a run's outputs."""
        return {"name": self.name, "description": self.description, "applies_to": list(self.applies_to)}


STRATEGIES: dict[str, Strategy] = {s.name: s for s in (
    Strategy("none", "no imbalance handling", ("features", "cnn")),
    Strategy("weights", "instance weights W/(K*W_c) giving every class the same total weight "
                        "(class-weighted loss for the CNN)", ("features", "cnn")),
    Strategy("class_balancer", "Weka FilteredClassifier with weka.filters.supervised.instance.ClassBalancer",
             ("features",)),
    Strategy("cost_sensitive", "Weka CostSensitiveClassifier, cost of misclassifying class i = W_max/W_i "
                               "(training-fold class weights), reweighting mode", ("features",)),
    Strategy("smote", "imbalanced-learn SMOTE (all classes up to the largest, k_neighbors capped by the "
                      "smallest class) before the classifier, in an imblearn Pipeline", ("features",)),
    Strategy("sampler", "class-balanced sampling of training mini-batches", ("cnn",)),
)}


def get_strategy(name: str, applies_to: str | None = None) -> Strategy:
    """The strategy called ``name``; with ``applies_to`` (``"features"`` or ``"cnn"``) it must offer that.

    Raises
    ------
    WekawbcError
        Naming the valid choices.
    """
    valid = [s.name for s in STRATEGIES.values() if applies_to is None or applies_to in s.applies_to]
    if name not in valid:
        scope = f" for {applies_to}" if applies_to else ""
        raise WekawbcError(f"unknown imbalance strategy '{name}'{scope}; choose one of {', '.join(valid)}")
    return STRATEGIES[name]


def _matlab_matrix(matrix: np.ndarray) -> str:
    """Weka's single-line Matlab form of a matrix, ``[0.0 2.5; 1.0 0.0]``, at full precision."""
    return "[" + "; ".join(" ".join(repr(float(v)) for v in row) for row in matrix) + "]"


class _SelfBalancingWekaClassifier(WekaClassifier):
    """A WekaClassifier whose Weka meta classifier balances the classes itself.

    It has no ``class_weight``: the balancing would cancel any class weights given.
    """

    def __init__(self, classifier: str = "weka.classifiers.trees.J48", options: str | Sequence[str] | None = None,
                 classes: Sequence | None = None) -> None:
        self.classifier = classifier
        self.options = options
        self.classes = classes

    def _training_weights(self, codes: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
        return sample_weight


class ClassBalancedWekaClassifier(_SelfBalancingWekaClassifier):
    """``classifier`` trained inside Weka's FilteredClassifier behind the ClassBalancer filter.

    Parameters ``classifier``, ``options`` (the base classifier) and ``classes`` are those of
    :class:`~wekawbc.weka.sklearn.WekaClassifier`. ``weka_model_`` is the FilteredClassifier.
    """

    def _training_command(self, codes: np.ndarray, weights: np.ndarray) -> tuple[str, list[str]]:
        classname, options = split_command(self.classifier, self.options)
        return "weka.classifiers.meta.FilteredClassifier", [
            "-F", "weka.filters.supervised.instance.ClassBalancer", "-W", classname, "--", *options]


class CostSensitiveWekaClassifier(_SelfBalancingWekaClassifier):
    """``classifier`` inside Weka's CostSensitiveClassifier, costs from each training set's class frequencies.

    The cost matrix is :func:`inverse_frequency_costs` of the class weight totals of the data given
    to ``fit`` (under cross-validation: the training fold), stored as ``cost_matrix_``.

    Parameters
    ----------
    classifier, options, classes
        As for :class:`~wekawbc.weka.sklearn.WekaClassifier`; ``classifier`` is the base classifier.
    minimize_expected_cost : bool, default=False
        Weka's ``-M``: predict the class of least expected cost (0/1 distributions) instead of
        reweighting the training instances.
    """

    def __init__(self, classifier: str = "weka.classifiers.trees.J48", options: str | Sequence[str] | None = None,
                 classes: Sequence | None = None, minimize_expected_cost: bool = False) -> None:
        super().__init__(classifier=classifier, options=options, classes=classes)
        self.minimize_expected_cost = minimize_expected_cost

    def _training_command(self, codes: np.ndarray, weights: np.ndarray) -> tuple[str, list[str]]:
        classname, options = split_command(self.classifier, self.options)
        self.cost_matrix_ = inverse_frequency_costs(class_totals(codes, len(self.classes_), weights))
        mode = ["-M"] if self.minimize_expected_cost else []
        return "weka.classifiers.meta.CostSensitiveClassifier", [
            "-cost-matrix", _matlab_matrix(self.cost_matrix_), *mode, "-W", classname, "--", *options]


class AdaptiveSMOTE(BaseEstimator):
    """imbalanced-learn's SMOTE whose ``k_neighbors`` is capped by the smallest class to oversample.

    A fold's smallest class may hold fewer than ``k_neighbors + 1`` instances; SMOTE then fails.
    Here the neighbours used are ``min(k_neighbors, n_smallest - 1)``, stored as ``k_neighbors_``,
    and a plain :class:`imblearn.over_sampling.SMOTE` with that many neighbours does the work.

    Parameters
    ----------
    sampling_strategy, random_state :
        As for SMOTE.
    k_neighbors : int, default=5
        The neighbours SMOTE would use; at least 1.

    Raises
    ------
    WekawbcError
        When a class to oversample has a single instance (SMOTE needs two).
    """

    def __init__(self, *, sampling_strategy="auto", random_state=None, k_neighbors: int = 5) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors

    def fit_resample(self, X, y):
        """Oversample ``X, y`` (the fitted SMOTE is kept as ``smote_``)."""
        if not isinstance(self.k_neighbors, numbers.Integral) or self.k_neighbors < 1:
            raise ValueError(f"k_neighbors must be an int >= 1; got {self.k_neighbors!r}")
        targets = check_sampling_strategy(self.sampling_strategy, np.asarray(y), "over-sampling")
        sizes = {label: int(np.sum(np.asarray(y) == label)) for label, n_new in targets.items() if n_new > 0}
        self.k_neighbors_ = self.k_neighbors
        if sizes:
            label, smallest = min(sizes.items(), key=lambda item: item[1])
            if smallest < 2:
                raise WekawbcError(f"SMOTE cannot oversample class '{label}': the training data hold only "
                                   f"{smallest} instance of it (2 needed)")
            self.k_neighbors_ = min(self.k_neighbors, smallest - 1)
        self.smote_ = SMOTE(sampling_strategy=self.sampling_strategy, random_state=self.random_state,
                            k_neighbors=self.k_neighbors_)
        return self.smote_.fit_resample(X, y)


def make_estimator(strategy: str, classifier: str = "weka.classifiers.trees.J48", *, seed: int = 1,
                   k_neighbors: int = 5, classes: Sequence | None = None):
    """The scikit-learn estimator that trains ``classifier`` with imbalance strategy ``strategy``.

    Parameters
    ----------
    strategy : str
        A feature-classifier strategy of :data:`STRATEGIES`: ``none``, ``weights``, ``class_balancer``,
        ``cost_sensitive`` or ``smote``.
    classifier : str, default="weka.classifiers.trees.J48"
        Weka's command line for the base classifier.
    seed : int, default=1
        Random seed of SMOTE (the Weka classifiers take theirs from their own options).
    k_neighbors : int, default=5
        SMOTE's neighbours, capped per training set by the smallest class.
    classes : sequence of labels, optional
        Weka's class values in the data set's order (see :class:`WekaClassifier`); default: sorted labels.

    Returns
    -------
    estimator
        A :class:`WekaClassifier` (or subclass), or for ``smote`` an imblearn ``Pipeline`` of steps
        ``smote`` and ``weka``. Fit it on training data only; resampling then never sees test rows.

    Raises
    ------
    WekawbcError
        For an unknown strategy, or ``sampler`` (a CNN strategy).
    """
    get_strategy(strategy, "features")
    if strategy == "none":
        return WekaClassifier(classifier, classes=classes)
    if strategy == "weights":
        return WekaClassifier(classifier, class_weight="balanced", classes=classes)
    if strategy == "class_balancer":
        return ClassBalancedWekaClassifier(classifier, classes=classes)
    if strategy == "cost_sensitive":
        return CostSensitiveWekaClassifier(classifier, classes=classes)
    return Pipeline([("smote", AdaptiveSMOTE(random_state=seed, k_neighbors=k_neighbors)),
                     ("weka", WekaClassifier(classifier, classes=classes))])

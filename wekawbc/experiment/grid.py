"""The experiment grid: every scheme (classifier × imbalance strategy) on every fold of every repetition.

A fold task is a plain function of numpy arrays — the feature matrix (or the CNN's crops), the
class codes, and Weka's training and test indices for that fold — returning the class
distributions of the test rows. The same function runs in this process or on a Dask worker, so
the results are identical wherever they run. Folds are Weka's: for cross-validation with seed
``s`` the test folds of ``randomize(new Random(s))`` + ``stratify`` and the training rows in the
order ``trainCV`` gives them (:func:`wekawbc.protocol.folds.cv_train_test_indices`); for a percentage
split, :func:`wekawbc.protocol.folds.split_indices`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from wekawbc.imbalance import STRATEGIES as _STRATEGY_TABLE
from wekawbc.predictions import Predictions, fold_train_counts

if TYPE_CHECKING:
    from wekawbc.cnn.settings import TrainSettings

__all__ = ["STRATEGIES", "WEKA_STRATEGIES", "CNN_STRATEGIES", "FoldPlan", "plan_folds", "weka_fold",
           "cnn_fold_settings", "cnn_fold", "assemble_predictions"]

STRATEGIES: tuple[str, ...] = tuple(_STRATEGY_TABLE)
WEKA_STRATEGIES: tuple[str, ...] = tuple(n for n, s in _STRATEGY_TABLE.items() if "features" in s.applies_to)
CNN_STRATEGIES: tuple[str, ...] = tuple(n for n, s in _STRATEGY_TABLE.items() if "cnn" in s.applies_to)


@dataclass(frozen=True)
class FoldPlan:
    """One fold of one repetition: Weka's training rows (in Weka's order) and test rows."""

    repetition: int
    """From 1, as Weka's Experimenter numbers runs."""
    seed: int
    fold: int
    """From 0."""
    train: np.ndarray
    test: np.ndarray


def plan_folds(codes: np.ndarray, seed: int, folds: int | None = None, split: float | None = None,
               repetition: int = 1) -> list[FoldPlan]:
    """Weka's folds (``folds``) or percentage split (``split``) of the data for one repetition."""
    from wekawbc.protocol.folds import cv_train_test_indices, split_indices

    if split is not None:
        train, test = split_indices(len(codes), split, seed)
        return [FoldPlan(repetition, seed, 0, train, test)]
    return [FoldPlan(repetition, seed, f, train, test)
            for f, (train, test) in enumerate(cv_train_test_indices(codes, int(folds), seed))]


def _columns(classes: Any, labels: tuple[str, ...]) -> np.ndarray:
    index = {label: k for k, label in enumerate(labels)}
    return np.array([index[str(c)] for c in np.asarray(classes).tolist()], dtype=np.int64)


def weka_fold(command: str, strategy: str, X: np.ndarray, codes: np.ndarray, labels: tuple[str, ...],
              train: np.ndarray, test: np.ndarray, seed: int) -> np.ndarray:
    """Train a Weka classifier (with its imbalance strategy) on ``train`` rows; distributions of ``test`` rows."""
    from wekawbc.imbalance import make_estimator
    from wekawbc.weka.jvm import start

    start()
    # Weka's nominal class gets the data set's names *and* order, exactly as in the ARFF. Both
    # matter to Weka: Logistic takes the last class as its reference, and RandomForest seeds itself
    # from the text of an instance, class name included.
    model = make_estimator(strategy, command, seed=seed, classes=labels)
    model.fit(X[train], np.asarray(labels, dtype=object)[codes[train]])
    distribution = np.zeros((len(test), len(labels)))
    distribution[:, _columns(model.classes_, labels)] = model.predict_proba(X[test])
    return distribution


def cnn_fold_settings(settings: dict[str, Any], strategy: str, seed: int) -> "TrainSettings":
    """The CNN's full training settings for one fold: the configured ones, the strategy as its balance, the seed."""
    from wekawbc.cnn.settings import TrainSettings

    # One thread per fold unless configured: the grid runs folds side by side.
    return TrainSettings.from_dict({"threads": 1, **settings, "balance": strategy, "seed": seed})


def cnn_fold(settings: dict[str, Any], strategy: str, images: np.ndarray, codes: np.ndarray,
             labels: tuple[str, ...], train: np.ndarray, test: np.ndarray, seed: int) -> np.ndarray:
    """Train the CNN from scratch on ``train`` crops (``strategy`` as its balance); distributions of ``test`` crops."""
    from wekawbc.cnn.training import predict_proba, train_cnn

    resolved = cnn_fold_settings(settings, strategy, seed)
    model = train_cnn(images[train], codes[train], labels, resolved)
    distribution = np.zeros((len(test), len(labels)))
    distribution[:, _columns(model.labels, labels)] = predict_proba(model, images[test], threads=resolved.threads)
    return distribution


def assemble_predictions(labels: tuple[str, ...], codes: np.ndarray, plans: list[FoldPlan],
                         distributions: list[np.ndarray], ids: tuple[str, ...] | None = None) -> Predictions:
    """Pool the test rows of one repetition's folds into :class:`Predictions`.

    Rows come in the data's order for cross-validation (every row is tested once) and in Weka's
    test order for a split; ``train_counts`` holds each fold's training class counts (Weka's priors).
    """
    n_labels = len(labels)
    order = np.concatenate([plan.test for plan in plans])
    fold = np.concatenate([np.full(len(plan.test), plan.fold) for plan in plans])
    distribution = np.concatenate(distributions) if distributions else np.zeros((0, n_labels))
    if len(plans) > 1:
        rank = np.argsort(order, kind="stable")
        order, fold, distribution = order[rank], fold[rank], distribution[rank]
    train_counts = fold_train_counts(codes, [plan.train for plan in plans], n_labels)
    return Predictions(labels, codes[order], distribution, np.ones(len(order)), fold, train_counts,
                       None if ids is None else tuple(np.asarray(ids, dtype=object)[order]))

"""The CNN scored exactly like a Weka classifier: Weka's folds (or split), the shared ``Predictions``.

Fold assignment comes from :mod:`wekawbc.protocol.folds` (Weka's ``randomize`` + ``stratify`` in pure
Python), applied to the instances in the data set's record order (after any subsampling): the same
order the ARFF of handcrafted features lists them in, so the CNN and a Weka classifier run on that
ARFF with the same seed see identical test folds. Predictions come out in Weka's order (fold by
fold, in Weka's stratified order), with per-fold training class counts for Weka's priors.

Each fold trains a fresh network on its training part only; its early-stopping split is drawn from
that training part, and nothing of the test fold reaches training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from wekawbc._io import WekawbcError
from wekawbc.cnn.training import TrainedCnn, TrainSettings, adapt_batch_norm, predict_proba, train_cnn
from wekawbc.predictions import Predictions, fold_train_counts
from wekawbc.protocol.folds import (cv_train_test_indices, grouped_cv_train_test_indices, grouping_note,
                                small_class_notes, split_indices)

#: Rounds of ``adapt_bn="balanced"`` (as measured in docs/cross_lab.md).
BALANCED_ROUNDS = 2

__all__ = ["BALANCED_ROUNDS", "CnnEvaluation", "cross_validate_cnn", "external_test_cnn", "holdout_cnn"]


@dataclass
class CnnEvaluation:
    """Predictions of a CNN evaluation and what happened on the way.

    Attributes
    ----------
    predictions : Predictions
        All test instances, Weka's order, with ``fold``, ``train_counts`` and ``ids`` (image paths).
    notes : list of str
        Remarks to show the user (classes with fewer instances than folds, per-fold stop reasons).
    fold_models : list of dict
        Per fold: best epoch, epochs run, stop reason, training counts.
    """

    predictions: Predictions
    notes: list[str] = field(default_factory=list)
    fold_models: list[dict] = field(default_factory=list)


def _check_labelled(y: np.ndarray, labels: tuple[str, ...]) -> None:
    if (y < 0).any():
        raise WekawbcError(f"{int((y < 0).sum())} image(s) have no class; evaluation needs labelled data")
    present = np.unique(y)
    if present.size < 2:
        raise WekawbcError(f"the data hold one class only ({labels[present[0]]}); "
                           "evaluating a classifier needs at least two")


def _fold_record(fold: int, model: TrainedCnn) -> dict:
    return {"fold": fold, "best_epoch": model.best_epoch, "epochs_run": len(model.history),
            "stop_reason": model.stop_reason, "train_counts": list(model.train_counts)}


def _run(images: np.ndarray, y: np.ndarray, labels: tuple[str, ...], ids: tuple[str, ...],
         splits: list[tuple[np.ndarray, np.ndarray]], settings: TrainSettings, progress: bool,
         on_batch: Callable[[int, tuple[str, ...]], None] | None) -> CnnEvaluation:
    from wekawbc._progress import progress_bar

    distributions, folds, order = [], [], []
    evaluation = CnnEvaluation(predictions=None)  # type: ignore[arg-type]
    for fold, (train, test) in enumerate(progress_bar(splits, desc="folds", unit="fold", enabled=progress and len(splits) > 1)):
        hook = None if on_batch is None else (lambda batch_ids, f=fold: on_batch(f, batch_ids))
        model = train_cnn(images[train], y[train], labels, settings, ids=[ids[i] for i in train],
                          progress=progress, on_batch=hook)
        distributions.append(predict_proba(model, images[test], threads=settings.threads))
        folds.append(np.full(test.size, fold))
        order.append(test)
        evaluation.fold_models.append(_fold_record(fold, model))
        if "NaN" in model.stop_reason:
            evaluation.notes.append(f"fold {fold}: {model.stop_reason}")
    index = np.concatenate(order)
    train_counts = fold_train_counts(y, [train for train, _ in splits], len(labels))
    evaluation.predictions = Predictions(labels, y[index], np.concatenate(distributions), None,
                                         np.concatenate(folds), train_counts, tuple(ids[i] for i in index))
    return evaluation


def cross_validate_cnn(images: np.ndarray, y: np.ndarray, labels: tuple[str, ...], ids: tuple[str, ...], *,
                       n_folds: int = 10, seed: int = 1, settings: TrainSettings | None = None,
                       progress: bool = False,
                       on_batch: Callable[[int, tuple[str, ...]], None] | None = None,
                       groups=None) -> CnnEvaluation:
    """Weka-style stratified ``n_folds`` cross-validation of the CNN with seed ``seed``.

    Parameters
    ----------
    images, y, labels, ids :
        Preprocessed crops in the data set's record order (see :class:`~wekawbc.cnn.images.CropSet`).
    n_folds, seed :
        As Weka's ``-x`` and ``-s``: the folds equal Weka's for the same instance order.
    settings : TrainSettings, optional
        Network training settings (its own ``seed`` seeds training, the same for every fold).
    on_batch : callable, optional
        ``on_batch(fold, ids)`` for every training batch (leakage checks).
    groups : sequence, optional
        One group key per instance (its image, slide or patient): a group's instances always share a
        fold (:func:`wekawbc.protocol.folds.grouped_cv_train_test_indices`); a note says when this changed
        the folds.

    Raises
    ------
    WekawbcError
        Unlabelled instances, a single class, or more folds than instances.
    """
    y = np.asarray(y, dtype=np.int64)
    _check_labelled(y, labels)
    try:
        splits = (cv_train_test_indices(y, n_folds, seed) if groups is None
                  else grouped_cv_train_test_indices(y, groups, n_folds, seed))
    except ValueError as error:
        raise WekawbcError(str(error)) from None
    result = _run(images, y, labels, ids, splits, settings or TrainSettings(), progress, on_batch)
    note = None if groups is None else grouping_note(groups, n_folds)
    result.notes[:0] = small_class_notes(y, labels, n_folds) + ([note] if note else [])
    return result


def holdout_cnn(images: np.ndarray, y: np.ndarray, labels: tuple[str, ...], ids: tuple[str, ...], *,
                percentage: float = 66.0, seed: int = 1, preserve_order: bool = False,
                settings: TrainSettings | None = None, progress: bool = False,
                on_batch: Callable[[int, tuple[str, ...]], None] | None = None) -> CnnEvaluation:
    """Weka's percentage split (``-split-percentage``, randomized with ``seed`` unless ``preserve_order``)."""
    y = np.asarray(y, dtype=np.int64)
    _check_labelled(y, labels)
    try:
        train, test = split_indices(len(y), percentage, seed, preserve_order)
    except ValueError as error:
        raise WekawbcError(str(error)) from None
    if np.unique(y[train]).size < 2:
        raise WekawbcError(f"the {train.size} training instances of the {percentage:g}% split hold one class only")
    return _run(images, y, labels, ids, [(train, test)], settings or TrainSettings(), progress, on_batch)



def external_test_cnn(train_images: np.ndarray, train_y: np.ndarray, labels: tuple[str, ...],
                      train_ids: tuple[str, ...], tests: list[tuple[np.ndarray, np.ndarray, tuple[str, ...]]], *,
                      settings: TrainSettings | None = None, progress: bool = False,
                      on_batch: Callable[[int, tuple[str, ...]], None] | None = None,
                      adapt_bn: str | None = None) -> tuple[TrainedCnn, list[CnnEvaluation]]:
    """Train once on one data set and test on others (Weka's ``-T``): the cross-lab evaluation.

    Parameters
    ----------
    train_images, train_y, labels, train_ids :
        The training crops (one lab, or several pooled).
    tests : list of (images, y, ids)
        Each external test set, prepared with the same input options.
    adapt_bn : {None, "all", "balanced"}
        Score each test set with the batch-norm statistics of its own images
        (:func:`~wekawbc.cnn.training.adapt_batch_norm`: unsupervised, no label used): of all of
        them, or ``balanced`` at an equal predicted class mix (2 rounds, seed 1); the returned
        model keeps the training statistics.

    Returns
    -------
    (TrainedCnn, list of CnnEvaluation)
        The trained model, and one evaluation per test set, in order; each with ``fold`` 0 and the
        training class counts. Test images of a class the training set lacks (which the network
        cannot have learnt) are left out, and that evaluation's ``notes`` say how many and which.

    Raises
    ------
    WekawbcError
        Unlabelled instances, or a training set with one class only.
    """
    train_y = np.asarray(train_y, dtype=np.int64)
    _check_labelled(train_y, labels)
    settings = settings or TrainSettings()
    hook = None if on_batch is None else (lambda batch_ids: on_batch(0, batch_ids))
    model = train_cnn(train_images, train_y, labels, settings, ids=train_ids, progress=progress, on_batch=hook)
    train_counts = np.bincount(train_y, minlength=len(labels)).astype(np.float64)[None, :]
    evaluations = []
    for images, y, ids in tests:
        y = np.asarray(y, dtype=np.int64)
        if (y < 0).any():
            raise WekawbcError(f"{int((y < 0).sum())} test image(s) have no class; evaluation needs labelled data")
        notes = []
        missing = sorted(set(np.unique(y)) - set(np.unique(train_y)))
        if missing:
            keep = ~np.isin(y, missing)
            notes.append(f"{int((~keep).sum())} test image(s) of classes absent from the training data left out "
                         f"(scored on the shared classes): " + ", ".join(labels[c] for c in missing))
            images, y, ids = images[keep], y[keep], tuple(np.asarray(ids)[keep])
        scorer = model
        if adapt_bn:
            scorer = adapt_batch_norm(model, images, threads=settings.threads,
                                      balanced_rounds=BALANCED_ROUNDS if adapt_bn == "balanced" else 0)
            mix = " at an equal predicted class mix" if adapt_bn == "balanced" else ""
            notes.append(f"batch-norm statistics re-estimated on the {len(y)} test images{mix} (AdaBN, no labels used)")
        distribution = predict_proba(scorer, images, threads=settings.threads)
        evaluations.append(CnnEvaluation(Predictions(labels, y, distribution, None, np.zeros(y.size, dtype=np.int64),
                                                     train_counts, tuple(ids)),
                                         notes, [_fold_record(0, model)]))
    return model, evaluations

"""Few-shot adaptation of a trained CNN to a new lab: fine-tune on K labelled cells per class.

For each K of a curve (say 0, 5, 10, 20), K images of every class are drawn (seeded) from the new
data set and the model is fine-tuned on them; K = 0 is the model as it is. The draws are nested
(the K = 5 images are among the K = 10 ones) and every K is scored on the same test set: the
images not drawn for the largest K. Pixel-identical images (``jtsc/`` 112 and 139) form one group,
drawn or left together, so a copy of a training image never reaches the test set.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from wekawbc._io import WekawbcError
from wekawbc.cnn.training import TrainedCnn, predict_proba, train_cnn
from wekawbc.predictions import Predictions

__all__ = ["AdaptPoint", "adapt_curve", "confident_per_class", "draw_per_class", "duplicate_groups",
           "fine_tune_on_pseudo_labels", "match_pseudo_labels"]

#: Fine-tuning defaults: few images, so a lower rate, more passes, no early-stopping split.
ADAPT_EPOCHS = 30
ADAPT_LEARNING_RATE = 1e-3
ADAPT_BATCH_SIZE = 16
#: Pseudo-label defaults: the setting chosen on pbc -> bccd in docs/cross_lab.md (distill_round4.json).
PSEUDO_THRESHOLD = 0.6
PSEUDO_PER_CLASS = 40
PSEUDO_EPOCHS = 10


@dataclass
class AdaptPoint:
    """One point of the curve: K per class, the images trained on, the test predictions, the model."""

    per_class: int
    train_ids: tuple[str, ...]
    predictions: Predictions
    stop_reason: str
    model: TrainedCnn


def duplicate_groups(paths: Sequence[str]) -> np.ndarray:
    """A group number per file: files with identical bytes share one."""
    seen: dict[str, int] = {}
    groups = []
    for path in paths:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        groups.append(seen.setdefault(digest, len(seen)))
    return np.asarray(groups, dtype=np.int64)


def draw_per_class(y: np.ndarray, groups: np.ndarray, per_class: int, labels: Sequence[str], seed: int,
                   small_classes: str = "error") -> tuple[np.ndarray, list[str]]:
    """Seeded draw of ``per_class`` images of every class (whole duplicate groups), and notes.

    The draw for a smaller K is a prefix of the draw for a larger one with the same seed.
    A class must keep at least one image for testing: with ``per_class`` or fewer images it is
    an error (``small_classes="error"``) or, with ``"test"``, none of it is drawn and a note says so.

    Returns
    -------
    (ndarray, list of str)
        Sorted positions drawn for training, and the notes.
    """
    rng = np.random.default_rng(seed)
    drawn, notes = [], []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if per_class == 0:
            continue
        if members.size <= per_class:
            message = (f"class {labels[c]} has {members.size} image(s); --per-class {per_class} leaves none to "
                       "test on")
            if small_classes == "error":
                raise WekawbcError(f"{message} (lower --per-class, or --small-classes test to keep such classes "
                                   "for testing only)")
            notes.append(f"{message}: all of them kept for testing, none fine-tuned on")
            continue
        order = rng.permutation(np.unique(groups[members]))
        chosen: list[int] = []
        for group in order:
            if len(chosen) >= per_class:
                break
            chosen.extend(np.flatnonzero((groups == group) & (y == c)).tolist())
        drawn.extend(chosen)
    return np.asarray(sorted(drawn), dtype=np.int64), notes


def adapt_curve(model: TrainedCnn, images: np.ndarray, y: np.ndarray, ids: Sequence[str],
                per_class: Sequence[int], *, seed: int = 1, small_classes: str = "error",
                epochs: int = ADAPT_EPOCHS, learning_rate: float = ADAPT_LEARNING_RATE,
                threads: int | None = None, progress: bool = False) -> tuple[list[AdaptPoint], list[str]]:
    """Fine-tune ``model`` on K images per class for each K of ``per_class``; score on the common rest.

    Parameters
    ----------
    model : TrainedCnn
        The model to adapt (not changed).
    images, y, ids :
        The new lab's labelled crops, prepared with ``model.preprocessing``, and their image paths.
    per_class : sequence of int
        The K values (0: the model unchanged).
    seed : int
        Seed of the draw and of fine-tuning.
    small_classes : {"error", "test"}
        See :func:`draw_per_class`.

    Returns
    -------
    (list of AdaptPoint, list of str)
        One point per K (in the order given), and notes.
    """
    ks = [int(k) for k in per_class]
    if not ks or min(ks) < 0:
        raise WekawbcError("--per-class takes non-negative counts")
    y = np.asarray(y, dtype=np.int64)
    groups = duplicate_groups(ids)
    labels = tuple(model.labels)
    largest, notes = draw_per_class(y, groups, max(ks), labels, seed, small_classes)
    test = np.setdiff1d(np.arange(y.size), largest)
    if test.size == 0:
        raise WekawbcError("no image is left for testing")
    settings = replace(model.settings, epochs=epochs, learning_rate=learning_rate, batch_size=ADAPT_BATCH_SIZE,
                       validation_fraction=0.0, seed=seed, threads=threads)
    points = []
    for k in ks:
        train, _ = draw_per_class(y, groups, k, labels, seed, small_classes)
        tuned, reason = model, "not fine-tuned (K = 0)"
        if train.size:
            if np.unique(y[train]).size < 2:
                raise WekawbcError(f"K = {k}: the drawn images hold one class only")
            tuned = train_cnn(images[train], y[train], labels, settings, ids=[ids[i] for i in train],
                              progress=progress, start_from=model)
            reason = tuned.stop_reason
        distribution = predict_proba(tuned, images[test], threads=threads)
        # Weka's training priors: the images fine-tuned on, or the base model's training set for K = 0.
        counts = np.bincount(y[train], minlength=len(labels)) if train.size else np.asarray(model.train_counts)
        predictions = Predictions(labels, y[test], distribution, None, np.zeros(test.size, dtype=np.int64),
                                  counts.astype(np.float64)[None, :], tuple(ids[i] for i in test))
        points.append(AdaptPoint(k, tuple(ids[i] for i in train), predictions, reason, tuned))
    return points, notes


def confident_per_class(distribution: np.ndarray, threshold: float, per_class: int | None = None) -> np.ndarray:
    """Positions whose most probable class has at least ``threshold``, the ``per_class`` most confident of each.

    Parameters
    ----------
    distribution : ndarray, shape (n, n_classes)
        Another classifier's class probabilities for the images (a teacher; no labels read).
    threshold : float
        Least top probability kept.
    per_class : int, optional
        At most this many images of each predicted class (the most confident; ties by position).

    Returns
    -------
    ndarray of int
        Sorted positions.
    """
    distribution = np.asarray(distribution, dtype=np.float64)
    predicted, confidence = distribution.argmax(axis=1), distribution.max(axis=1)
    kept = []
    for c in np.unique(predicted):
        members = np.flatnonzero((predicted == c) & (confidence >= threshold))
        members = members[np.argsort(-confidence[members], kind="stable")]
        kept.extend(members[:per_class].tolist())
    return np.asarray(sorted(kept), dtype=np.int64)


def fine_tune_on_pseudo_labels(model: TrainedCnn, images: np.ndarray, distribution: np.ndarray, *,
                               threshold: float, per_class: int | None = None, epochs: int = ADAPT_EPOCHS,
                               learning_rate: float = ADAPT_LEARNING_RATE, seed: int = 1,
                               threads: int | None = None, progress: bool = False) -> tuple[TrainedCnn, np.ndarray]:
    """Fine-tune ``model`` on unlabelled images with another classifier's confident predictions as classes.

    Label-free adaptation to a new lab (co-training / distillation): the images of
    :func:`confident_per_class` get the teacher's most probable class and ``model`` is fine-tuned
    on them as :func:`adapt_curve` does, with a class-balanced sampler (each pseudo-class drawn
    equally often). Column k of ``distribution`` is ``model.labels[k]``.

    Returns
    -------
    (TrainedCnn, ndarray of int)
        The fine-tuned model and the positions trained on.
    """
    distribution = np.asarray(distribution, dtype=np.float64)
    if distribution.shape != (len(images), len(model.labels)):
        raise WekawbcError(f"pseudo-labels: {distribution.shape[0]} row(s) of {distribution.shape[1:]} "
                           f"probabilities for {len(images)} image(s) of {len(model.labels)} classes")
    chosen = confident_per_class(distribution, threshold, per_class)
    y = distribution.argmax(axis=1)[chosen]
    if np.unique(y).size < 2:
        raise WekawbcError(f"pseudo-labels: fewer than two classes reach confidence {threshold}")
    settings = replace(model.settings, epochs=epochs, learning_rate=learning_rate, batch_size=ADAPT_BATCH_SIZE,
                       validation_fraction=0.0, seed=seed, threads=threads, balance="sampler")
    tuned = train_cnn(images[chosen], y, tuple(model.labels), settings, progress=progress, start_from=model)
    return tuned, chosen


def match_pseudo_labels(teacher: Predictions, ids: Sequence[str], labels: Sequence[str],
                        where: str = "pseudo-labels") -> tuple[np.ndarray, np.ndarray]:
    """Rows of another classifier's predictions matched to images by path: positions into ``ids`` and probabilities.

    ``teacher.ids`` and ``ids`` are compared as resolved paths; the columns are put in the order of
    ``labels``. Images the teacher does not name are left out.

    Raises
    ------
    WekawbcError
        No ``id`` column, classes other than ``labels``, or no image in common.
    """
    from pathlib import Path

    if teacher.ids is None:
        raise WekawbcError(f"{where}: no 'id' column: its rows cannot be matched to the images")
    if sorted(teacher.labels) != sorted(labels):
        raise WekawbcError(f"{where}: classes {list(teacher.labels)} are not the model's {list(labels)}")
    row = {str(Path(i).resolve()): k for k, i in enumerate(teacher.ids)}
    found = [(position, row.get(str(Path(i).resolve()))) for position, i in enumerate(ids)]
    found = [(position, k) for position, k in found if k is not None]
    if not found:
        raise WekawbcError(f"{where}: none of its ids is an image of the data set")
    positions, rows = (np.asarray(v, dtype=np.int64) for v in zip(*found))
    order = [list(teacher.labels).index(name) for name in labels]
    return positions, np.asarray(teacher.distribution, dtype=np.float64)[rows][:, order]

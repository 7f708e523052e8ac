"""The one predictions structure every classifier produces and the evaluation engine scores.

Weka classifiers (through the bridge) and the CNN both return :class:`Predictions`; its CSV form is
the project's interchange format::

    fold,actual,weight,p_<label1>,...,p_<labelK>

with class labels in the data set's class order, probabilities at full float precision (``repr``),
folds numbered from 0 and ``actual`` empty for an unlabelled instance. An optional ``id`` column
(first) names each instance, for example its image path.

The reader is strict, because a column it does not know would otherwise be ignored and change the
numbers without a word: a UTF-8 byte-order mark is skipped; a duplicate or unknown column (``Weight``,
``Fold``) is refused; folds are whole numbers from 0 to the number of rows minus 1 (as in Weka, no
more folds than instances); weights are finite and >= 0, and their sum at most
:data:`MAX_TOTAL_WEIGHT`, so that every sum and product of Weka's statistics stays finite.

Weka's relative errors need the class priors of each fold's *training* data; those travel as
``train_counts`` (summed training weights per class, one row per fold), stored in a companion CSV
``fold,<label1>,...,<labelK>``.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from wekawbc._io import WekawbcError, atomic_write

__all__ = ["MAX_TOTAL_WEIGHT", "PriorAdjustment", "Predictions", "adjust_priors", "fold_train_counts",
           "predicted_classes", "read_predictions",
           "read_predictions_csv", "write_predictions_csv", "read_train_counts_csv", "write_train_counts_csv"]

_PROBABILITY_PREFIX = "p_"
_COLUMNS = ("id", "fold", "actual", "weight")

MAX_TOTAL_WEIGHT = 1e50
"""Largest accepted sum of instance weights (or of one fold's training counts).

Weka's statistics multiply up to four weight sums (the MCC's denominator); below 1e50 each such
product stays far from the float limit (1.8e308), so no statistic becomes a spurious infinity.
"""


@dataclass(frozen=True)
class Predictions:
    """Per-instance predictions of one classifier on one evaluation (all folds pooled).

    Attributes
    ----------
    labels : tuple of str
        Class labels in the data set's class order; column k of ``distribution`` is ``labels[k]``.
    actual : ndarray of int, shape (n_instances,)
        Index of the true class into ``labels``; -1 where the class is unknown.
    distribution : ndarray of float, shape (n_instances, n_classes)
        The classifier's class distribution, exactly as produced (Weka normalises nothing).
    weight : ndarray of float, shape (n_instances,)
        Instance weights (1 unless the data say otherwise).
    fold : ndarray of int, shape (n_instances,)
        Cross-validation fold of each instance, from 0; all 0 for a hold-out evaluation.
    train_counts : ndarray of float, shape (n_folds, n_classes), optional
        Summed training weight per class for each fold, from which Weka's Laplace priors follow.
    ids : tuple of str, optional
        An identifier per instance (an image path, a row number), for tracing and leakage checks.
    """

    labels: tuple[str, ...]
    actual: np.ndarray
    distribution: np.ndarray
    weight: np.ndarray = field(default=None)  # type: ignore[assignment]
    fold: np.ndarray = field(default=None)  # type: ignore[assignment]
    train_counts: np.ndarray | None = None
    ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        labels = tuple(str(label) for label in self.labels)
        actual = np.asarray(self.actual, dtype=np.int64).reshape(-1)
        distribution = np.asarray(self.distribution, dtype=np.float64)
        n = actual.shape[0]
        weight = np.ones(n) if self.weight is None else np.asarray(self.weight, dtype=np.float64).reshape(-1)
        fold = np.zeros(n, dtype=np.int64) if self.fold is None else np.asarray(self.fold, dtype=np.int64).reshape(-1)
        if distribution.ndim != 2 or distribution.shape != (n, len(labels)):
            raise ValueError(
                f"distribution has shape {distribution.shape}; expected ({n}, {len(labels)}) for "
                f"{n} instances and {len(labels)} labels"
            )
        if weight.shape != (n,) or fold.shape != (n,):
            raise ValueError(f"weight {weight.shape} and fold {fold.shape} must both have shape ({n},)")
        if n and (actual.min() < -1 or actual.max() >= len(labels)):
            raise ValueError(f"actual holds class indices outside -1..{len(labels) - 1}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels are not unique: {labels}")
        train_counts = self.train_counts
        if train_counts is not None:
            train_counts = np.asarray(train_counts, dtype=np.float64)
            n_folds = int(fold.max()) + 1 if n else 0
            if train_counts.ndim != 2 or train_counts.shape[1] != len(labels) or train_counts.shape[0] < n_folds:
                raise ValueError(
                    f"train_counts has shape {train_counts.shape}; expected ({n_folds}, {len(labels)})"
                )
        ids = None if self.ids is None else tuple(str(i) for i in self.ids)
        if ids is not None and len(ids) != n:
            raise ValueError(f"ids has {len(ids)} entries for {n} instances")
        for name, value in (("labels", labels), ("actual", actual), ("distribution", distribution),
                            ("weight", weight), ("fold", fold), ("train_counts", train_counts), ("ids", ids)):
            object.__setattr__(self, name, value)

    @property
    def n_instances(self) -> int:
        return int(self.actual.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    @property
    def n_folds(self) -> int:
        return int(self.fold.max()) + 1 if self.n_instances else 0

    def select(self, mask: np.ndarray) -> "Predictions":
        """The predictions of the instances where ``mask`` is true (``train_counts`` kept as is)."""
        mask = np.asarray(mask, dtype=bool)
        return Predictions(
            self.labels, self.actual[mask], self.distribution[mask], self.weight[mask], self.fold[mask],
            self.train_counts, None if self.ids is None else tuple(np.asarray(self.ids, dtype=object)[mask]),
        )


def predicted_classes(distribution: np.ndarray) -> np.ndarray:
    """Weka's predicted class of each row: the first strictly largest probability, -1 where the row is
    all zero ("unclassified")."""
    distribution = np.asarray(distribution, dtype=np.float64)
    if distribution.shape[0] == 0 or distribution.shape[1] == 0:
        return np.full(distribution.shape[0], -1, dtype=np.intp)
    predicted = np.argmax(distribution, axis=1)
    best = distribution[np.arange(distribution.shape[0]), predicted]
    return np.where(best > 0, predicted, -1)


def fold_train_counts(actual: np.ndarray, train_indices: Sequence[np.ndarray], n_classes: int,
                      weight: np.ndarray | None = None) -> np.ndarray:
    """Summed training weight per class for each fold: what Weka's priors are built from.

    Parameters
    ----------
    actual : ndarray of int, shape (n_instances,)
        Class index of every instance (-1 for unknown, which Weka's priors skip).
    train_indices : sequence of int arrays
        The training rows of each fold, before any resampling (the priors see untouched data).
    n_classes : int
    weight : ndarray, optional
        Instance weights; 1 each when omitted.

    Returns
    -------
    ndarray of float, shape (n_folds, n_classes)
    """
    actual = np.asarray(actual, dtype=np.int64)
    weight = np.ones(actual.shape[0]) if weight is None else np.asarray(weight, dtype=np.float64)
    counts = np.zeros((len(train_indices), n_classes))
    for fold, train in enumerate(train_indices):
        known = train[actual[train] >= 0]
        counts[fold] = np.bincount(actual[known], weights=weight[known], minlength=n_classes)
    return counts


@dataclass(frozen=True)
class PriorAdjustment:
    """Predictions re-weighted to the class priors estimated on the test set (:func:`adjust_priors`).

    Attributes
    ----------
    predictions : Predictions
        The adjusted predictions (same instances, labels, weights and folds; new ``distribution``).
    train_priors : ndarray, shape (n_classes,)
        The class priors the classifier's outputs carry (those of its training data).
    priors : ndarray, shape (n_classes,)
        The estimated class priors of the test set.
    iterations : int
        EM iterations run.
    converged : bool
        Whether the priors moved less than the tolerance in the last iteration.
    """

    predictions: Predictions
    train_priors: np.ndarray
    priors: np.ndarray
    iterations: int
    converged: bool

    def describe(self) -> str:
        """One line: the estimated priors against the training ones, and the iterations."""
        pairs = ", ".join(f"{label} {p:.3f} (trained at {p0:.3f})"
                          for label, p, p0 in zip(self.predictions.labels, self.priors, self.train_priors))
        state = "converged" if self.converged else "not converged"
        return f"Class priors estimated by EM ({self.iterations} iterations, {state}): {pairs}"

    def to_dict(self) -> dict[str, Any]:
        """The estimate as JSON-ready numbers, keyed by class label."""
        labels = self.predictions.labels
        return {"method": "EM (Saerens, Latinne & Decaestecker 2002)",
                "train_priors": {label: float(p) for label, p in zip(labels, self.train_priors)},
                "estimated_priors": {label: float(p) for label, p in zip(labels, self.priors)},
                "iterations": self.iterations, "converged": self.converged}


def _train_priors(predictions: Predictions, train_priors: Mapping[str, float] | Sequence[float] | None,
                  where: str) -> np.ndarray:
    labels = predictions.labels
    if train_priors is None:
        if predictions.train_counts is None:
            raise WekawbcError(f"{where}: no training class counts to adjust the priors from; give the training priors")
        values = np.asarray(predictions.train_counts, dtype=np.float64).sum(axis=0)
    elif isinstance(train_priors, Mapping):
        if set(train_priors) != set(labels):
            raise WekawbcError(f"{where}: the training classes {sorted(train_priors)} differ from the predicted "
                               f"classes {sorted(labels)}; prior adjustment needs the same classes")
        values = np.array([float(train_priors[label]) for label in labels])
    else:
        values = np.asarray(train_priors, dtype=np.float64).reshape(-1)
        if values.shape != (len(labels),):
            raise WekawbcError(f"{where}: {values.shape[0]} training priors for {len(labels)} predicted classes")
    if not (np.isfinite(values).all() and (values >= 0).all() and values.sum() > 0):
        raise WekawbcError(f"{where}: training priors must be finite, >= 0 and not all 0, got {values.tolist()}")
    absent = [label for label, v in zip(labels, values) if v == 0]
    if absent:
        raise WekawbcError(f"{where}: class(es) {absent} have no training instances; prior adjustment needs every "
                           "predicted class in the training data")
    return values / values.sum()


def _check_probabilities(distribution: np.ndarray, where: str) -> None:
    if distribution.shape[0] == 0:
        raise WekawbcError(f"{where}: no predictions to estimate class priors from")
    sums = distribution.sum(axis=1)
    if not (np.isfinite(distribution).all() and (distribution >= 0).all() and np.allclose(sums, 1.0, atol=1e-6)):
        raise WekawbcError(f"{where}: the class distributions are not probabilities (each row >= 0, summing to 1); "
                           "prior adjustment needs them")
    if np.isin(distribution, (0.0, 1.0)).all():
        raise WekawbcError(f"{where}: the classifier gives hard labels only (every probability 0 or 1); prior "
                           "adjustment needs class probabilities")


def adjust_priors(predictions: Predictions, train_priors: Mapping[str, float] | Sequence[float] | None = None, *,
                  tolerance: float = 1e-6, max_iterations: int = 1000, where: str = "predictions") -> PriorAdjustment:
    """Re-weight a classifier's probabilities to the class priors of the test set, estimated without labels.

    The EM procedure of Saerens, Latinne & Decaestecker (2002, Neural Computation 14:21-41): starting
    from the training priors ``q0``, each step re-weights every instance's probabilities by
    ``q / q0`` and renormalises them (E), then takes ``q`` as the weighted mean of those adjusted
    probabilities (M), until ``q`` moves less than ``tolerance`` (largest change of one class).
    ``q`` is the maximum-likelihood estimate of the test set's class mix when only the priors
    differ between training and test data (label shift) and the probabilities are calibrated;
    a classifier that is confidently wrong on another lab's cells moves it the wrong way.
    The true classes (``actual``) are never read.

    Parameters
    ----------
    predictions : Predictions
        Class probabilities on the test set (all folds pooled).
    train_priors : mapping label -> weight, or sequence in label order, optional
        The priors the classifier was trained at (normalised here); by default the summed
        ``predictions.train_counts``. A classifier trained with a class-balanced sampler or loss
        carries equal priors: pass ``[1] * n_classes``.
    tolerance, max_iterations :
        Stopping rule.
    where :
        Names the input in error messages.

    Raises
    ------
    WekawbcError
        Hard labels only, rows that are not probabilities, training priors of other classes, or a
        predicted class without training instances.
    """
    distribution = np.asarray(predictions.distribution, dtype=np.float64)
    _check_probabilities(distribution, where)
    q0 = _train_priors(predictions, train_priors, where)
    weight = predictions.weight / predictions.weight.sum()
    q, converged, iterations = q0.copy(), False, 0
    adjusted = distribution
    while iterations < max_iterations and not converged:
        adjusted = _reweighted(distribution, q / q0)
        new = weight @ adjusted
        converged = bool(np.max(np.abs(new - q)) < tolerance)
        q, iterations = new, iterations + 1
    adjusted = _reweighted(distribution, q / q0)
    return PriorAdjustment(dataclasses.replace(predictions, distribution=adjusted), q0, q, iterations, converged)


def _reweighted(distribution: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    scaled = distribution * ratio
    total = scaled.sum(axis=1, keepdims=True)
    # A row whose mass sits only on classes estimated at prior 0 keeps its probabilities.
    return np.divide(scaled, total, out=distribution.copy(), where=total > 0)


def write_predictions_csv(predictions: Predictions, path: str | os.PathLike) -> Path:
    """Write ``predictions`` as the interchange CSV, atomically, at full float precision."""
    header = ["fold", "actual", "weight", *(_PROBABILITY_PREFIX + label for label in predictions.labels)]
    if predictions.ids is not None:
        header.insert(0, "id")
    with atomic_write(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for i in range(predictions.n_instances):
            actual = predictions.actual[i]
            row = [int(predictions.fold[i]), predictions.labels[actual] if actual >= 0 else "",
                   repr(float(predictions.weight[i])), *(repr(float(p)) for p in predictions.distribution[i])]
            if predictions.ids is not None:
                row.insert(0, predictions.ids[i])
            writer.writerow(row)
    return Path(path)


def _read_csv_rows(path: Path) -> list[list[str]]:
    try:  # utf-8-sig: a byte-order mark (as spreadsheet programs write) is not part of the first column name
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return list(csv.reader(handle))
    except OSError as error:
        raise WekawbcError(f"{path}: cannot read: {error.strerror or error}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise WekawbcError(f"{path}: not a UTF-8 CSV file: {error}") from None


def _float_cell(text: str, path: Path, row: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise WekawbcError(f"{path}: row {row}: column '{column}' holds '{text}', not a number") from None


def _float_column(cells: list[str], path: Path, column: str) -> np.ndarray:
    """Convert one CSV column at once; on failure name the first offending row (header is row 1)."""
    try:
        return np.asarray(cells, dtype=np.float64)
    except ValueError:
        for row, text in enumerate(cells, start=2):
            _float_cell(text, path, row, column)
        raise  # unreachable: some cell failed above


def _check_header(header: list[str], path: Path, known: tuple[str, ...], prefix: str = "") -> None:
    """Refuse a duplicate column, and a column that is neither in ``known`` nor starts with ``prefix``."""
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise WekawbcError(f"{path}: duplicate column '{name}' in the header")
        seen.add(name)
        if name in known or (prefix and name.startswith(prefix)):
            continue
        hint = next((f" (did you mean '{k}'?)" for k in known if k.lower() == name.lower().strip()), "")
        expected = ", ".join(known) + (f" and {prefix}<label>" if prefix else "")
        raise WekawbcError(f"{path}: unknown column '{name}'{hint}; the columns are {expected}")


def read_predictions_csv(path: str | os.PathLike, train_counts: np.ndarray | None = None) -> Predictions:
    """Read an interchange CSV; ``fold`` and ``weight`` columns are optional (0 and 1).

    Raises
    ------
    WekawbcError
        Naming the file and row: a missing file, no ``p_`` columns, a duplicate or unknown column,
        an ``actual`` label that is not among the ``p_`` columns, a cell that is not a number, a fold
        that is not a whole number from 0 to rows - 1, a weight that is negative or not finite, or
        weights summing to more than :data:`MAX_TOTAL_WEIGHT`.
    """
    path = Path(path)
    rows = _read_csv_rows(path)
    if not rows:
        raise WekawbcError(f"{path}: empty file, expected a header 'fold,actual,weight,p_<label>...'")
    header = [cell.strip() for cell in rows[0]]
    _check_header(header, path, _COLUMNS, _PROBABILITY_PREFIX)
    prob_columns = [i for i, name in enumerate(header) if name.startswith(_PROBABILITY_PREFIX)]
    if not prob_columns or "actual" not in header:
        raise WekawbcError(f"{path}: header must hold 'actual' and one 'p_<label>' column per class, got {header}")
    labels = tuple(header[i][len(_PROBABILITY_PREFIX):] for i in prob_columns)
    body = rows[1:]
    if not body:
        raise WekawbcError(f"{path}: no predictions after the header")
    for line, cells in enumerate(body, start=2):
        if len(cells) != len(header):
            raise WekawbcError(f"{path}: row {line}: {len(cells)} cells, the header has {len(header)}")
    columns = dict(zip(header, zip(*body)))
    actual = _actual_column(columns["actual"], labels, path)
    distribution = np.column_stack([_float_column(columns[header[i]], path, header[i]) for i in prob_columns])
    weight = _weight_column(columns["weight"], path) if "weight" in columns else None
    fold = _fold_column(columns["fold"], path, len(body)) if "fold" in columns else None
    ids = tuple(columns["id"]) if "id" in columns else None
    return Predictions(labels, actual, distribution, weight, fold, train_counts, ids)


def _actual_column(cells: tuple[str, ...], labels: tuple[str, ...], path: Path) -> np.ndarray:
    index_of = {label: k for k, label in enumerate(labels)}
    index_of[""] = -1
    try:
        return np.array([index_of[cell.strip()] for cell in cells], dtype=np.int64)
    except KeyError:
        line, label = next((r, c.strip()) for r, c in enumerate(cells, start=2) if c.strip() not in index_of)
        raise WekawbcError(
            f"{path}: row {line}: actual class '{label}' is not among the p_ columns {list(labels)}"
        ) from None


def _whole_numbers(cells: tuple[str, ...], path: Path, column: str, limit: int) -> np.ndarray:
    """Whole numbers from 0 to ``limit - 1`` (checked as floats, so '1e19' never wraps around)."""
    values = _float_column(list(cells), path, column)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~((values >= 0) & (values < limit)) | (values != np.round(values)))
    if bad.size:
        raise WekawbcError(f"{path}: row {bad[0] + 2}: {column} '{cells[bad[0]].strip()}' is not a whole number "
                           f"from 0 to {limit - 1}")
    return values.astype(np.int64)


def _fold_column(cells: tuple[str, ...], path: Path, n_rows: int) -> np.ndarray:
    # As in Weka's cross-validation, no more folds than instances: fold numbers stay below the row count.
    return _whole_numbers(cells, path, "fold", n_rows)


def _non_negative(values: np.ndarray, cells: list[str], path: Path, column: str, suffix: str = "") -> None:
    bad = np.flatnonzero(~(np.isfinite(values) & (values >= 0)))
    if bad.size:
        raise WekawbcError(f"{path}: row {bad[0] + 2}: {column} '{cells[bad[0]].strip()}'{suffix} is not a finite "
                           "number >= 0")


def _weight_column(cells: tuple[str, ...], path: Path) -> np.ndarray:
    values = _float_column(list(cells), path, "weight")
    _non_negative(values, list(cells), path, "weight")
    total = float(np.sum(values))
    if not total <= MAX_TOTAL_WEIGHT:
        raise WekawbcError(f"{path}: the weights sum to {total:.3g}, more than {MAX_TOTAL_WEIGHT:g}; scale them "
                           "down (Weka's statistics would overflow)")
    return values


def write_train_counts_csv(labels: tuple[str, ...], train_counts: np.ndarray, path: str | os.PathLike) -> Path:
    """Write per-fold training class weights as ``fold,<label1>,...,<labelK>``, atomically."""
    with atomic_write(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["fold", *labels])
        for f, counts in enumerate(np.asarray(train_counts, dtype=np.float64)):
            writer.writerow([f, *(repr(float(c)) for c in counts)])
    return Path(path)


def read_train_counts_csv(path: str | os.PathLike, labels: tuple[str, ...]) -> np.ndarray:
    """Read a counts CSV, checking that its labels equal ``labels`` (same names, same order).

    Folds are whole numbers, each once, numbered 0..n-1 in any order; counts are finite and >= 0,
    and each fold's sum at most :data:`MAX_TOTAL_WEIGHT`. Anything else raises :class:`WekawbcError`
    naming the file and row.
    """
    path = Path(path)
    rows = _read_csv_rows(path)
    if len(rows) < 2:
        raise WekawbcError(f"{path}: expected a header 'fold,<label>...' and one row per fold")
    header = [cell.strip() for cell in rows[0]]
    if header[0] != "fold" or tuple(header[1:]) != tuple(labels):
        raise WekawbcError(f"{path}: labels {header[1:]} differ from the predictions' labels {list(labels)}")
    body = rows[1:]
    for r, cells in enumerate(body, start=2):
        if len(cells) != len(header):
            raise WekawbcError(f"{path}: row {r}: {len(cells)} cells, the header has {len(header)}")
    folds = _whole_numbers(tuple(cells[0] for cells in body), path, "fold", len(body))
    first_row = {}
    for r, fold in enumerate(folds.tolist(), start=2):
        if fold in first_row:
            raise WekawbcError(f"{path}: row {r}: fold {fold} appears twice (first in row {first_row[fold]})")
        first_row[fold] = r
    counts = np.empty((len(body), len(labels)))
    for j, label in enumerate(labels):
        cells = [row[j + 1] for row in body]
        counts[:, j] = _float_column(cells, path, label)
        _non_negative(counts[:, j], cells, path, "count", f" for '{label}'")
    totals = counts.sum(axis=1)
    if np.any(totals > MAX_TOTAL_WEIGHT):
        r = int(np.flatnonzero(totals > MAX_TOTAL_WEIGHT)[0])
        raise WekawbcError(f"{path}: row {r + 2}: the counts sum to {totals[r]:.3g}, more than {MAX_TOTAL_WEIGHT:g}")
    ordered = np.empty_like(counts)
    ordered[folds] = counts
    return ordered


def read_predictions(path: str | os.PathLike, train_counts_path: str | os.PathLike | None = None) -> Predictions:
    """The one reader of stored predictions: a predictions CSV and, when given, its training-counts CSV.

    Raises
    ------
    WekawbcError
        What :func:`read_predictions_csv` and :func:`read_train_counts_csv` refuse, and counts that do not
        have one row per fold of the predictions (naming both files).
    """
    predictions = read_predictions_csv(path)
    if train_counts_path is None:
        return predictions
    counts = read_train_counts_csv(train_counts_path, predictions.labels)
    try:
        return dataclasses.replace(predictions, train_counts=counts)
    except ValueError as error:
        raise WekawbcError(f"{train_counts_path}: {error} (one row per fold of {path})") from None

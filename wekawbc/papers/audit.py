"""Audit of a paper's published numbers: recompute what the confusion matrices and counts determine.

(The checks, beside the papers' data; :mod:`wekawbc.report.audit` renders the findings.)

``audit_paper(paper)`` returns one :class:`Finding` per check. A check compares a printed value with a
value recomputed from the paper's own confusion matrices and class counts (through the evaluation
engine, on one instance per matrix cell count), with another printed value, or with a claim of the
text; the printed value is consistent when the recomputed one lies within half a unit of its last
printed decimal. Values that need the classifier's scores (ROC, AUC, MSE) are marked "not checkable
from the matrix" (``consistent`` is None), with whatever bound or cross-check the matrix does allow.
"""

from __future__ import annotations

import collections
import math
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, Iterable

import numpy as np

from wekawbc.papers import Paper, PublishedValue
from wekawbc.predictions import Predictions

__all__ = ["Finding", "MatrixMetrics", "audit_paper", "matrix_predictions", "max_kappa", "summary_counts"]

_NOT_CHECKABLE = "not checkable from the matrix"
# A value without a task (the schema allows it) is named as such, never a KeyError (found by fuzzing).
_TASK_NAMES = collections.defaultdict(lambda: "task-unstated", {"binary": "binary", "five": "five-class"})


@dataclass(frozen=True)
class Finding:
    """One check of one published number (or claim).

    ``consistent`` is True or False for a value the check can judge and None for one it cannot.
    ``recomputed`` is a number in the published value's unit, a short text, or None.
    """

    id: str
    check: str
    table: str
    quantity: str
    published: str
    recomputed: float | str | None
    consistent: bool | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def matrix_predictions(labels: Iterable[str], matrix: np.ndarray) -> Predictions:
    """Hard predictions reproducing a confusion matrix: each cell (actual i, predicted j) holding n
    becomes n instances of class i whose distribution is one-hot on j (rows actual, as Weka prints)."""
    labels = tuple(labels)
    counts = np.asarray(matrix)
    if counts.shape != (len(labels), len(labels)) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(f"matrix must be {len(labels)}x{len(labels)} non-negative whole counts, got {counts.tolist()}")
    actual, predicted = [], []
    for i, j in np.ndindex(counts.shape):
        actual.extend([i] * int(counts[i, j]))
        predicted.extend([j] * int(counts[i, j]))
    return Predictions(labels, np.array(actual, dtype=np.int64), np.eye(len(labels))[np.array(predicted, dtype=np.int64)])


class MatrixMetrics:
    """What a confusion matrix determines, computed by the evaluation engine (Weka's formulas)."""

    def __init__(self, labels: tuple[str, ...], matrix: np.ndarray) -> None:
        self.labels = labels
        self.matrix = np.asarray(matrix, dtype=float)

    @cached_property
    def evaluation(self):
        from wekawbc.evaluation import evaluate

        return evaluate(matrix_predictions(self.labels, self.matrix))

    @property
    def n(self) -> float:
        return float(self.matrix.sum())

    @property
    def errors(self) -> float:
        return self.n - float(np.trace(self.matrix))

    def index(self, label: str) -> int:
        return self.labels.index(label)

    def per_class(self, metric: str, label: str) -> float:
        """Weka's per-class statistic (``recall``, ``precision``, ``f_measure``, ``mcc``) or ``ovr_accuracy``."""
        k = self.index(label)
        if metric == "ovr_accuracy":  # one-vs-rest accuracy: (TP + TN) / N
            tp = self.matrix[k, k]
            fn = self.matrix[k].sum() - tp
            fp = self.matrix[:, k].sum() - tp
            return (self.n - fn - fp) / self.n
        return float(getattr(self.evaluation, metric)[k])

    def weighted(self, metric: str) -> float:
        """Weka's "Weighted Avg." of a per-class statistic."""
        return float(self.evaluation.weighted[metric])

    def macro(self, metric: str) -> float:
        return float(np.mean([self.per_class(metric, label) for label in self.labels]))

    @property
    def accuracy(self) -> float:
        return float(self.evaluation.pct_correct) / 100.0

    @property
    def kappa(self) -> float:
        return float(self.evaluation.kappa)

    def hard_roc_area(self) -> float:
        """Weighted ROC Area Weka would print if the scores were the hard 0/1 decisions."""
        return self.weighted("roc_area")

    def mse_lower_bounds(self) -> dict[str, float]:
        """The smallest value each reading of "MSE" can take with this matrix, whatever the scores.

        A misclassified instance has p_pred >= p_true, so its squared error over the classes is at least
        (1 - p_true)**2 + p_pred**2 >= 0.5 and its absolute error at least 1 (both reached at 0.5/0.5);
        a correct one can contribute 0. Weka divides its MAE and RMSE by the number of classes K.
        """
        err = self.errors / self.n
        k = len(self.labels)
        return {"Weka RMSE² (= Brier/K)": err / (2 * k), "Brier score (sum over classes)": err / 2,
                "Weka mean absolute error": err / k, "Weka RMSE": math.sqrt(err / (2 * k))}


def max_kappa(accuracy: float, class_shares: np.ndarray) -> float:
    """The largest Cohen's kappa of any confusion matrix with this accuracy and these actual-class shares.

    Kappa = (po - pe) / (1 - pe) falls as the chance agreement pe = sum_i r_i c_i rises, so the bound is
    the smallest pe over predicted-class shares c (a linear programme): the diagonal d_i <= min(r_i, c_i)
    must hold the accuracy, sum d_i = po.
    """
    from scipy.optimize import linprog

    r = np.asarray(class_shares, dtype=float)
    k = len(r)
    # variables: c_1..c_k, d_1..d_k
    cost = np.concatenate([r, np.zeros(k)])
    a_ub = np.block([[np.zeros((k, k)), np.eye(k)], [-np.eye(k), np.eye(k)]])  # d <= r, d <= c
    b_ub = np.concatenate([r, np.zeros(k)])
    a_eq = np.array([np.concatenate([np.ones(k), np.zeros(k)]), np.concatenate([np.zeros(k), np.ones(k)])])
    solution = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0, accuracy], bounds=(0, None), method="highs")
    pe = float(solution.fun)
    return 1.0 if pe >= 1 else (accuracy - pe) / (1 - pe)


def _within(published: PublishedValue, recomputed: float) -> bool:
    # Inclusive at exactly half a unit: a value printed truncated or rounded half-even is not wrong.
    return bool(abs(recomputed - float(published.value)) <= published.half_unit * (1 + 1e-9) + 1e-12)


def _scale(published: PublishedValue, fraction: float) -> float:
    return 100.0 * fraction if published.unit == "percent" else fraction


class _Auditor:
    """Collects findings for one paper (one method per kind of check)."""

    def __init__(self, paper: Paper) -> None:
        self.paper = paper
        self.findings: list[Finding] = []
        self.metrics = {task: MatrixMetrics(*paper.confusion_matrix(table))
                        for table, task in paper.confusion_tables().items()}

    # -- helpers -------------------------------------------------------------------------------
    def add(self, check: str, value: PublishedValue, quantity: str, recomputed: float | str | None,
            consistent: bool | None, note: str, *, key: str | None = None) -> None:
        """One finding about ``value``; its id is ``check:value-id[:key]`` (key tells apart checks of one value)."""
        self.findings.append(Finding(
            id=f"{check}:{value.id}" + (f":{key}" if key else ""), check=check, table=value.table, quantity=quantity,
            published=value.printed, recomputed=recomputed,
            consistent=None if consistent is None else bool(consistent), note=note))

    def compare(self, check: str, value: PublishedValue, quantity: str, fraction_or_count: float, note: str = "",
                *, raw: bool = False, key: str | None = None) -> bool:
        """Finding for ``value`` against a recomputed number (a fraction, scaled to the printed unit unless raw)."""
        recomputed = fraction_or_count if raw or value.unit == "count" else _scale(value, fraction_or_count)
        ok = _within(value, recomputed)
        self.add(check, value, quantity, round(float(recomputed), value.decimals + 4), ok, note, key=key)
        return ok

    # -- checks ------------------------------------------------------------------------------------
    def confusion_arithmetic(self) -> None:
        for table, task in self.paper.confusion_tables().items():
            m = self.metrics[task]
            for value in self.paper.select(table=table, metric="confusion_row_total"):
                row = m.matrix[m.index(value.class_)]
                self.compare("arithmetic", value, f"row total of '{value.row}' (sum of its cells)", float(row.sum()),
                             f"cells {' + '.join(f'{c:g}' for c in row)}")
            for value in self.paper.select(table=table, metric="confusion_column_total"):
                column = m.matrix[:, m.index(value.predicted)]
                ok = _within(value, float(column.sum()))
                self.compare("arithmetic", value, f"column total of '{value.column}' (sum of its cells)",
                             float(column.sum()), f"cells {' + '.join(f'{c:g}' for c in column)}"
                             + ("" if ok else f"; the printed total is off by {value.value - column.sum():+g}"))
            for value in self.paper.select(table=table, metric="confusion_total"):
                printed_columns = sum(v.value for v in self.paper.select(table=table, metric="confusion_column_total"))
                self.compare("arithmetic", value, "grand total (sum of all cells)", m.n,
                             f"the printed column totals add up to {printed_columns:g}")

    def count_tables(self) -> None:
        paper = self.paper
        counts = paper.select(metric="class_count")
        by_table: dict[str, list[PublishedValue]] = {}
        for value in counts:
            by_table.setdefault(value.table, []).append(value)
        for values in by_table.values():
            subsets = sorted({v.subset for v in values if v.subset != "all"}, key=lambda s: (s is None, s or ""))
            # Row sums: the parts of each class add up to its total.
            for total in (v for v in values if v.subset == "all" and subsets):
                parts = [v for v in values if v.class_ == total.class_ and v.subset in subsets]
                self.compare("arithmetic", total, f"'{total.row}' total = " + " + ".join(f"'{p.column}'" for p in parts),
                             float(sum(p.value for p in parts)), " + ".join(p.printed for p in parts), key="row")
            # Column sums: the classes add up to the Total row.
            for grand in (v for v in values if v.class_ is None):
                parts = [v for v in values if v.class_ is not None and v.subset == grand.subset]
                self.compare("arithmetic", grand, f"'{grand.row}' of column '{grand.column}' = sum of the classes",
                             float(sum(p.value for p in parts)), " + ".join(p.printed for p in parts), key="column")

    def first(self, **criteria: Any) -> PublishedValue | None:
        found = self.paper.select(**criteria)
        return found[0] if found else None

    def split(self) -> None:
        ratio = self.first(metric="split_ratio")
        share = (ratio.value[0] / sum(ratio.value)) if ratio else None
        for value in self.paper.select(metric="class_count", subset="training") + \
                self.paper.select(metric="class_count", subset="validation"):
            total = self.first(metric="class_count", subset="all", table=value.table, class_=value.class_)
            if share is None or total is None:
                continue
            part = share if value.subset == "training" else 1 - share
            expected = math.floor(total.value * part + 0.5)
            self.compare("split", value, f"{value.subset} images of '{value.row}' = {part:.0%} of {total.printed}, "
                         "rounded", float(expected), f"{total.value:g} x {part:g} = {total.value * part:g}; "
                         f"the text states {ratio.printed}")
        training = self.first(metric="class_count", subset="training", class_=None)
        total = self.first(metric="class_count", subset="all", class_=None)
        if ratio and training and total:
            stated = 100 * training.value / total.value
            ok = abs(stated - ratio.value[0]) <= ratio.half_unit and math.isclose(sum(ratio.value), 100)
            self.add("split", ratio, f"training:validation ratio vs {training.table} totals",
                     f"{stated:g}:{100 - stated:g}", ok,
                     f"{training.table}: {training.printed} of {total.printed} images for training")
        images = self.first(metric="image_count")
        validation = self.first(metric="class_count", subset="validation", class_=None)
        for table, task in self.paper.confusion_tables().items():
            m = self.metrics[task]
            grand = self.first(table=table, metric="confusion_total")
            if validation and grand:
                self.add("protocol", grand, f"{table} total vs the {validation.printed} validation images of the "
                         f"{ratio.printed if ratio else 'stated'} split", m.n, m.n == validation.value,
                         f"the matrix holds {m.n:g} instances: the whole data set"
                         f"{' of ' + images.printed if images else ''}, training images included, not the validation "
                         "part (cross-validation, which would pool all instances, is not mentioned)"
                         if m.n != validation.value else "")
        if images:
            tables = sorted({v.table for v in self.paper.select(metric="class_count", subset="all")})
            for table in tables:
                counts = self.paper.select(table=table, metric="class_count", subset="all")
                parts = [v for v in counts if v.class_ is None] or counts
                self.compare("cross-table", images, f"images in the data set vs {table}",
                             float(sum(v.value for v in parts)), f"{table}: {' + '.join(v.printed for v in parts)}",
                             key=table)
        for source in self.paper.select(metric="source_image_count"):
            self.add("text", source, "original images the data set was made from", None, None,
                     "not checkable: no table counts the original images")

    def groups(self) -> None:
        """Table 2 counts grouped as the paper groups them, against Table 1, Table 7 and Table 8."""
        paper = self.paper
        if "binary" not in paper.tasks or "five" not in paper.tasks:
            return
        multi_counts = {v.class_: v for v in paper.select(metric="class_count", task="five", subset="all")}
        for group in paper.tasks["binary"]:
            members = paper.groups.get(group, ())
            for total in paper.select(metric="class_count", task="binary", subset="all", class_=group):
                parts = [multi_counts[c] for c in members if c in multi_counts]
                self.compare("cross-table", total, f"'{total.row}' = sum of its types in Table 2 ({', '.join(members)})",
                             float(sum(p.value for p in parts)), " + ".join(p.printed for p in parts), key="types")
        # Table 2 counts against the row totals of the five-class matrix, and Table 1 against the binary one.
        for task in ("five", "binary"):
            m = self.metrics.get(task)
            if m is None:
                continue
            for value in paper.select(metric="class_count", task=task, subset="all"):
                if value.class_ is None:
                    continue
                self.compare("cross-table", value, f"{value.column if task == 'five' else value.row} count vs the row "
                             f"sum of {paper.confusion_table_for(task)}", float(m.matrix[m.index(value.class_)].sum()),
                             "rows of the matrix are the actual classes", key="matrix")
        # The five-class matrix grouped into the binary classes, against the binary matrix.
        multi, binary = self.metrics.get("five"), self.metrics.get("binary")
        if multi is None or binary is None:
            return
        first_group: dict[str, str] = {}
        for name, members in paper.groups.items():
            for member in members:
                first_group.setdefault(member, name)
        if not all(first_group.get(c) in binary.labels for c in multi.labels):
            return  # the groups do not map every class onto a binary class: nothing to compare
        group_index = [paper.tasks["binary"].index(first_group[c]) for c in multi.labels]
        grouped = np.zeros_like(binary.matrix)
        for i, j in np.ndindex(multi.matrix.shape):
            grouped[group_index[i], group_index[j]] += multi.matrix[i, j]
        table = paper.confusion_table_for("binary")
        for value in paper.select(table=table, metric="confusion_count"):
            recomputed = float(grouped[binary.index(value.class_), binary.index(value.predicted)])
            self.compare("cross-table", value,
                         f"{value.row} -> {value.column} vs {paper.confusion_table_for('five')} grouped", recomputed,
                         f"grouped five-class accuracy {np.trace(grouped) / grouped.sum():.1%} vs binary "
                         f"{binary.accuracy:.1%}; they need not agree if the binary model was trained separately, "
                         "but then the binary task is solved worse than the harder five-class one")

    def per_class_accuracy(self) -> None:
        readings: tuple[tuple[str, str], ...] = (("recall", "recall (TP rate)"), ("precision", "precision"),
                                                 ("ovr_accuracy", "one-vs-rest accuracy"))
        for value in self.paper.select(metric="per_class_accuracy"):
            m = self.metrics.get(value.task)
            if m is None:
                continue
            for metric, name in readings:
                recomputed = _scale(value, m.per_class(metric, value.class_))
                ok = _within(value, recomputed)
                self.add("per-class reading", value, f"{value.row} accuracy read as {name}",
                         round(float(recomputed), value.decimals + 3), ok,
                         f"from {self.paper.confusion_table_for(value.task)}", key=metric)

    def threshold_metrics(self) -> None:
        for metric, name in (("f_measure", "F-measure"), ("precision", "precision"), ("recall", "recall")):
            for value in self.paper.select(metric=metric):
                m = self.metrics.get(value.task)
                if m is None or value.table in ("Abstract",):
                    continue
                table = self.paper.confusion_table_for(value.task)
                self.compare("matrix", value, f"{_TASK_NAMES[value.task]} {name}, Weka's weighted average",
                             m.weighted(metric), f"from {table}; Weka weights each class by its actual count", key="weighted")
                self.compare("matrix", value, f"{_TASK_NAMES[value.task]} {name}, macro average", m.macro(metric),
                             f"from {table}; unweighted mean over classes", key="macro")
        # An average F-measure cannot exceed the mean of the same average of precision and recall (F <= (P+R)/2).
        for table in sorted({v.table for v in self.paper.select(metric="f_measure")}):
            for f in self.paper.select(table=table, metric="f_measure"):
                p = next(iter(self.paper.select(table=table, metric="precision", task=f.task)), None)
                r = next(iter(self.paper.select(table=table, metric="recall", task=f.task)), None)
                if p is None or r is None:
                    continue
                bound = (p.value + r.value) / 2 + p.half_unit
                ok = f.value - f.half_unit <= bound
                self.add("bound", f, f"F-measure <= (precision + recall) / 2 = ({p.printed} + {r.printed}) / 2",
                         round((p.value + r.value) / 2, 5), ok,
                         "the harmonic mean never exceeds the arithmetic mean, per class and so for any weighted, "
                         "macro or micro average" + ("" if ok else f": {f.printed} is impossible with these P and R"))

    def kappa(self) -> None:
        for value in self.paper.select(metric="kappa"):
            m = self.metrics.get(value.task)
            if m is not None:
                self.compare("matrix", value, f"{_TASK_NAMES[value.task]} Cohen's kappa", m.kappa,
                             f"from {self.paper.confusion_table_for(value.task)}")
            if m is None:
                continue
            class_shares = m.matrix.sum(axis=1) / m.n
            for accuracy in self.paper.select(metric="accuracy", task=value.task, qualifier=None):
                po = min(1.0, (accuracy.value + accuracy.half_unit) / 100)
                bound = max_kappa(po, class_shares)
                ok = value.value - value.half_unit <= bound + 1e-9
                self.add("bound", value, f"{_TASK_NAMES[value.task]} kappa <= the largest kappa possible at the "
                         f"{accuracy.table.lower()}'s accuracy {accuracy.printed}", round(bound, 4), ok,
                         f"any confusion matrix with accuracy up to {po:.2%} and the class counts of "
                         f"{self.paper.confusion_table_for(value.task)} ({', '.join(f'{c:g}' for c in m.matrix.sum(axis=1))})"
                         f" has kappa <= {bound:.4f}" + ("" if ok else f": kappa {value.printed} is impossible"),
                         key="accuracy")

    def accuracy(self) -> None:
        for value in self.paper.select(metric="accuracy"):
            m = self.metrics.get(value.task)
            if m is None:
                continue
            self.compare("matrix", value, f"{_TASK_NAMES[value.task]} accuracy", m.accuracy,
                         f"{np.trace(m.matrix):g} correct of {m.n:g} in {self.paper.confusion_table_for(value.task)}")

    def scores_only(self) -> None:
        """ROC, AUC and MSE need the scores: bounds and cross-checks only."""
        for value in self.paper.select(metric="roc") + self.paper.select(metric="auc"):
            m = self.metrics.get(value.task)
            note = _NOT_CHECKABLE + " (needs the classifier's scores)"
            if m is not None:
                note += f"; with hard 0/1 scores Weka's weighted ROC Area would be {m.hard_roc_area():.3f}"
            self.add("needs scores", value, f"{'' if value.task is None else _TASK_NAMES[value.task] + ' '}"
                     f"{'ROC' if value.metric == 'roc' else 'AUC'}", None, None, note)
        for table in sorted({v.table for v in self.paper.select(metric="auc")}):
            for roc in (v for v in self.paper.select(table=table, metric="roc") if v.task):
                for auc in self.paper.select(table=table, metric="auc", task=roc.task):
                    ok = abs(roc.value - auc.value) <= roc.half_unit + auc.half_unit
                    self.add("definition", roc, f"{_TASK_NAMES[roc.task]} 'ROC' vs 'AUC' of the same row",
                             auc.printed, ok, "Weka's 'ROC Area' is the area under the ROC curve, the AUC: "
                             "two different figures for one model cannot both be that area")
        by_task: dict[str, list[PublishedValue]] = {}
        for roc in self.paper.select(metric="roc"):
            if roc.task:
                by_task.setdefault(roc.task, []).append(roc)
        for task, values in by_task.items():
            for a, b in zip(values, values[1:]):
                ok = abs(a.value - b.value) <= a.half_unit + b.half_unit
                self.add("cross-table", b, f"{_TASK_NAMES[task]} ROC in {b.table} vs {a.table}", a.printed, ok,
                         "the same figure printed twice" + ("" if ok else " with two values"), key=a.id)
        self.mse()

    def mse(self) -> None:
        mses = self.paper.select(metric="mse")
        for value in mses:
            m = self.metrics.get(value.task)
            if m is None:
                continue
            bounds = m.mse_lower_bounds()
            reading, bound = min(bounds.items(), key=lambda item: item[1])
            ok = value.value + value.half_unit >= bound - 1e-12
            others = "; ".join(f"{name} >= {b:.4f}" for name, b in bounds.items())
            at_bound = ok and value.value - value.half_unit < bound
            self.add("bound", value, f"{_TASK_NAMES[value.task]} MSE >= its smallest possible value "
                     f"({len(m.labels)} classes, {m.errors:g} errors)", round(bound, 5), ok,
                     f"{_NOT_CHECKABLE} exactly (needs scores), but every misclassified instance adds at least a 0.5/0.5 "
                     f"tie's error: {others}" + (f"; {value.printed} is impossible under every reading" if not ok else
                        "; possible only as Weka RMSE², and only if nearly every error is a 50:50 tie and every correct "
                        "prediction certain" if at_bound else ""))
        tables = [v for v in mses if v.table.startswith("Table")]
        for value in mses:
            if value.table.startswith("Table"):
                continue
            for printed in (t for t in tables if t.task == value.task):
                ok = abs(value.value - printed.value) <= value.half_unit + printed.half_unit
                swapped = any(t.task != value.task and abs(t.value - value.value) < 1e-12 for t in tables)
                self.add("cross-table", value, f"{_TASK_NAMES[value.task]} MSE in the {value.table.lower()} vs "
                         f"{printed.table}", printed.printed, ok,
                         "" if ok else f"{printed.table} prints {value.printed} for the other task: "
                         + ("the two MSE values are swapped" if swapped else "they differ"), key=printed.id)

    def summaries(self) -> None:
        """The abstract's and conclusion's figures against the tables they summarise."""
        paper = self.paper
        for value in paper.select(table="Abstract", task=None):
            if value.metric not in ("f_measure", "precision", "recall", "kappa", "roc", "auc"):
                continue
            rows = [v for v in paper.select(metric=value.metric) if v.table.startswith("Table") and v.task]
            rows = [v for v in rows if v.table == rows[0].table] if rows else []
            if len(rows) >= 2:
                mean = sum(v.value for v in rows) / len(rows)
                ok = _within(value, mean)
                truncated = math.floor(mean * 10 ** value.decimals + 1e-9) / 10 ** value.decimals
                note = (f"mean of the {rows[0].table} rows " + ", ".join(v.printed for v in rows) + f" = {mean:g}"
                        + (" (exactly halfway between two printed values)" if math.isclose(abs(mean - value.value), value.half_unit) else "")
                        + ("" if ok else (f"; truncated to {value.decimals} decimals it is {truncated:.{value.decimals}f}"
                                          + (", as printed" if math.isclose(truncated, value.value) else ""))))
                self.add("summary", value, f"abstract's {value.metric.replace('_', '-')} vs mean of the binary and "
                         f"five-class rows of {rows[0].table}", round(mean, value.decimals + 4), ok, note)
            if value.metric in ("f_measure", "precision", "recall", "kappa"):
                recomputed = {task: (m.kappa if value.metric == "kappa" else m.weighted(value.metric))
                              for task, m in self.metrics.items()}
                mean = float(np.mean(list(recomputed.values())))
                self.compare("matrix", value, f"abstract's {value.metric.replace('_', '-')} vs the matrices "
                             "(mean of binary and five-class)", mean,
                             ", ".join(f"{_TASK_NAMES[t]} {x:.4f}" for t, x in recomputed.items())
                             + (" (Weka weighted averages)" if value.metric != "kappa" else ""), key="mean")
        self.conclusion_accuracy()
        self.unnamed()
        self.scorecard()

    def conclusion_accuracy(self) -> None:
        paper = self.paper
        per_class = {"binary": paper.select(metric="per_class_accuracy", task="binary"),
                     "five": paper.select(metric="per_class_accuracy", task="five")}
        for value in paper.select(metric="accuracy", qualifier="average"):
            rows = per_class.get(value.task) or []
            if rows:
                mean = sum(v.value for v in rows) / len(rows)
                self.compare("summary", value, f"{value.table.lower()}'s average {_TASK_NAMES[value.task]} accuracy vs "
                             f"the mean of {rows[0].table}", mean,
                             f"unweighted mean of {', '.join(v.printed for v in rows)} = {mean:g}", raw=True)
            for other in paper.select(metric="accuracy", task=value.task, qualifier=None):
                ok = abs(value.value - other.value) <= value.half_unit + other.half_unit
                self.add("cross-table", value, f"{value.table.lower()}'s {_TASK_NAMES[value.task]} accuracy vs the "
                         f"{other.table.lower()}'s", other.printed, ok, "" if ok else "two accuracies for the same task",
                         key=other.id)

    def unnamed(self) -> None:
        """A figure whose metric the text does not name, against the table it cites (or every table)."""
        for value in self.paper.select(metric="unnamed"):
            candidates = [v for v in self.paper.values if v.task == value.task and v.unit != "count"
                          and (v.table == value.refers_to if value.refers_to else v.table.startswith("Table"))]
            hits = [v for v in candidates if abs(v.value - value.value) <= v.half_unit + value.half_unit]
            elsewhere = [v for v in self.paper.values if v.task == value.task and v.metric == "accuracy"
                         and v.unit == "percent" and abs(v.value / 100 - value.value) <= value.half_unit]
            where = value.refers_to or "the tables"
            self.add("text", value, f"{_TASK_NAMES[value.task]} figure the text attributes to {where}",
                     ", ".join(f"{v.column or v.metric} {v.printed}" for v in candidates), bool(hits),
                     ("matches " + ", ".join(f"{v.table} {v.column or v.metric}" for v in hits)) if hits else
                     f"no value of {where}" + "".join(f"; equals the {v.table.lower()}'s {v.metric} {v.printed}"
                                                      for v in elsewhere))

    def scorecard(self) -> None:
        threshold_metrics = ("f_measure", "precision", "recall")
        for value in self.paper.select(metric="scorecard"):
            threshold = value.value / 100 if value.unit == "percent" else value.value
            groups: dict[str, list[float]] = {}
            untasked = [v for m in threshold_metrics for v in self.paper.select(metric=m, task=None)]
            if untasked:
                groups[f"the {untasked[0].table.lower()}'s F, precision and recall"] = [v.value for v in untasked]
            for task in self.paper.tasks:
                rows = [v for m in threshold_metrics for v in self.paper.select(metric=m, task=task)]
                if rows:
                    groups[f"{rows[0].table}, {_TASK_NAMES[task]} row"] = [v.value for v in rows]
                if task in self.metrics:
                    m = self.metrics[task]
                    groups[f"{self.paper.confusion_table_for(task)} (Weka weighted F, precision, recall)"] = [
                        m.weighted(k) for k in threshold_metrics]
            for name, numbers in groups.items():
                ok = all(x > threshold for x in numbers)
                self.add("summary", value, f"'more than {value.value:g}%' vs {name}",
                         ", ".join(f"{x:.3f}" for x in numbers), ok, "" if ok else "not all above the threshold", key=name)

    def text_claims(self) -> None:
        paper = self.paper
        for types in paper.select(metric="class_type_count"):
            labels = paper.tasks.get(types.task or "five", ())
            tables = sorted({v.table for v in paper.values if v.task == types.task and v.class_ is not None
                             and v.table.startswith("Table")})
            self.add("text", types, "number of leukocyte types identified", float(len(labels)),
                     types.value == len(labels),
                     f"{', '.join(tables)} hold {len(labels)} types: {', '.join(paper.printed_labels[types.task or 'five'])}")
        grand = self.first(metric="class_count", subset="all", class_=None, task="binary")
        totals = {v.class_: v.value for v in paper.select(metric="class_count", subset="all", task="binary")
                  if grand and v.table == grand.table}
        n = totals.get(None)
        for value in paper.select(metric="group_share"):
            share = 100 * totals[value.class_] / n if n and value.class_ in totals else None
            if value.claim == "range" and share is not None:
                low, high = value.value
                other = [v for v in paper.select(metric="group_share", claim="range") if v.class_ != value.class_]
                swapped = bool(other) and other[0].value[0] <= share <= other[0].value[1]
                self.add("text", value, f"share of {value.class_}s vs {grand.table}", round(share, 2), low <= share <= high,
                         f"{totals[value.class_]:g} of {n:g}" + (f"; it falls in the range the text gives for "
                                                                  f"{other[0].class_}s: the two ranges are swapped"
                                                                  if swapped and not low <= share <= high else ""))
            elif value.claim == "approximately":
                ranges = [v for v in paper.select(metric="group_share", claim="range") if v.class_ == value.class_]
                for other in ranges:
                    low, high = other.value
                    self.add("text", value, f"share of {value.class_}s: {value.table} vs {other.table}",
                             other.printed, low - 5 <= value.value <= high + 5,
                             "two statements of the text about the same share (judged with 5 points of slack for "
                             "'around')" + (f"; the data set has {share:.1f}%" if share is not None else ""))
        group_of = {c: g for g, members in paper.groups.items() for c in members}
        for statement in paper.statements:
            if statement.kind != "group_members":
                continue
            group = statement.fields["group"]
            members = statement.fields["members"]
            wrong = [c for c in members if c in group_of and group_of[c] != group]
            unknown = [c for c in members if c not in group_of]
            self.findings.append(Finding(
                id=f"text:{statement.id}", check="text", table=statement.table,
                quantity=f"members of the {group}s vs Table 2", published=", ".join(members),
                recomputed=", ".join(paper.groups.get(group, ())), consistent=not wrong,
                note=(f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} grouped as "
                      f"{group_of[wrong[0]]} in Table 2" if wrong else "as in Table 2")
                + (f"; {', '.join(unknown)} not among the classified types" if unknown else "")))

    def inputs(self) -> None:
        for table in self.paper.confusion_tables():
            cells = self.paper.select(table=table, metric="confusion_count")
            self.findings.append(Finding(
                id=f"input:{table}", check="input", table=table,
                quantity=f"the {len(cells)} cells of the matrix, row by row (actual class)",
                published=" / ".join(" ".join(c.printed for c in cells if c.class_ == label)
                                     for label in self.paper.tasks[self.paper.confusion_tables()[table]]),
                recomputed=None, consistent=None,
                note="the data every recomputation starts from; checked only through the printed totals, the class "
                     "counts of the other tables and the figures derived from them"))

    def run(self) -> list[Finding]:
        self.inputs()
        self.count_tables()
        self.split()
        self.groups()
        self.confusion_arithmetic()
        self.accuracy()
        self.per_class_accuracy()
        self.threshold_metrics()
        self.kappa()
        self.scores_only()
        self.summaries()
        self.text_claims()
        return self.findings


def audit_paper(paper: Paper) -> list[Finding]:
    """Every check the paper's printed numbers allow; see the module docstring."""
    return _Auditor(paper).run()


def summary_counts(findings: list[Finding]) -> dict[str, int]:
    """How many findings are consistent, inconsistent and not checkable."""
    return {"consistent": sum(f.consistent is True for f in findings),
            "inconsistent": sum(f.consistent is False for f in findings),
            "not checkable": sum(f.consistent is None for f in findings)}


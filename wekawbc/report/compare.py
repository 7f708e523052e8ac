"""Published values beside a run's, under the paper's named definition and every plausible reading.

A five-class run is set against the paper's five-class ("five") values (Tables 4, 5, 6, 8, 9 and the
abstract), a binary run against the binary ones (Tables 3, 5, 6, 7, 9). Where a paper's definition is
ambiguous, each candidate reading gets its own row: "per-class accuracy" as recall, precision or
one-vs-rest accuracy; precision/recall/F as Weka's weighted average or a macro average; "ROC" and "AUC"
as Weka's ROC Area (an AUC) or scikit-learn's one-vs-rest macro AUC; "MSE" as Weka's RMSE², the Brier
score, Weka's MAE or RMSE. The reading the paper's own software (Weka) would print is marked primary.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from wekawbc._io import WekawbcError
from wekawbc.cells.dataset import normalise_label
from wekawbc.papers import Paper, PublishedValue
from wekawbc.report.render import markdown_code, markdown_table, markdown_text, render_html
from wekawbc.report.runfolder import Run

__all__ = ["compare_with_paper", "comparison_markdown", "comparison_html", "canonical_label", "run_task", "run_columns",
           "run_entries", "run_matrix", "format_value", "format_difference"]

def canonical_label(label: str) -> str:
    """A class name as papers and data sets spell it differently: one of the five types by the project's
    one synonym table (:func:`wekawbc.cells.dataset.normalise_label`), else lower case and singular
    (``Agranulocytes`` → ``agranulocyte``)."""
    try:
        return normalise_label(label) or ""
    except ValueError:
        name = re.sub(r"[^a-z]", "", label.lower())
        return name[:-1] if name.endswith("s") else name


def run_task(paper: Paper, run: Run) -> tuple[str, dict[str, str]]:
    """The paper's task whose classes equal the run's, and the map paper label -> run label.

    Raises
    ------
    WekawbcError
        No task of the paper has the run's classes (naming both class sets).
    """
    by_name = {canonical_label(label): label for label in run.labels}
    for task, labels in paper.tasks.items():
        if set(labels) == set(by_name):
            return task, {label: by_name[label] for label in labels}
    tasks = "; ".join(f"{task}: {', '.join(labels)}" for task, labels in paper.tasks.items())
    raise WekawbcError(f"{run.path}: the run's classes ({', '.join(run.labels)}) match no task of {paper.key} "
                       f"({tasks})")


class _RunValues:
    """The run's numbers under each reading, from its report.json."""

    def __init__(self, run: Run, label_map: Mapping[str, str]) -> None:
        self.evaluation = run.evaluation
        self.label_map = label_map
        self.classes = {row["class"]: row for row in self.evaluation["classes"]}
        cm = self.evaluation["confusion_matrix"]
        self.matrix = np.array([[np.nan if v is None else v for v in row] for row in cm["matrix"]], dtype=float)
        self.index = {label: k for k, label in enumerate(cm["labels"])}
        self.imbalance = self.evaluation.get("imbalance") or {}

    def per_class(self, label: str, stat: str) -> float | None:
        return self.classes[self.label_map[label]].get(stat)

    def ovr_accuracy(self, label: str) -> float:
        k = self.index[self.label_map[label]]
        n = self.matrix.sum()
        return (n - (self.matrix[k].sum() - self.matrix[k, k]) - (self.matrix[:, k].sum() - self.matrix[k, k])) / n

    def macro(self, stat: str) -> float | None:
        values = [row.get(stat) for row in self.classes.values()]
        return None if any(v is None for v in values) else float(np.mean(values))

    def summary(self, key: str) -> float | None:
        return self.evaluation["summary"].get(key)

    def cell_share(self, actual: str, predicted: str) -> float:
        i, j = self.index[self.label_map[actual]], self.index[self.label_map[predicted]]
        return self.matrix[i, j] / self.matrix[i].sum()


Reading = tuple[str, bool, Callable[[_RunValues, PublishedValue], float | None], str]


def _readings(value: PublishedValue) -> list[Reading]:
    """(reading, primary, run value in fractions, note) for a published value."""
    metric = value.metric
    if metric == "per_class_accuracy":
        c = value.class_
        return [("recall (TP rate)", True, lambda r, v: r.per_class(c, "recall"),
                 "the paper does not define per-class accuracy; Weka's per-class figure closest to it is TP Rate"),
                ("precision", False, lambda r, v: r.per_class(c, "precision"), "candidate reading"),
                ("one-vs-rest accuracy", False, lambda r, v: r.ovr_accuracy(c), "(TP + TN) / N for this class")]
    if metric in ("f_measure", "precision", "recall"):
        return [("Weka weighted average", True, lambda r, v: r.evaluation["weighted_avg"].get(metric),
                 "Weka's 'Weighted Avg.' row (classes weighted by their actual counts); the paper names no averaging"),
                ("macro average", False, lambda r, v: r.macro(metric), "unweighted mean over classes")]
    if metric == "kappa":
        return [("Cohen's kappa (Weka)", True, lambda r, v: r.summary("kappa"), "Weka's 'Kappa statistic'")]
    if metric in ("roc", "auc"):
        note = ("Weka's 'ROC Area' is the area under the ROC curve, so 'ROC' and 'AUC' are the same number in Weka; "
                "the paper prints two")
        return [("Weka weighted ROC Area", True, lambda r, v: r.evaluation["weighted_avg"].get("roc_area"), note),
                ("one-vs-rest macro AUC", False, lambda r, v: r.imbalance.get("roc_auc_ovr_macro"),
                 "scikit-learn roc_auc_score(average='macro', multi_class='ovr')")]
    if metric == "mse":
        return [("Weka RMSE squared", True, lambda r, v: None if r.summary("root_mean_squared_error") is None
                 else r.summary("root_mean_squared_error") ** 2,
                 "Weka prints no MSE; RMSE² is the mean squared error Weka's RMSE is the root of (Brier / K)"),
                ("Brier score (sum over classes)", False, lambda r, v: r.imbalance.get("brier_multiclass"),
                 "scikit-learn's multi-class Brier score"),
                ("Weka mean absolute error", False, lambda r, v: r.summary("mean_absolute_error"), "candidate reading"),
                ("Weka RMSE", False, lambda r, v: r.summary("root_mean_squared_error"), "candidate reading")]
    if metric == "accuracy":
        return [("Weka % correct", True, lambda r, v: None if r.summary("correct_pct") is None
                 else r.summary("correct_pct") / 100, "Weka's 'Correctly Classified Instances' percentage")]
    if metric == "confusion_count":
        a, p = value.class_, value.predicted
        return [("share of the actual class's row", True, lambda r, v: r.cell_share(a, p),
                 "a row-normalised cell: the counts of a run and the paper differ in size")]
    return []


def _row_total(paper: Paper, value: PublishedValue) -> float:
    return sum(v.value for v in paper.select(table=value.table, metric="confusion_count", class_=value.class_))


def _published_text(paper: Paper, value: PublishedValue) -> str:
    if value.metric != "confusion_count":
        return value.printed
    total = _row_total(paper, value)
    return f"{value.printed} of {total:g} ({value.value / total * 100:.1f} %)"


def _published_fraction(paper: Paper, value: PublishedValue) -> float:
    if value.metric == "confusion_count":
        return value.value / _row_total(paper, value)
    return round(value.value / 100, value.decimals + 2) if value.unit == "percent" else float(value.value)


def compare_with_paper(paper: Paper, runs: Sequence[Run]) -> dict[str, Any]:
    """Rows of published values beside each run's values under each reading.

    Returns
    -------
    dict
        ``{"paper", "runs": [{"name", "path", "task"}], "rows": [{"table", "quantity", "task", "reading",
        "primary", "published", "published_value", "values": [per run], "differences": [per run],
        "note"}]}``; values are fractions (percentages as 0..1), differences are run minus paper.

    Raises
    ------
    WekawbcError
        A run's classes match none of the paper's tasks, or the runs are on different class sets.
    """
    if not runs:
        raise WekawbcError("no runs to compare")
    tasks = [run_task(paper, run) for run in runs]
    if len({task for task, _ in tasks}) > 1:
        raise WekawbcError("cannot compare runs on different class sets in one table: "
                           + "; ".join(f"{run.path}: {', '.join(run.labels)}" for run in runs))
    task = tasks[0][0]
    values = [_RunValues(run, label_map) for run, (_, label_map) in zip(runs, tasks)]
    rows = []
    for value in paper.values:
        if value.task != task or value.claim != "equal":
            continue
        for reading, primary, get, note in _readings(value):
            published = _published_fraction(paper, value)
            run_values = [get(r, value) for r in values]
            run_values = [None if v is None or isinstance(v, float) and math.isnan(v) else float(v) for v in run_values]
            rows.append({
                "table": value.table, "id": value.id, "task": task,
                "quantity": _quantity(paper, value), "reading": reading, "primary": primary,
                "published": _published_text(paper, value), "published_value": published,
                "values": run_values, "differences": [None if v is None else v - published for v in run_values],
                "unit": "percent" if value.unit == "percent" or value.metric == "confusion_count" else "fraction",
                "note": note})
    return {"paper": paper.key, "task": task, "runs": run_entries(runs), "rows": rows,
            "matrices": _paper_matrices(paper, task, runs, [label_map for _, label_map in tasks])}


def _paper_matrices(paper: Paper, task: str, runs: Sequence[Run],
                    label_maps: Sequence[Mapping[str, str]]) -> dict[str, Any] | None:
    """The paper's confusion matrix of ``task`` and each run's, rows and columns in the paper's class order."""
    name = paper.confusion_table_for(task)
    if name is None:
        return None
    labels, matrix = paper.confusion_matrix(name)
    return {"labels": list(labels), "published": {"title": f"{paper.key} {name}", "counts": matrix.tolist()},
            "runs": [run_matrix(run, [label_map[label] for label in labels]) for run, label_map in zip(runs, label_maps)]}


def run_matrix(run: Run, labels: Sequence[str]) -> list[list[float | None]]:
    """The run's confusion matrix (counts) with rows and columns in the order of ``labels`` (the run's names)."""
    cm = run.evaluation["confusion_matrix"]
    index = [cm["labels"].index(label) for label in labels]
    return [[cm["matrix"][i][j] for j in index] for i in index]


def _short_classifier(command: Any) -> str | None:
    """``weka.classifiers.trees.J48 -C 0.25`` → ``J48``; None for anything else."""
    if not isinstance(command, str) or not command.strip():
        return None
    return command.split()[0].rsplit(".", 1)[-1]


def run_columns(runs: Sequence[Run]) -> list[str]:
    """A short, unique column name per run: the scheme or classifier its settings name, else its title.

    Where two runs would share a name, the run folder's name is added (``J48 (j48_pruned)``), and a
    number where that is not enough.
    """
    names = []
    for run in runs:
        settings = run.report.get("settings") or {}
        names.append(str(settings.get("scheme") or _short_classifier(settings.get("classifier")) or run.name))
    counts = Counter(names)
    names = [f"{name} ({run.path.name})" if counts[name] > 1 and name != run.path.name else name
             for name, run in zip(names, runs)]
    counts = Counter(names)
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(f"{name} #{seen[name]}" if counts[name] > 1 else name)
    return unique


def run_entries(runs: Sequence[Run]) -> list[dict[str, str]]:
    """The ``runs`` of a comparison table: each run's column name, title and folder."""
    return [{"column": column, "name": run.name, "path": str(run.path)} for column, run in zip(run_columns(runs), runs)]


def _quantity(paper: Paper, value: PublishedValue) -> str:
    names = {"per_class_accuracy": "accuracy", "f_measure": "F-measure", "mse": "MSE", "roc": "ROC", "auc": "AUC"}
    name = names.get(value.metric, value.metric.replace("_", " "))
    if value.metric == "confusion_count":
        return f"{value.row} → {value.column}"
    return f"{value.row + ' ' if value.class_ and value.row else ''}{name}" + (
        f" ({value.qualifier})" if value.qualifier else "")


_DASH = "\u2014"
_MINUS = "\u2212"
_NO_VALUE = "no value: the statistic is undefined for this run (Weka prints ?), or the run does not hold it"


def format_value(value: float | None, unit: str) -> str:
    """A compared value as tables show it: a percentage marked ``%`` (two decimals), else three decimals;
    an em dash where there is none. The JSON keeps full precision."""
    if value is None:
        return _DASH
    if unit == "count":
        return f"{value:g}"
    return f"{value * 100:.2f} %" if unit == "percent" else f"{value:.3f}"


def format_difference(difference: float | None, unit: str) -> str:
    """Run − published, always signed: percentage points (``pp``) for percentages, else three decimals."""
    if difference is None:
        return _DASH
    if unit == "count":
        text = f"{difference + 0.0:+g}"
    elif unit == "percent":
        text = f"{round(difference * 100, 2) + 0.0:+.2f} pp"
    else:
        text = f"{round(difference, 3) + 0.0:+.3f}"
    return text.replace("-", _MINUS)


_EXPLANATION = ("Percentages are marked % (shares of a confusion-matrix row are percentages of the actual class); "
                "other statistics are fractions (0 to 1). Δ = run − published, signed: in percentage points (pp) "
                "for percentages. — : no value (undefined, as Weka's ?). Tables round to two or three decimals; "
                "the JSON beside this page keeps every digit.")


def comparison_markdown(table: Mapping[str, Any]) -> str:
    """The comparison as Markdown: one row per published value and reading, primary readings in bold."""
    columns = [run["column"] for run in table["runs"]]
    header = [markdown_text(h) for h in ("Where", "Quantity", "Reading", "Published", *columns,
                                         *(f"Δ {name}" for name in columns), "Note")]
    rows = []
    for row in table["rows"]:
        reading = f"**{markdown_text(row['reading'])}**" if row["primary"] else markdown_text(row["reading"])
        unit = row.get("unit", "fraction")
        rows.append([markdown_text(row["table"]), markdown_text(row["quantity"]), reading,
                     markdown_text(row["published"]), *(format_value(v, unit) for v in row["values"]),
                     *(format_difference(d, unit) for d in row["differences"]), markdown_text(row["note"])])
    runs = "\n".join(f"- {markdown_text(r['column'])}: {markdown_text(r['name'])} ({markdown_code(r['path'])})"
                     for r in table["runs"])
    return (f"# {markdown_text(table['paper'])}: published values beside the run(s)\n\n{runs}\n\nTask: "
            f"{markdown_text(_task_name(table['task']))}. {_EXPLANATION} The reading in bold is what Weka, the "
            f"paper's software, prints under the paper's name for it.\n\n"
            f"{markdown_table(header, rows, raw_cells=True)}")


def _task_name(task: str) -> str:
    return {"five": "five-class", "binary": "binary (granulocyte / agranulocyte)",
            "weka": "the classes of the Weka output"}.get(task, task)


def _heat(count: float | None, total: float) -> dict[str, str]:
    """One heatmap cell: the count, shaded by its share of the row (the diagonal is each class's recall)."""
    if count is None:
        return {"text": "?", "style": "", "title": "undefined"}
    share = count / total if total else 0.0
    text = f"{count:g}"
    colour = "#fff" if share > 0.55 else "#111"
    return {"text": text, "style": f"background-color:rgba(33,102,172,{share:.3f});color:{colour}",
            "title": f"{text} of {total:g} ({share * 100:.1f} % of the row)"}


def _heatmap(title: str, counts: Sequence[Sequence[float | None]]) -> dict[str, Any]:
    rows = []
    for row in counts:
        total = sum(v or 0 for v in row)
        rows.append([_heat(v, total) for v in row])
    return {"title": title, "rows": rows}


def _matrix_panels(table: Mapping[str, Any]) -> dict[str, Any] | None:
    matrices = table.get("matrices")
    if not matrices:
        return None
    panels = [_heatmap(matrices["published"]["title"], matrices["published"]["counts"])]
    panels += [_heatmap(run["column"], counts) for run, counts in zip(table["runs"], matrices["runs"])]
    labels = matrices["labels"]
    return {"labels": labels, "short": [label[:4] for label in labels], "panels": panels}


def _groups(table: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows by the paper's table (or Weka block) they come from, in order of first appearance."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in table["rows"]:
        unit = row.get("unit", "fraction")
        cells = [{"value": format_value(v, unit), "delta": "" if v is None else format_difference(d, unit),
                  "title": _NO_VALUE if v is None else f"{v!r} (run − published = {d!r})"}
                 for v, d in zip(row["values"], row["differences"])]
        groups.setdefault(row["table"], []).append({**row, "cells": cells})
    return [{"title": title, "rows": rows} for title, rows in groups.items()]


def comparison_html(table: Mapping[str, Any]) -> str:
    """The comparison as a self-contained HTML page: the confusion matrices side by side as heatmaps, then
    one table per published table, a column per run named by its classifier, each value with its signed Δ."""
    return render_html("comparison.html.j2", title=f"{table['paper']} comparison", paper=table["paper"],
                       task=_task_name(table["task"]), runs=table["runs"], groups=_groups(table),
                       matrices=_matrix_panels(table), explanation=_EXPLANATION, wide=True)

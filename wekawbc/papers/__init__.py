"""Published results as data: papers' tables transcribed value by value, with a validating loader.

Each paper is a JSON file of the form documented in ``docs/papers.md`` (schema ``wekawbc.paper``,
version 1). The files bundled with the package (``wekawbc/papers/<key>.json``) load by key::

    >>> from wekawbc.papers import load_paper
    >>> paper = load_paper("alkrimi2023")
    >>> paper.value("t5.binary.f_measure").printed
    '0.987'
    >>> labels, matrix = paper.confusion_matrix("Table 8")

A file that does not follow the schema raises :class:`~wekawbc._io.WekawbcError` naming the file,
the entry and the field.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from wekawbc._io import WekawbcError, not_utf8

__all__ = ["Paper", "PublishedValue", "Statement", "available_papers", "load_paper", "paper_from_dict",
           "METRICS", "SCHEMA", "SCHEMA_VERSION", "TASKS", "TASK_ALIASES", "canonical_task"]

SCHEMA = "wekawbc.paper"
SCHEMA_VERSION = 1

#: The metric a printed value claims to be, and what that name means in this schema.
METRICS: dict[str, str] = {
    "class_count": "number of instances of a class (or all classes when 'class' is null) in a subset",
    "per_class_accuracy": "a per-class 'accuracy' as printed; its definition (recall, precision, one-vs-rest accuracy) is not stated",
    "accuracy": "percentage of correctly classified instances",
    "f_measure": "F-measure (F1); the averaging over classes may be unstated",
    "precision": "precision; the averaging over classes may be unstated",
    "recall": "recall (TP rate); the averaging over classes may be unstated",
    "kappa": "Cohen's kappa statistic",
    "roc": "a figure printed as 'ROC' (in Weka, 'ROC Area' is the area under the ROC curve)",
    "auc": "area under the ROC curve",
    "mse": "a figure printed as 'MSE' (Weka prints no MSE; candidates are RMSE squared, Brier score, MAE)",
    "confusion_count": "confusion-matrix cell: instances of class 'class' predicted as 'predicted'",
    "confusion_row_total": "printed row total of a confusion matrix (instances of class 'class')",
    "confusion_column_total": "printed column total of a confusion matrix (instances predicted as 'predicted')",
    "confusion_total": "printed grand total of a confusion matrix",
    "class_type_count": "number of classes (cell types) the text says are identified",
    "group_share": "share of a class group among all leukocytes, as the text states it",
    "image_count": "number of images in the data set",
    "source_image_count": "number of original images the data set was made from",
    "split_ratio": "training:validation ratio (percent)",
    "scorecard": "an unnamed summary score (the text calls it an average)",
    "unnamed": "a figure whose metric the text does not name",
}
UNITS = ("count", "percent", "fraction")
CLAIMS = ("equal", "approximately", "range", "ratio", "greater_than")
#: The tasks a paper's values belong to, named as the code names them (``wekawbc.cells.dataset``).
TASKS = ("binary", "five")
#: Earlier names of a task, read as its name (paper files written before the rename keep loading).
TASK_ALIASES = {"multi": "five"}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_REQUIRED_VALUE_FIELDS = ("id", "table", "printed", "value", "decimals", "unit", "metric")


def canonical_task(task: str | None) -> str | None:
    """The task's name (``"multi"``, its former name, is ``"five"``)."""
    return None if task is None else TASK_ALIASES.get(task, task)


def _migrate_tasks(data: dict) -> dict:
    """The document with every task named by its current name (``tasks``, values, confusion tables)."""
    data = dict(data)
    if isinstance(data.get("tasks"), dict):
        data["tasks"] = {canonical_task(name): info for name, info in data["tasks"].items()}
    if isinstance(data.get("values"), list):
        data["values"] = [{**entry, "task": canonical_task(entry["task"])}
                          if isinstance(entry, dict) and isinstance(entry.get("task"), str) else entry
                          for entry in data["values"]]
    if isinstance(data.get("tables"), dict):
        tables = {}
        for name, info in data["tables"].items():
            matrix = info.get("confusion_matrix") if isinstance(info, dict) else None
            if isinstance(matrix, dict) and isinstance(matrix.get("task"), str):
                info = {**info, "confusion_matrix": {**matrix, "task": canonical_task(matrix["task"])}}
            tables[name] = info
        data["tables"] = tables
    return data


@dataclass(frozen=True)
class PublishedValue:
    """One number a paper prints, with where it is printed and what it claims to be.

    ``value`` is in the printed unit (96.4 for "96.4%"); a range or ratio holds a tuple of numbers.
    ``decimals`` is the number of decimals printed, so the value stands for anything that rounds to it.
    """

    id: str
    table: str
    printed: str
    value: float | tuple[float, ...]
    decimals: int
    unit: str
    metric: str
    row: str | None = None
    column: str | None = None
    task: str | None = None
    class_: str | None = None
    predicted: str | None = None
    subset: str | None = None
    claim: str = "equal"
    qualifier: str | None = None
    quote: str | None = None
    note: str | None = None
    refers_to: str | None = None

    @property
    def half_unit(self) -> float:
        """Half a unit in the last printed decimal: how far the exact value may lie from the printed one."""
        return 0.5 * 10.0 ** -self.decimals

    @property
    def where(self) -> str:
        """Location as a reader finds it: table, row and column (or the section)."""
        parts = [self.table]
        if self.row:
            parts.append(f"row '{self.row}'")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "table": self.table, "row": self.row, "column": self.column, "printed": self.printed,
                "value": list(self.value) if isinstance(self.value, tuple) else self.value,
                "decimals": self.decimals, "unit": self.unit, "metric": self.metric, "task": self.task,
                "class": self.class_}
        for name in ("predicted", "subset", "qualifier", "quote", "note", "refers_to"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.claim != "equal":
            data["claim"] = self.claim
        return data


@dataclass(frozen=True)
class Statement:
    """A non-numeric claim of the text (for example which cell types form a group)."""

    id: str
    table: str
    kind: str
    quote: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Paper:
    """A paper's published results: its tasks, class groups, tables and every printed value."""

    key: str
    citation: str
    tasks: dict[str, tuple[str, ...]]
    printed_labels: dict[str, tuple[str, ...]]
    groups: dict[str, tuple[str, ...]]
    tables: dict[str, dict[str, Any]]
    values: tuple[PublishedValue, ...]
    statements: tuple[Statement, ...] = ()
    url: str | None = None
    software: str | None = None
    source: str = "<dict>"

    def value(self, value_id: str) -> PublishedValue:
        """The value with this id (KeyError naming the paper otherwise)."""
        for item in self.values:
            if item.id == value_id:
                return item
        raise KeyError(f"{self.key}: no value with id '{value_id}'")

    def select(self, **criteria: Any) -> list[PublishedValue]:
        """Values whose attributes equal every criterion (use ``class_`` for the class)."""
        if "task" in criteria:
            criteria["task"] = canonical_task(criteria["task"])
        return [item for item in self.values if all(getattr(item, name) == wanted for name, wanted in criteria.items())]

    def class_counts(self, task: str) -> dict[str, int]:
        """The whole data set's count of each class of ``task``, as the paper prints it ({} if not printed)."""
        return {item.class_: int(item.value) for item in self.select(metric="class_count", task=task, subset="all")
                if item.class_ is not None}

    def confusion_tables(self) -> dict[str, str]:
        """Table name -> task, for every table that is a confusion matrix."""
        return {name: info["confusion_matrix"]["task"] for name, info in self.tables.items()
                if info.get("confusion_matrix") is not None}  # null: no matrix, as the loader reads it

    def confusion_matrix(self, table: str) -> tuple[tuple[str, ...], np.ndarray]:
        """The labels (the task's class order) and the printed cells of a confusion table, rows actual."""
        task = self.confusion_tables().get(table)
        if task is None:
            raise KeyError(f"{self.key}: '{table}' is not a confusion-matrix table")
        labels = self.tasks[task]
        index = {label: k for k, label in enumerate(labels)}
        matrix = np.zeros((len(labels), len(labels)))
        for item in self.select(table=table, metric="confusion_count"):
            matrix[index[item.class_], index[item.predicted]] = item.value
        return labels, matrix

    def confusion_table_for(self, task: str) -> str | None:
        """Name of the confusion-matrix table of a task, or None."""
        return next((name for name, t in self.confusion_tables().items() if t == canonical_task(task)), None)


def _bundled_dir():
    return resources.files(__name__)


def available_papers() -> list[str]:
    """Keys of the papers bundled with the package."""
    return sorted(entry.name[:-5] for entry in _bundled_dir().iterdir() if entry.name.endswith(".json"))


def load_paper(name_or_path: str | os.PathLike) -> Paper:
    """Load a bundled paper by key (``"alkrimi2023"``) or a paper JSON file by path, validating it.

    Raises
    ------
    WekawbcError
        The file is missing or not JSON, or a field does not follow the schema (the message names it).
    """
    text_name = str(name_or_path)
    if text_name in available_papers():
        source = f"{text_name} (bundled)"
        text = (_bundled_dir() / f"{text_name}.json").read_text(encoding="utf-8")
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise WekawbcError(
                f"{path}: no such paper file, and '{text_name}' is not a bundled paper (bundled: {', '.join(available_papers())})")
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise WekawbcError(not_utf8(path, error)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise WekawbcError(f"{source}: not valid JSON: line {error.lineno} column {error.colno}: {error.msg}") from None
    return paper_from_dict(data, source)


class _Checker:
    """Schema checks that raise one WekawbcError naming the source, the entry and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> None:
        raise WekawbcError(f"{self.source}: {where}: {message}")

    def get(self, mapping: dict, key: str, where: str, types: tuple, required: bool = True) -> Any:
        if not isinstance(mapping, dict):
            self.fail(where, f"expected an object, got {type(mapping).__name__} {mapping!r:.60}")
        if key not in mapping or mapping[key] is None:
            if required:
                self.fail(where, f"field '{key}' is missing")
            return None
        value = mapping[key]
        if not isinstance(value, types) or isinstance(value, bool) and bool not in types:
            names = "/".join(t.__name__ for t in types)
            self.fail(where, f"field '{key}' is {type(value).__name__} {value!r}, expected {names}")
        return value


def _check_printed(check: _Checker, where: str, printed: str, numbers: tuple[float, ...], decimals: int) -> None:
    """The numbers written in ``printed`` must be ``numbers``, and ``decimals`` their printed decimals."""
    found = _NUMBER.findall(printed)
    if not found:  # a number written as a word ("seven")
        return
    if len(found) != len(numbers) or any(not math.isclose(float(f), n, abs_tol=1e-12) for f, n in zip(found, numbers)):
        check.fail(where, f"field 'value' {list(numbers)} differs from the printed text '{printed}'")
    printed_decimals = max(len(f.partition(".")[2]) for f in found)
    if printed_decimals != decimals:
        check.fail(where, f"field 'decimals' is {decimals} but the printed text '{printed}' has {printed_decimals}")


def _parse_value(check: _Checker, entry: dict, where: str, tasks: dict, tables: dict) -> PublishedValue:
    item_id = check.get(entry, "id", where, (str,))
    where = f"{where} ('{item_id}')"
    for key in _REQUIRED_VALUE_FIELDS:
        check.get(entry, key, where, (object,))
    table = check.get(entry, "table", where, (str,))
    if table not in tables:
        check.fail(where, f"field 'table' is '{table}', which is not among 'tables'")
    raw = entry["value"]
    numbers = tuple(raw) if isinstance(raw, list) else (raw,)
    if not numbers or any(isinstance(n, bool) or not isinstance(n, (int, float)) for n in numbers):
        check.fail(where, f"field 'value' is {raw!r}, expected a number or a list of numbers")
    decimals = check.get(entry, "decimals", where, (int,))
    if decimals < 0:
        check.fail(where, f"field 'decimals' is {decimals}, expected 0 or more")
    printed = check.get(entry, "printed", where, (str,))
    _check_printed(check, where, printed, numbers, decimals)
    unit = check.get(entry, "unit", where, (str,))
    if unit not in UNITS:
        check.fail(where, f"field 'unit' is '{unit}', expected one of {', '.join(UNITS)}")
    metric = check.get(entry, "metric", where, (str,))
    if metric not in METRICS:
        check.fail(where, f"field 'metric' is '{metric}', expected one of {', '.join(METRICS)}")
    claim = check.get(entry, "claim", where, (str,), required=False) or "equal"
    if claim not in CLAIMS:
        check.fail(where, f"field 'claim' is '{claim}', expected one of {', '.join(CLAIMS)}")
    if (len(numbers) > 1) != (claim in ("range", "ratio")):
        check.fail(where, f"field 'value' {raw!r} does not suit claim '{claim}' (a list needs 'range' or 'ratio')")
    task = check.get(entry, "task", where, (str,), required=False)
    if task is not None and task not in tasks:
        check.fail(where, f"field 'task' is '{task}', expected one of {', '.join(tasks)} or null")
    labels = set(tasks.get(task, ())) if task else {label for group in tasks.values() for label in group}
    for key in ("class", "predicted"):
        label = check.get(entry, key, where, (str,), required=False)
        if label is not None and label not in labels:
            check.fail(where, f"field '{key}' is '{label}', not a class of task '{task}' ({', '.join(sorted(labels))})")
    if metric == "confusion_count" and (entry.get("class") is None or entry.get("predicted") is None or task is None):
        check.fail(where, "a 'confusion_count' needs 'task', 'class' (actual) and 'predicted'")
    if metric == "confusion_count" and not all(n >= 0 and float(n).is_integer() for n in numbers):
        check.fail(where, f"field 'value' {raw!r}: a confusion-matrix cell is a whole count >= 0")
    if metric == "per_class_accuracy" and entry.get("class") is None:
        check.fail(where, "a 'per_class_accuracy' needs 'class'")
    optional = {key: check.get(entry, key, where, (str,), required=False)
                for key in ("row", "column", "subset", "qualifier", "quote", "note", "refers_to")}
    if optional["refers_to"] is not None and optional["refers_to"] not in tables:
        check.fail(where, f"field 'refers_to' is '{optional['refers_to']}', which is not among 'tables'")
    return PublishedValue(
        id=item_id, table=table, printed=printed, value=numbers if len(numbers) > 1 else float(numbers[0]),
        decimals=decimals, unit=unit, metric=metric, task=task, class_=entry.get("class"),
        predicted=entry.get("predicted"), claim=claim, **optional)


def _check_confusion_tables(check: _Checker, tables: dict, values: Iterable[PublishedValue], tasks: dict) -> None:
    for name, info in tables.items():
        matrix = info.get("confusion_matrix")
        if matrix is None:
            continue
        where = f"tables['{name}'].confusion_matrix"
        task = check.get(matrix, "task", where, (str,))
        if task not in tasks:
            check.fail(where, f"field 'task' is '{task}', expected one of {', '.join(tasks)}")
        labels = tasks[task]
        for v in values:
            needs = {"confusion_count": ("class", "predicted"), "confusion_row_total": ("class",),
                     "confusion_column_total": ("predicted",)}.get(v.metric, ()) if v.table == name else ()
            for field_name in needs:
                label = v.class_ if field_name == "class" else v.predicted
                if label not in labels:
                    check.fail(f"values ('{v.id}')", f"field '{field_name}' is {label!r}, not a class of the "
                                                     f"{task} confusion matrix in '{name}' ({', '.join(labels)})")
        cells = {(v.class_, v.predicted) for v in values if v.table == name and v.metric == "confusion_count"}
        missing = [f"{a}->{p}" for a in tasks[task] for p in tasks[task] if (a, p) not in cells]
        if missing:
            check.fail(where, f"cells missing from 'values': {', '.join(missing)}")


def paper_from_dict(data: Any, source: str = "<dict>") -> Paper:
    """Validate a parsed paper document and build a :class:`Paper`.

    Raises
    ------
    WekawbcError
        Naming ``source``, the entry (``values[12] ('t5.binary.f_measure')``) and the bad field.
    """
    check = _Checker(source)
    if not isinstance(data, dict):
        check.fail("document", f"expected a JSON object, got {type(data).__name__}")
    if data.get("schema") != SCHEMA:
        check.fail("document", f"field 'schema' is {data.get('schema')!r}, expected '{SCHEMA}'")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        check.fail("document", f"field 'schema_version' is {version!r}; this wekawbc reads version {SCHEMA_VERSION}")
    if isinstance(data.get("tasks"), dict) and set(data["tasks"]) >= {"five", *TASK_ALIASES}:
        check.fail("tasks", "task 'multi' is the former name of 'five'; a paper has one of them")
    data = _migrate_tasks(data)
    key = check.get(data, "key", "document", (str,))
    citation = check.get(data, "citation", "document", (str,))
    raw_tasks = check.get(data, "tasks", "document", (dict,))
    tasks: dict[str, tuple[str, ...]] = {}
    printed_labels: dict[str, tuple[str, ...]] = {}
    for task, info in raw_tasks.items():
        where = f"tasks['{task}']"
        if task not in TASKS:
            check.fail("tasks", f"task '{task}' is not one of {', '.join(TASKS)}")
        labels = check.get(info, "labels", where, (list,))
        if len(labels) < 2 or not all(isinstance(label, str) for label in labels) or len(set(labels)) != len(labels):
            check.fail(where, f"field 'labels' must list two or more distinct class names, got {labels!r}")
        tasks[task] = tuple(labels)
        printed = check.get(info, "printed_labels", where, (list,), required=False) or labels
        if not all(isinstance(label, str) for label in printed):
            check.fail(where, f"field 'printed_labels' must list class names, got {printed!r:.60}")
        if len(printed) != len(labels):
            check.fail(where, f"field 'printed_labels' has {len(printed)} names for {len(labels)} labels")
        printed_labels[task] = tuple(printed)
    groups = {}
    for name, members in (check.get(data, "groups", "document", (dict,), required=False) or {}).items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            check.fail(f"groups['{name}']", f"expected a list of class names, got {members!r:.60}")
        groups[name] = tuple(members)
    tables = check.get(data, "tables", "document", (dict,))
    for name, info in tables.items():
        if not isinstance(info, dict):
            check.fail(f"tables['{name}']", f"expected an object, got {type(info).__name__} {info!r:.60}")
    raw_values = check.get(data, "values", "document", (list,))
    values: list[PublishedValue] = []
    for i, entry in enumerate(raw_values):
        if not isinstance(entry, dict):
            check.fail(f"values[{i}]", f"expected an object, got {type(entry).__name__}")
        item = _parse_value(check, entry, f"values[{i}]", tasks, tables)
        if any(earlier.id == item.id for earlier in values):
            check.fail(f"values[{i}]", f"field 'id' '{item.id}' is used twice")
        values.append(item)
    _check_confusion_tables(check, tables, values, tasks)
    statements = []
    for i, entry in enumerate(check.get(data, "statements", "document", (list,), required=False) or []):
        where = f"statements[{i}]"
        if not isinstance(entry, dict):
            check.fail(where, f"expected an object, got {type(entry).__name__}")
        fields = {k: v for k, v in entry.items() if k not in ("id", "table", "kind", "quote")}
        if entry.get("kind") == "group_members":
            check.get(entry, "group", where, (str,))
            members = check.get(entry, "members", where, (list,))
            if not all(isinstance(m, str) for m in members):
                check.fail(where, f"field 'members' must list class names, got {members!r:.60}")
        statements.append(Statement(check.get(entry, "id", where, (str,)), check.get(entry, "table", where, (str,)),
                                    check.get(entry, "kind", where, (str,)), check.get(entry, "quote", where, (str,)),
                                    fields))
    return Paper(key=key, citation=citation, tasks=tasks, printed_labels=printed_labels, groups=groups, tables=tables,
                 values=tuple(values), statements=tuple(statements), url=data.get("url"), software=data.get("software"),
                 source=source)

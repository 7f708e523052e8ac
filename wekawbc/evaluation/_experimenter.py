"""The Weka Experimenter's tester output (Analyse panel, ``PairedCorrectedTTester`` with the plain-text
result matrix) read into numbers: the header, the significance table with its ``v``/``*`` marks and
``(v/ /*)`` counts, the key of result sets, and the ranking table when printed.

One experiment becomes::

    {"line", "tester", "measure", "datasets", "resultsets", "confidence", "sorted_by", "date",
     "columns": ["(1)", "(2)", ...] or scheme names, "rows": [{"dataset", "runs", "means", "stddevs",
     "marks"}], "counts": [[wins, ties, losses] per compared column], "key": {"(1)": "trees.J48 ..."},
     "ranking": [{"difference", "wins", "losses", "resultset"}] or None}

``marks`` are ``"v"`` (significantly better than the base column), ``"*"`` (worse) or ``""``; the base
column's mark is ``None``.
"""

from __future__ import annotations

import re
from typing import Any, Callable

__all__ = ["parse_experiment"]

_HEADER_FIELDS = {"Tester:": "tester", "Analysing:": "measure", "Datasets:": "datasets", "Resultsets:": "resultsets",
                  "Confidence:": "confidence", "Sorted by:": "sorted_by", "Date:": "date"}
_NUMBER = r"-?(?:\d+(?:[.,]\d*)?|\.\d+)(?:[eE][-+]?\d+)?|\?|NaN"
_CELL = re.compile(rf"({_NUMBER})(?:\s*\(\s*({_NUMBER})\s*\))?(?:\s+([v*])(?=\s|$))?")
_BASE = re.compile(rf"^(.*?)\s*\((\d+)\)\s+({_NUMBER})(?:\s*\(\s*({_NUMBER})\s*\))?\s*$")
_COUNT = re.compile(r"\((\d+)/(\d+)/(\d+)\)")
_KEY = re.compile(r"^\s*(\(\d+\))\s+(.+?)\s*$")
_TABLE_HEADER = re.compile(r"^Dataset\s.*\|")
_RANK = re.compile(r"^\s*(-?\d+)\s+(\d+)\s+(\d+)\s+(.+?)\s*$")


def _dashes(line: str) -> bool:
    return bool(line.strip()) and set(line.strip()) == {"-"}


def parse_experiment(lines: list[str], index: int, number: Callable[[str], float | None],
                     warn: Callable[[int, str], None]) -> tuple[dict[str, Any] | None, int]:
    """The experiment whose ``Tester:`` line is at ``index``; (experiment or None, next index)."""
    experiment: dict[str, Any] = {"line": index + 1, **dict.fromkeys(_HEADER_FIELDS.values()), "columns": None,
                                  "rows": [], "counts": None, "key": {}, "ranking": None}
    while index < len(lines) and not _TABLE_HEADER.match(lines[index].strip()):
        stripped = lines[index].strip()
        for prefix, key in _HEADER_FIELDS.items():
            if stripped.startswith(prefix):
                experiment[key] = stripped[len(prefix):].strip()
        if stripped.startswith("Tester:") and experiment["line"] != index + 1:
            break  # the next experiment began before this one's table
        index += 1
    if index >= len(lines) or not _TABLE_HEADER.match(lines[index].strip()):
        warn(index, "Experimenter header without its table")
        return None, index
    for key in ("datasets", "resultsets"):
        if experiment[key] is not None and experiment[key].isdigit():
            experiment[key] = int(experiment[key])
    header = lines[index]
    index += 1
    if index < len(lines) and _dashes(lines[index]):
        index += 1
    while index < len(lines) and not _dashes(lines[index]) and "|" in lines[index]:
        row = _row(lines[index], number)
        if row is None:
            warn(index, "Experimenter row skipped: cannot read it")
        else:
            experiment["rows"].append(row)
        index += 1
    if index < len(lines) and _dashes(lines[index]):
        index += 1
    experiment["columns"] = _columns(header, len(experiment["rows"][0]["means"]) if experiment["rows"] else None)
    if index < len(lines) and "(v/ /*)" in lines[index]:
        experiment["counts"] = [[int(g) for g in m.groups()] for m in _COUNT.finditer(lines[index].split("|", 1)[-1])]
        index += 1
    else:
        warn(index, "Experimenter table ends without its (v/ /*) counts (truncated?)")
    index = _key(lines, index, experiment)
    return experiment, _ranking(lines, index, experiment)


def _columns(header: str, count: int | None) -> list[str] | str:
    """The result sets' names in the table header (the first is the base); the raw header if ambiguous."""
    left, _, right = header.partition("|")
    base = left.strip()[len("Dataset"):].strip()
    for separator in (r"\s{2,}", r"\s+"):
        names = [base] + [name for name in re.split(separator, right.strip()) if name]
        if count is None or len(names) == count:
            return names
    return header.strip()


def _row(line: str, number: Callable[[str], float | None]) -> dict[str, Any] | None:
    left, _, right = line.partition("|")
    base = _BASE.match(left.rstrip())
    if base is None:
        return None
    cells = _CELL.findall(right)
    rest = _CELL.sub("", right).strip()
    if rest:
        return None
    means = [number(base.group(3))] + [number(mean) for mean, _, _ in cells]
    stddevs = [number(base.group(4)) if base.group(4) else None] + [number(sd) if sd else None for _, sd, _ in cells]
    return {"dataset": base.group(1).strip(), "runs": int(base.group(2)), "means": means,
            "stddevs": stddevs if any(sd is not None for sd in stddevs) else None,
            "marks": [None] + [mark for _, _, mark in cells]}


def _key(lines: list[str], index: int, experiment: dict[str, Any]) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines) or lines[index].strip() != "Key:":
        return index
    index += 1
    while index < len(lines):
        match = _KEY.match(lines[index])
        if match is None:
            break
        experiment["key"][match.group(1)] = match.group(2)
        index += 1
    return index


def _ranking(lines: list[str], index: int, experiment: dict[str, Any]) -> int:
    start = index
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines) or not lines[index].rstrip().endswith("Resultset") or ">-<" not in lines[index]:
        return start
    index += 1
    experiment["ranking"] = []
    while index < len(lines):
        match = _RANK.match(lines[index])
        if match is None:
            break
        experiment["ranking"].append({"difference": int(match.group(1)), "wins": int(match.group(2)),
                                      "losses": int(match.group(3)), "resultset": match.group(4)})
        index += 1
    return index

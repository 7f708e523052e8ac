"""The Weka Experimenter's tester output (Analyse panel, ``PairedCorrectedTTester`` with the plain-text
result matrix) read into numbers: the header, the significance table with its ``v``/``*`` marks and
``(v/ /*)`` counts, the key of result sets, and the ranking table when printed.

One experiment becomes::

    {"line", "tester", "measure", "datasets", "resultsets", "confidence", "sorted_by", "date",
     "columns": ["(1)", "(2)", ...] or scheme names, "rows": [{"dataset", "runs", "means", "stddevs",
     "marks"}], "counts": [[wins, ties, losses] per compared column], "key": {"(1)": "trees.J48 ..."},
     "ranking": [{"difference", "wins", "losses", "resultset"}] or None}

``marks`` are ``"v"`` (significantly better than the base column), ``"*"`` (worse) or ``""``; the base
column's mark is ``None``. ``layout`` holds what the numbers alone do not say (decimals printed, the
row-name and count widths), so :func:`render_experiment` prints the tester's text back as
``ResultMatrixPlainText`` laid it out (its ``toStringMatrix``, ``toStringKey`` and ``toStringRanking``).
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

__all__ = ["parse_experiment", "render_experiment"]

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
    start_rows = index
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
    experiment["layout"] = _layout(lines[start_rows:index], experiment["tester"])
    if index < len(lines) and "(v/ /*)" in lines[index]:
        experiment["counts"] = [[int(g) for g in m.groups()] for m in _COUNT.finditer(lines[index].split("|", 1)[-1])]
        index += 1
    else:
        warn(index, "Experimenter table ends without its (v/ /*) counts (truncated?)")
    index = _key(lines, index, experiment)
    return experiment, _ranking(lines, index, experiment)


def _decimals(cells: list[str]) -> int | None:
    """Decimals printed (Weka prints every cell of a kind with as many); None without cells."""
    return max((len(re.split(r"[.,]", cell, maxsplit=1)[1]) if re.search(r"[.,]", cell) else 0 for cell in cells),
               default=None)


def _layout(lines: list[str], tester: str | None) -> dict[str, Any]:
    """Decimals of the means and standard deviations, and the widths of the row name and the count."""
    option = re.search(r"-count-width (\d+)", tester or "")
    count_width = int(option.group(1)) if option else 5
    means, stddevs, end = [], [], None
    for line in lines:
        left, _, right = line.lstrip().partition("|")  # (a pasted table's indentation is no width)
        base = _BASE.match(left.rstrip())
        if base is None or "|" not in line:
            continue
        end = end if end is not None else left.index(f"({base.group(2)})") + len(base.group(2)) + 2
        means += [base.group(3)] + [mean for mean, _, _ in _CELL.findall(right)]
        stddevs += ([base.group(4)] if base.group(4) else []) + [sd for _, sd, _ in _CELL.findall(right) if sd]
    return {"mean_decimals": _decimals(means), "stddev_decimals": _decimals(stddevs), "count_width": count_width,
            "row_name_width": None if end is None else end - count_width,
            "decimal": "," if any("," in cell for cell in means + stddevs) else "."}


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


# ----- rendering back ---------------------------------------------------------------------------------
def _pad(text: str, width: int, right: bool = False) -> str:
    """``ResultMatrix.padString``: cut to ``width``, or padded with spaces (on the left if ``right``)."""
    text = text[:width]
    return text.rjust(width) if right else text.ljust(width)


def _fixed(value: float | None, decimals: int | None, decimal: str = ".") -> str:
    return "?" if value is None else f"{value:.{decimals or 0}f}".replace(".", decimal)


def _matrix_lines(experiment: dict[str, Any]) -> list[str]:
    """``ResultMatrixPlainText.toStringMatrix``: column names, dashes, one line per data set, the counts."""
    layout, rows = experiment["layout"], experiment["rows"]
    n_columns = len(rows[0]["means"])
    means = [[_fixed(row["means"][c], layout["mean_decimals"], layout["decimal"]) for row in rows]
             for c in range(n_columns)]
    mean_width = [max(len(cell) for cell in column) for column in means]
    with_sd = rows[0]["stddevs"] is not None
    if with_sd:
        sds = [[_fixed(row["stddevs"][c], layout["stddev_decimals"], layout["decimal"]) for row in rows]
               for c in range(n_columns)]
        sd_width = [max(len(cell) for cell in column) for column in sds]
    body, starts, mark_starts = [], [], []
    for r, row in enumerate(rows):
        line = _pad(row["dataset"], layout["row_name_width"]) + _pad(f"({row['runs']})", layout["count_width"], True)
        for c in range(n_columns):
            if r == 0:
                starts.append(len(line))
            line += "   " + _pad(means[c][r], mean_width[c], True)
            if with_sd:
                line += "(" + _pad(sds[c][r], sd_width[c], True) + ")"
            if c == 0:
                line += " |"
            else:
                if r == 0:
                    mark_starts.append(len(line))
                line += " " + _pad(row["marks"][c] or "", 1)
        body.append(line)
    width = len(body[0])
    names = experiment["columns"]
    head = _pad(_pad("Dataset", starts[0]), starts[0] - layout["count_width"])
    for c, name in enumerate(names):
        if c == 1:
            head = _pad(head, starts[c] - 2) + " |"
        elif c > 1:
            head = _pad(head, starts[c])
        head += " " + name
    head = _pad(head, width)
    dashes = "-" * width
    lines = [head, dashes, *body, dashes]
    if experiment["counts"] is not None:
        foot = _pad("(v/ /*)", starts[1] - 2, True) + " |"
        for start, count in zip(mark_starts, experiment["counts"]):
            text = "({}/{}/{})".format(*count)
            foot = _pad(foot, start + 1 - len(text)) + " " + text
        lines.append(_pad(foot, width))
    return lines


def render_experiment(experiment: dict[str, Any]) -> str:
    """The tester's text of a parsed experiment: header, result matrix, key and ranking (as printed)."""
    labels = [(label, experiment[key]) for label, key in _HEADER_FIELDS.items() if experiment[key] is not None]
    width = max((len(label) for label, _ in labels), default=0) + 1
    lines = [f"{label.ljust(width)}{value}" for label, value in labels] + ["", ""]
    lines += _matrix_lines(experiment) if experiment["rows"] else []
    if experiment["key"]:
        lines += ["", "", "Key:", *(f"{column} {name}" for column, name in experiment["key"].items())]
    if experiment["ranking"] is not None:
        biggest = max([r["wins"] for r in experiment["ranking"]] + [r["losses"] for r in experiment["ranking"]])
        rank_width = max(2 + int(math.log10(biggest)), 3) if biggest > 0 else 3
        lines += ["", " ".join(text.rjust(rank_width) for text in (">-<", ">", "<")) + " Resultset"]
        lines += [" ".join(str(r[key]).rjust(rank_width) for key in ("difference", "wins", "losses"))
                  + " " + r["resultset"] for r in experiment["ranking"]]
    return "\n".join(lines) + "\n"

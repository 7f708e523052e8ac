"""Read Weka's evaluation text back into numbers.

Handles the Explorer's output buffer, the command line (``-t``, ``-split-percentage``, ``-T``,
``-o``, ``-v``, ``-k``, ``-classifications`` tables in CSV and PlainText), python-weka-wrapper3
prints (``summary()``, ``class_details()``, ``matrix()``) and several runs in one file. Each
evaluation block becomes::

    {"title", "line", "classifier", "options", "relation", "test_mode",
     "summary": {...}, "classes": [{"class", "tp_rate", ...}], "weighted_avg": {...},
     "confusion_matrix": {"labels", "matrix"}, "predictions": [...]}

Weka's ``?`` (and ``NaN``) become ``None``. The parser never guesses: a summary line, table row or
matrix row it cannot read, or a block that stops early, raises :class:`~wekawbc._io.WekawbcError`
naming the file and line. :func:`render_evaluation` turns a parsed block back into Weka's text.
"""

from __future__ import annotations

import csv
import math
import os
import re
from pathlib import Path
from typing import Any

from wekawbc._io import WekawbcError
from wekawbc.evaluation._text import (DETAIL_COLUMNS, SUMMARY_LINES, render_class_details, render_matrix,
                                      render_summary)

__all__ = ["parse_text", "parse_file", "render_evaluation"]

_TITLE = re.compile(r"^=== (.+) ===\s*$")
_DETAIL_KEYS = {header.strip(): key for key, header, _ in DETAIL_COLUMNS}
_RUN_FIELDS = {"Scheme:": "scheme", "Relation:": "relation", "Instances:": "instances", "Test mode:": "test_mode"}
_VALUE_PATTERNS = {
    "pair": re.compile(r"^(\S+)\s+(\S+)\s*%$"),
    "value": re.compile(r"^(\S+)$"),
    "pct": re.compile(r"^(\S+)\s*%$"),
    "bits": re.compile(r"^(\S+)\s*bits\s*(\S+)\s*bits/instance$"),
}
_COVERAGE = re.compile(r"^(Coverage of cases|Mean rel\. region size) \(\s*(\S+) level\)\s+(\S+)\s*%$")
_PLAIN_PREDICTION = re.compile(r"^\s*(\d+)\s+(\d+:.*?|\?)\s+(\d+:.*?|\?)\s+(?:(\+)\s+)?(\S+)(?:\s+\(.*\))?\s*$")


class _Reader:
    """Lines of one text with the file name, for errors that say where."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def error(self, index: int, message: str) -> WekawbcError:
        line = self.lines[index] if index < len(self.lines) else "<end of file>"
        return WekawbcError(f"{self.source}: line {index + 1}: {message}: {line.strip()[:80]!r}")


def _number(text: str) -> float | None:
    """A number as Weka prints it; ``?``/``NaN`` (and infinities, which JSON cannot hold) become None."""
    if text in ("?", "NaN", "Infinity", "-Infinity", "∞", "-∞"):
        return None
    value = float(text)
    return None if math.isnan(value) or math.isinf(value) else value


def _summary_line(line: str) -> tuple[str, tuple[str, ...], str] | None:
    """The (kind, keys, rest) of a summary line, or None if the line is not one."""
    stripped = line.strip()
    for kind, label, keys in SUMMARY_LINES:
        if kind == "coverage":
            continue
        name = label.strip()
        if stripped.startswith(name) and (len(stripped) == len(name) or stripped[len(name)] == " "):
            return kind, keys, stripped[len(name):].strip()
    if _COVERAGE.match(stripped):
        return "coverage", (), stripped
    return None


def _parse_summary_line(reader: _Reader, index: int, summary: dict[str, Any]) -> None:
    kind, keys, rest = _summary_line(reader.lines[index])  # type: ignore[misc]
    try:
        if kind == "coverage":
            match = _COVERAGE.match(rest)
            summary["coverage_level"] = _number(match.group(2))
            key = "coverage_pct" if match.group(1).startswith("Coverage") else "mean_region_size_pct"
            summary[key] = _number(match.group(3))
            return
        match = _VALUE_PATTERNS[kind].match(rest)
        if match is None:
            raise ValueError
        for key, text in zip(keys, match.groups()):
            summary[key] = _number(text)
    except (ValueError, AttributeError):
        raise reader.error(index, "cannot read this summary line") from None


def _skip_blank(reader: _Reader, index: int) -> int:
    while index < len(reader.lines) and not reader.lines[index].strip():
        index += 1
    return index


def _parse_details(reader: _Reader, index: int) -> tuple[list[dict], dict, int]:
    """Rows of a '=== Detailed Accuracy By Class ===' table starting at its header line."""
    header = reader.lines[index] if index < len(reader.lines) else ""
    names = re.split(r"\s{2,}", header.strip())
    if not names or names[-1] != "Class":
        raise reader.error(index, "expected the class-details header ending in 'Class'")
    keys = [_DETAIL_KEYS.get(name, re.sub(r"\W+", "_", name.lower()).strip("_")) for name in names[:-1]]
    classes: list[dict] = []
    index += 1
    while True:
        if index >= len(reader.lines) or not reader.lines[index].strip():
            raise reader.error(index, "class-details table ends before its 'Weighted Avg.' row")
        line = reader.lines[index]
        weighted = line.startswith("Weighted Avg.")
        body = line[len("Weighted Avg."):] if weighted else line
        cells = body.split(None, len(keys) if not weighted else len(keys) - 1)
        if len(cells) < len(keys) + (0 if weighted else 1):
            raise reader.error(index, f"expected {len(keys)} values{'' if weighted else ' and a class name'}")
        try:
            values = {key: _number(cell) for key, cell in zip(keys, cells)}
        except ValueError:
            raise reader.error(index, "cannot read a number in this class-details row") from None
        if weighted:
            return classes, values, index + 1
        classes.append({"class": cells[len(keys)].strip(), **values})
        index += 1


def _parse_matrix(reader: _Reader, index: int) -> tuple[dict, int]:
    """A '=== Confusion Matrix ===' block starting at its '<-- classified as' header line."""
    header = reader.lines[index] if index < len(reader.lines) else ""
    if "<-- classified as" not in header:
        raise reader.error(index, "expected the confusion-matrix header '... <-- classified as'")
    ids = header.split("<--")[0].split()
    labels, matrix = [], []
    for row_number, expected_id in enumerate(ids):
        line_index = index + 1 + row_number
        if line_index >= len(reader.lines):
            raise reader.error(line_index, f"confusion matrix ends after {row_number} of {len(ids)} rows")
        match = re.match(r"^(.*?)\s\|\s+(\S+) = (.*)$", reader.lines[line_index])
        if match is None or match.group(2) != expected_id:
            raise reader.error(line_index, f"expected confusion-matrix row '{expected_id}'")
        try:
            cells = [float(cell) for cell in match.group(1).split()]
        except ValueError:
            raise reader.error(line_index, "cannot read a confusion-matrix cell") from None
        if len(cells) != len(ids):
            raise reader.error(line_index, f"{len(cells)} cells in a {len(ids)}-class confusion matrix")
        labels.append(match.group(3))
        matrix.append(cells)
    return {"labels": labels, "matrix": matrix}, index + 1 + len(ids)


def _label(text: str) -> tuple[int | None, str | None]:
    """'3:gamma ray' / "3:'gamma ray'" -> (2, 'gamma ray'); '?' -> (None, None)."""
    if text.strip() == "?":
        return None, None
    number, _, name = text.strip().partition(":")
    if len(name) >= 2 and name[0] == name[-1] == "'":
        name = name[1:-1].replace("\\'", "'")
    return int(number) - 1, (None if name == "?" else name)


def _prediction_values(cells: list[str]) -> dict[str, Any]:
    if len(cells) == 1 and "," not in cells[0] and not cells[0].startswith("*"):
        return {"prediction": _number(cells[0])}
    values = [cell for cell in ",".join(cells).split(",") if cell != ""]
    return {"distribution": [_number(value.lstrip("*")) for value in values]}


def _parse_predictions(reader: _Reader, index: int) -> tuple[list[dict], int]:
    """A '-classifications' table (CSV or PlainText) starting at its 'inst#' header line."""
    header = reader.lines[index] if index < len(reader.lines) else ""
    if "inst#" not in header:
        raise reader.error(index, "expected the predictions header starting with 'inst#'")
    is_csv = header.strip().startswith("inst#,")
    predictions = []
    index += 1
    while index < len(reader.lines) and reader.lines[index].strip():
        line = reader.lines[index]
        try:
            if is_csv:
                cells = next(csv.reader([line], quotechar='"'))
                inst, actual, predicted, error = cells[:4]
                values = _prediction_values(cells[4:])
            else:
                match = _PLAIN_PREDICTION.match(line)
                if match is None:
                    raise ValueError
                inst, actual, predicted, error, tail = match.groups()
                values = _prediction_values([tail])
            actual_index, actual_name = _label(actual)
            predicted_index, predicted_name = _label(predicted)
            predictions.append({"inst": int(inst), "actual": actual_name, "actual_index": actual_index,
                                "predicted": predicted_name, "predicted_index": predicted_index,
                                "error": (error or "").strip() == "+", **values})
        except (ValueError, IndexError):
            raise reader.error(index, "cannot read this prediction row") from None
        index += 1
    return predictions, index


def _new_block(title: str | None, line: int, run: dict[str, Any]) -> dict[str, Any]:
    return {"title": title, "line": line, **run, "summary": None, "classes": None, "weighted_avg": None,
            "confusion_matrix": None, "predictions": None}


def _run_information(reader: _Reader, index: int) -> tuple[dict[str, Any], int]:
    run: dict[str, Any] = {"classifier": None, "options": None, "relation": None, "test_mode": None}
    while index < len(reader.lines) and not _TITLE.match(reader.lines[index].strip()):
        line = reader.lines[index].strip()
        for prefix, key in _RUN_FIELDS.items():
            if line.startswith(prefix):
                value = line[len(prefix):].strip()
                if key == "scheme":
                    run["classifier"], _, options = value.partition(" ")
                    run["options"] = options.strip() or None
                elif key in run:
                    run[key] = value
        index += 1
    return run, index


def parse_text(text: str, source: str = "<text>") -> dict[str, list[dict[str, Any]]]:
    """Every evaluation block in ``text``, in order (see the module docstring for the layout).

    Raises
    ------
    WekawbcError
        If no evaluation block is found, or a block cannot be read or is truncated.
    """
    reader = _Reader(text, source)
    blocks: list[dict[str, Any]] = []
    run: dict[str, Any] = {"classifier": None, "options": None, "relation": None, "test_mode": None}
    current: dict[str, Any] | None = None
    # A title such as "=== Stratified cross-validation ===" names the evaluation whose first part
    # (summary, details or matrix) comes next; lines between (test-set information) do not matter.
    pending: tuple[str, int] | None = None
    index = 0

    def block_for(part: str, line: int) -> dict[str, Any]:
        nonlocal current, pending
        if pending is not None:
            title, start = pending
            pending = None
            if current is not None and all(current[key] is None for key in ("summary", "classes", "confusion_matrix")):
                current["title"] = title  # the Explorer prints the predictions before their evaluation
                return current
            current = _new_block(title, start, run)
            blocks.append(current)
        elif current is None or current[part] is not None:
            current = _new_block(None, line + 1, run)
            blocks.append(current)
        return current

    while index < len(reader.lines):
        line = reader.lines[index]
        title = _TITLE.match(line.strip())
        if title:
            name = title.group(1)
            if name == "Run information":
                run, index = _run_information(reader, index + 1)
                current = pending = None
                continue
            if name == "Detailed Accuracy By Class":
                block = block_for("classes", index)
                block["classes"], block["weighted_avg"], index = _parse_details(reader, _skip_blank(reader, index + 1))
                continue
            if name == "Confusion Matrix":
                block = block_for("confusion_matrix", index)
                block["confusion_matrix"], index = _parse_matrix(reader, _skip_blank(reader, index + 1))
                continue
            if name.startswith("Predictions"):
                current, pending = _new_block(name, index + 1, run), None
                blocks.append(current)
                current["predictions"], index = _parse_predictions(reader, _skip_blank(reader, index + 1))
                continue
            if name.startswith("Classifier model"):
                pending = None
            elif name != "Summary":
                pending = (name, index + 1)
            index += 1
            continue
        if line.startswith("Options:"):
            run = {**run, "options": line[len("Options:"):].strip() or None}
        if _summary_line(line) is not None:
            block = block_for("summary", index)
            summary: dict[str, Any] = {}
            while index < len(reader.lines) and _summary_line(reader.lines[index]) is not None:
                _parse_summary_line(reader, index, summary)
                index += 1
            if "total_instances" not in summary:
                raise reader.error(index, "summary block ends before 'Total Number of Instances'")
            block["summary"] = summary
            continue
        index += 1
    if not blocks:
        raise WekawbcError(f"{source}: no Weka evaluation block found (no summary, class details, "
                           "confusion matrix or predictions table)")
    for block in blocks:
        _check_consistent(reader, block)
    return {"evaluations": blocks}


def _check_consistent(reader: _Reader, block: dict[str, Any]) -> None:
    classes, matrix = block["classes"], block["confusion_matrix"]
    if classes is not None and matrix is not None and [row["class"] for row in classes] != matrix["labels"]:
        raise WekawbcError(f"{reader.source}: line {block['line']}: the class-details rows "
                           f"{[row['class'] for row in classes]} differ from the confusion-matrix labels "
                           f"{matrix['labels']}")


def parse_file(path: str | os.PathLike) -> dict[str, list[dict[str, Any]]]:
    """:func:`parse_text` on a file (UTF-8; Latin-1 as a fallback for old Windows logs)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise WekawbcError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if not text.strip():
        raise WekawbcError(f"{path}: empty file")
    return parse_text(text, str(path))


def render_evaluation(block: dict[str, Any], summary_title: str = "=== Summary ===\n") -> str:
    """Weka's text of a parsed block: summary, blank line, class details, blank line, matrix.

    Parts the block lacks are left out (with their blank line).
    """
    parts = []
    if block.get("summary") is not None:
        parts.append(render_summary(block["summary"], summary_title))
    if block.get("classes") is not None:
        missing = [key for key, _, _ in DETAIL_COLUMNS if key not in block["weighted_avg"]]
        if missing:
            raise ValueError(f"cannot render a class-details table without the columns {missing}")
        parts.append(render_class_details(block["classes"], block["weighted_avg"]))
    if block.get("confusion_matrix") is not None:
        matrix = block["confusion_matrix"]
        parts.append(render_matrix(matrix["labels"], matrix["matrix"]))
    return "\n".join(parts)


"""Read Weka's evaluation text back into numbers, and render it back.

Reads what Weka 3.4 to 3.9 print on the command line and in the Explorer (``=== Run information ===``,
model text, several evaluations per file: training, cross-validation, test set, split,
"Re-evaluation on test set"), python-weka-wrapper3 prints, class-details tables of any layout and any
subset of columns (3.6 without MCC/PRC, 3.4/3.5 flush left without ``Weighted Avg.``, 3.9 ``-toggle``),
classification and regression summaries (``Correlation coefficient`` included), ``-classifications``
(CSV, PlainText, HTML, XML) and ``-p`` prediction tables, nominal and numeric, and the Experimenter's
tester output (``experiments``, see :mod:`wekawbc.evaluation._experimenter`). It accepts decimal commas (Weka's
class details under a German or French locale), Windows line ends, a line prefix on every line (``> ``,
``#``, ``## ``, ``// ``, ``% ``), any indentation, blank lines inside a block, fragments without their
``===`` titles and Jupyter notebooks (``.ipynb``: the cells' outputs). Each evaluation block becomes::

    {"title", "line", "classifier", "options", "relation", "test_mode", "class_type",
     "summary": {...}, "classes": [{"class", "tp_rate", ...}], "weighted_avg": {...},
     "confusion_matrix": {"labels", "matrix"}, "predictions": [...], "layout": {...}}

Weka's ``?`` and ``NaN`` (and infinities, which JSON cannot hold) become ``None``. The parser never
guesses silently: a line it cannot read, a block that stops early, or parts that disagree (class
names or counts in the table and the matrix) become a warning ``{"line", "message"}`` in the result's
``warnings``; only a text with no evaluation at all raises :class:`~wekawbc._io.WekawbcError`.
:func:`render_evaluation` turns a block back into the text of the layout it was read from, and
:func:`render_experiment` an Experimenter table.
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from wekawbc._io import WekawbcError
from wekawbc.evaluation._experimenter import parse_experiment, render_experiment
from wekawbc.evaluation._format import double_to_string
from wekawbc.evaluation.metrics import METRICS
from wekawbc.evaluation._text import (COVERAGE_LEVEL, DETAIL_COLUMNS, SUMMARY_LINES, render_class_details, render_matrix,
                                      render_summary)

__all__ = ["parse_text", "parse_file", "read_text_file", "render_evaluation", "render_experiment"]

_TITLE = re.compile(r"^=== (.+) ===\s*$")
# A paste marker at the start of a line; the spaces after it stay, as part of the indentation.
_PREFIX = re.compile(r"^[ \t]*(?:>(?!-<)(?:[ \t]*>(?!-<))*|#+'?|//|%)")  # '>-<' heads the Experimenter's ranking
_FENCE = re.compile(r"^\s*(```|~~~)")
_DETAIL_KEYS = {header.strip(): key for key, header, _ in DETAIL_COLUMNS}
# Other spellings of Weka's column headers seen in published output, by registry name.
_DETAIL_KEYS.update({text: str(METRICS[name].text_key) for text, name in
                     (("ROC area", "roc_area"), ("PRC area", "prc_area"), ("F-measure", "f_measure"))})
_RUN_FIELDS = {"Scheme:": "scheme", "Relation:": "relation", "Instances:": "instances", "Test mode:": "test_mode"}
_VALUE_PATTERNS = {
    "pair": re.compile(r"^(\S+)\s+(\S+)\s*%$"),
    "value": re.compile(r"^(\S+)$"),
    "pct": re.compile(r"^(\S+)\s*%$"),
    "bits": re.compile(r"^(\S+)\s*bits\s*(\S+)\s*bits/instance$"),
}
_COVERAGE_LINES = {str(METRICS[name].weka_text).split(" ({level}")[0]: str(METRICS[name].text_key)
                   for name in ("coverage_of_test_cases_by_predicted_regions", "size_of_predicted_regions")}
_COVERAGE = re.compile(rf"^({'|'.join(map(re.escape, _COVERAGE_LINES))}) \(\s*(\S+) level\)\s+(\S+)\s*%$")
_LABEL = r"(?:\d+:.*?|\?)"
_PLAIN_PREDICTION = re.compile(rf"^\s*(\d+)\s+({_LABEL})\s+({_LABEL})\s+(?:(\+)\s+)?(\S+)(?:\s+\(.*\))?\s*$")
_NUMERIC_PREDICTION = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+\(.*\))?\s*$")
_MATRIX_ROW = re.compile(r"^(.*?)\s\|\s+(\S+) = (.*)$")
_DETAILS_HEADER = re.compile(r"^\s*TP Rate\s.*\sClass\s*$")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
# Weka 3.4 to 3.6's class-details layout (Utils.doubleToString(x, 7, 3) with fixed separators): 3.6
# indents it by 15 spaces and ends it with a "Weighted Avg." row; 3.4/3.5 print it flush left without
# that row, the 3.4 of 2004 without the ROC Area column (their Evaluation.toClassDetailsString).
_OLD_NAMES = ("tp_rate", "fp_rate", "precision", "recall", "f_measure", "roc_area")
_COLUMNS36 = tuple(str(METRICS[name].text_key) for name in _OLD_NAMES)
_HEADER_GAPS = ("   ", "   ", "   ", "  ", "   ", "  ")
_SEPARATORS36 = ("   ", "    ", "   ", "   ", "    ", "    ")
_OLD_INDENT = {"3.6": 15, "3.5": 0}


def _old_header(layout: str, n_columns: int) -> str:
    """The header line of the 3.6 or 3.4/3.5 table with its first ``n_columns`` columns."""
    labels = "".join(str(METRICS[name].weka_text) + gap for name, gap in zip(_OLD_NAMES[:n_columns], _HEADER_GAPS))
    return " " * _OLD_INDENT[layout] + labels + "Class"


_HEADER36 = _old_header("3.6", len(_OLD_NAMES))
_MISSING = ("?", "NaN", "Infinity", "-Infinity", "∞", "-∞", "\ufffd")


class _Reader:
    """Lines of one text, without their paste prefix, with the warnings found so far."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = [_PREFIX.sub("", line, count=1) for line in text.splitlines()]
        self.source = source
        self.warnings: list[dict[str, Any]] = []

    def warn(self, index: int | None, message: str) -> None:
        where = None if index is None else index + 1
        if where is not None:
            text = self.lines[index].strip()[:80] if index < len(self.lines) else "<end of file>"
            message = f"{message}: {text!r}"
        self.warnings.append({"line": where, "message": message})

    def stripped(self, index: int) -> str:
        return self.lines[index].strip() if index < len(self.lines) else ""

    def next_content(self, index: int) -> int:
        """The first non-blank, non-fence line at or after ``index`` (or the end)."""
        while index < len(self.lines) and (not self.lines[index].strip() or _FENCE.match(self.lines[index])):
            index += 1
        return index


def _number(text: str) -> float | None:
    """A number as Weka prints it (``,`` as decimal separator too); ``?``/``NaN``/infinities -> None."""
    text = text.strip()
    if text in _MISSING:
        return None
    if _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
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


def _parse_summary_line(reader: _Reader, index: int, summary: dict[str, Any]) -> bool:
    kind, keys, rest = _summary_line(reader.lines[index])  # type: ignore[misc]
    try:
        if kind == "coverage":
            match = _COVERAGE.match(rest)
            summary[COVERAGE_LEVEL] = _number(match.group(2))
            summary[_COVERAGE_LINES[match.group(1)]] = _number(match.group(3))
            return "," in match.group(3)
        match = _VALUE_PATTERNS[kind].match(rest)
        if match is None:
            raise ValueError
        values = {key: _number(text) for key, text in zip(keys, match.groups())}
    except (ValueError, AttributeError):
        reader.warn(index, "summary line skipped: cannot read its numbers")
        return False
    summary.update(values)
    return any("," in text for text in match.groups())


def _parse_summary(reader: _Reader, index: int) -> tuple[dict[str, Any], str, int]:
    """Summary lines from ``index`` on, across blank lines; (summary, decimal separator, next index)."""
    summary: dict[str, Any] = {}
    comma = False
    start = index
    while True:
        comma |= _parse_summary_line(reader, index, summary)
        after = reader.next_content(index + 1)
        if after >= len(reader.lines) or _summary_line(reader.lines[after]) is None:
            break
        index = after
    if "total_instances" not in summary:
        reader.warn(start, "summary block ends before 'Total Number of Instances' (truncated?)")
    return summary, "," if comma else ".", index + 1


# ----- class details ----------------------------------------------------------------------------
def _details_layout(header: str, keys: list[str]) -> tuple[str, int]:
    """('3.9' | '3.6' | '3.5' | 'generic', indentation) of a class-details header (prefix already removed)."""
    expected39 = " " * 17 + "".join(name for key, name, _ in DETAIL_COLUMNS if key in keys) + "Class"
    body = header.rstrip()
    if set(keys) <= {key for key, _, _ in DETAIL_COLUMNS} and body.endswith(expected39.strip()) and \
            [key for key, _, _ in DETAIL_COLUMNS if key in keys] == keys:
        indent = len(body) - len(expected39)
        if indent >= 0 and not body[:indent].strip():
            return "3.9", indent
    if body.endswith(_HEADER36.strip()) and keys == list(_COLUMNS36):
        indent = len(body) - len(_HEADER36)
        if indent >= 0:
            return "3.6", indent
    if keys in (list(_COLUMNS36), list(_COLUMNS36[:-1])) and body.endswith(_old_header("3.5", len(keys))):
        return "3.5", len(body) - len(_old_header("3.5", len(keys)))
    return "generic", len(body) - len(body.lstrip())


def _class_column(layout: str, keys: list[str]) -> int:
    """Where a class name starts in a row of a known layout (after its indentation)."""
    if layout not in _OLD_INDENT:  # 3.9's layout, in which a generic table renders too
        return 17 + sum(width for key, _, width in DETAIL_COLUMNS if key in keys)
    return _OLD_INDENT[layout] + sum(7 + len(sep) for sep in _SEPARATORS36[:len(keys)])


def _detail_row(reader: _Reader, index: int, keys: list[str], layout: str, indent: int
                ) -> tuple[str | None, dict[str, Any]] | None:
    """(class name or None for 'Weighted Avg.', values) of a table row, or None if it is not one."""
    line = reader.lines[index]
    body = line[indent:] if not line[:indent].strip() else line.lstrip()
    weighted = body.lstrip().startswith("Weighted Avg.")
    name = None
    if weighted:
        cells = body.lstrip()[len("Weighted Avg."):].split()
    elif layout != "generic" and len(body) > _class_column(layout, keys) and \
            body[_class_column(layout, keys) - 1] == " " and len(body[:_class_column(layout, keys)].split()) == len(keys):
        column = _class_column(layout, keys)
        cells, name = body[:column].split(), body[column:]
    else:
        parts = body.split(None, len(keys))
        if len(parts) <= len(keys):
            return None
        cells, name = parts[:len(keys)], parts[len(keys)].strip()
    if len(cells) != len(keys):
        return None
    try:
        values = {key: _number(cell) for key, cell in zip(keys, cells)}
    except ValueError:
        return None
    return name, values


def _parse_details(reader: _Reader, index: int) -> tuple[list[dict], dict | None, dict[str, Any], int]:
    """A class-details table from its header line: (classes, weighted row, layout, next index)."""
    header = reader.lines[index]
    names = re.split(r"\s{2,}", header.strip())
    keys = [_DETAIL_KEYS.get(name, re.sub(r"\W+", "_", name.lower()).strip("_")) for name in names[:-1]]
    layout, indent = _details_layout(header, keys)
    classes: list[dict] = []
    weighted = None
    comma = False
    index += 1
    while True:
        index = reader.next_content(index)
        if index >= len(reader.lines) or _TITLE.match(reader.stripped(index)):
            break
        row = _detail_row(reader, index, keys, layout, indent)
        if row is None:
            if re.match(r"^\s*(Weighted Avg\.|[-\d?.,]+\s)", reader.lines[index]):
                reader.warn(index, "class-details row skipped: cannot read it")
                index += 1
                continue
            break
        comma |= bool(re.search(r"\d,\d", reader.lines[index]))
        name, values = row
        index += 1
        if name is None:
            weighted = values
            break
        classes.append({"class": name, **values})
    if weighted is None and layout not in ("generic", "3.5"):
        reader.warn(index, "class-details table ends before its 'Weighted Avg.' row (truncated?)")
    details = {"details": layout, "columns": keys, "weighted_row": weighted is not None,
               "indent": indent if layout == "generic" else 0, "details_decimal": "," if comma else "."}
    return classes, weighted, details, index


# ----- confusion matrix --------------------------------------------------------------------------
def _parse_matrix(reader: _Reader, index: int) -> tuple[dict, str, int]:
    """A confusion matrix from its '... <-- classified as' header line: (matrix, decimal, next index)."""
    ids = reader.lines[index].split("<--")[0].split()
    labels, matrix = [], []
    comma = False
    index += 1
    for row_number, expected_id in enumerate(ids):
        index = reader.next_content(index)
        match = _MATRIX_ROW.match(reader.lines[index]) if index < len(reader.lines) else None
        if match is None or match.group(2) != expected_id:
            reader.warn(index, f"confusion matrix ends after {row_number} of {len(ids)} rows (truncated?)")
            break
        try:
            cells = [_number(cell) for cell in match.group(1).split()]
        except ValueError:
            reader.warn(index, "confusion matrix ends at a row with an unreadable cell")
            break
        if len(cells) != len(ids):
            reader.warn(index, f"confusion matrix ends at a row of {len(cells)} cells in a {len(ids)}-class matrix")
            break
        comma |= bool(re.search(r"\d,\d", match.group(1)))
        labels.append(match.group(3))
        matrix.append(cells)
        index += 1
    return {"labels": labels, "matrix": matrix}, "," if comma else ".", index


# ----- predictions --------------------------------------------------------------------------------
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


def _prediction_row(line: str, is_csv: bool, numeric: bool) -> dict[str, Any]:
    if is_csv:
        return _prediction_cells(next(csv.reader([line.strip()], quotechar='"')), numeric)
    match = (_NUMERIC_PREDICTION if numeric else _PLAIN_PREDICTION).match(line)
    if match is None:
        raise ValueError
    return _prediction_cells([cell or "" for cell in match.groups()], numeric)


def _is_numeric_table(reader: _Reader, index: int, is_csv: bool) -> bool:
    """Numeric-class predictions: the first row's actual value is a number, not 'index:label'."""
    first = reader.next_content(index)
    if first >= len(reader.lines):
        return False
    cells = reader.lines[first].strip().split("," if is_csv else None)
    return len(cells) >= 4 and ":" not in cells[1] and ":" not in cells[2]


def _parse_predictions(reader: _Reader, index: int) -> tuple[list[dict], bool, int]:
    """A prediction table (CSV or PlainText) from its 'inst#' header: (rows, numeric, next index)."""
    is_csv = reader.lines[index].strip().startswith("inst#,")
    index += 1
    numeric = _is_numeric_table(reader, index, is_csv)
    predictions = []
    while index < len(reader.lines) and reader.lines[index].strip() and not _FENCE.match(reader.lines[index]):
        try:
            predictions.append(_prediction_row(reader.lines[index], is_csv, numeric))
        except (ValueError, IndexError, StopIteration):
            if not _TITLE.match(reader.stripped(index)):
                reader.warn(index, "predictions table ends at a line that is not a prediction row")
            break
        index += 1
    return predictions, numeric, index


def _html_cells(line: str) -> list[str]:
    return [html.unescape(cell).replace("\xa0", "").strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", line)]


def _parse_html_predictions(reader: _Reader, index: int) -> tuple[list[dict], bool, int]:
    """Weka's HTML prediction table from its '<td>inst#</td>' header row: (rows, numeric, next index)."""
    rows = []
    index += 1
    while index < len(reader.lines) and "</table>" not in reader.lines[index]:
        cells = _html_cells(reader.lines[index])
        if cells:
            rows.append(cells)
        index += 1
    numeric = bool(rows) and ":" not in rows[0][1]
    predictions = []
    for cells in rows:
        try:
            predictions.append(_prediction_cells(cells, numeric))
        except (ValueError, IndexError):
            reader.warn(index, "HTML prediction row skipped: cannot read it")
    return predictions, numeric, index + 1


def _prediction_cells(cells: list[str], numeric: bool) -> dict[str, Any]:
    """A prediction from CSV-like cells: inst, actual, predicted, error[, distribution or prediction]."""
    if numeric:
        return {"inst": int(cells[0]), "actual": _number(cells[1]), "predicted": _number(cells[2]),
                "error": _number(cells[3])}
    actual_index, actual_name = _label(cells[1])
    predicted_index, predicted_name = _label(cells[2])
    return {"inst": int(cells[0]), "actual": actual_name, "actual_index": actual_index, "predicted": predicted_name,
            "predicted_index": predicted_index, "error": cells[3].strip() == "+", **_prediction_values(cells[4:])}


def _parse_xml_predictions(reader: _Reader, index: int) -> tuple[list[dict], bool, int]:
    """Weka's XML predictions from the '<predictions ...>' line to '</predictions>'."""
    import xml.etree.ElementTree as ElementTree

    end = index
    while end < len(reader.lines) and "</predictions>" not in reader.lines[end]:
        end += 1
    try:
        root = ElementTree.fromstring("\n".join(reader.lines[index:end + 1]))
    except ElementTree.ParseError:
        reader.warn(index, "XML predictions skipped: not well-formed")
        return [], False, end + 1
    predictions, numeric = [], False
    for element in root.iter("prediction"):
        try:
            row, numeric_row = _xml_prediction(element)
        except (ValueError, TypeError):
            reader.warn(index, f"XML prediction {element.get('index')!r} skipped: cannot read it")
            continue
        numeric |= numeric_row
        predictions.append(row)
    return predictions, numeric, end + 1


def _xml_prediction(element: Any) -> tuple[dict[str, Any], bool]:
    """One ``<prediction>`` element: (row, whether it is of a numeric class)."""
    inst = int(element.get("index", 0))
    if element.find("actual_value") is not None:
        return {"inst": inst, **{key: _number(element.findtext(tag) or "?") for key, tag in (
            ("actual", "actual_value"), ("predicted", "predicted_value"), ("error", "error"))}}, True
    row: dict[str, Any] = {"inst": inst}
    for key in ("actual", "predicted"):
        node = element.find(f"{key}_label")
        missing = node is None or node.get("index") in (None, "?")
        row[key] = None if missing or node.text == "?" else node.text
        row[f"{key}_index"] = None if missing else int(node.get("index")) - 1
    row["error"] = (element.findtext("error") or "").strip() == "yes"
    distribution = element.find("distribution")
    if distribution is not None:
        row["distribution"] = [_number(label.text or "?") for label in distribution.iter("class_label")]
    elif element.find("prediction") is not None:
        row["prediction"] = _number(element.findtext("prediction") or "?")
    return row, False


# ----- blocks --------------------------------------------------------------------------------------
def _new_block(title: str | None, line: int, run: dict[str, Any]) -> dict[str, Any]:
    return {"title": title, "line": line, **run, "class_type": None, "summary": None, "classes": None,
            "weighted_avg": None, "confusion_matrix": None, "predictions": None, "layout": {}, "truncated": []}


def _run_information(reader: _Reader, index: int) -> tuple[dict[str, Any], int]:
    run: dict[str, Any] = {"classifier": None, "options": None, "relation": None, "test_mode": None}
    while index < len(reader.lines) and not _TITLE.match(reader.stripped(index)):
        line = reader.stripped(index)
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


class _Scanner:
    """Walks the lines once, assigning each part (summary, table, matrix, predictions) to a block."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.blocks: list[dict[str, Any]] = []
        self.experiments: list[dict[str, Any]] = []
        self.run: dict[str, Any] = {"classifier": None, "options": None, "relation": None, "test_mode": None}
        self.current: dict[str, Any] | None = None
        # A title such as "=== Stratified cross-validation ===" names the evaluation whose first part
        # comes next; test-set information between them ("Relation: ...") belongs to that evaluation.
        self.pending: tuple[str, int, dict[str, Any]] | None = None

    def block_for(self, part: str, index: int) -> dict[str, Any]:
        if self.pending is not None:
            title, start, overrides = self.pending
            self.pending = None
            current = self.current
            if current is not None and all(current[key] is None for key in ("summary", "classes", "confusion_matrix")):
                current["title"] = title  # the Explorer prints the predictions before their evaluation
                current.update(overrides)
                return current
            self.current = _new_block(title, start, {**self.run, **overrides})
            self.blocks.append(self.current)
        elif self.current is None or self.current[part] is not None or (
                part != "predictions" and self.current["predictions"] is not None and self._after_parts(part)):
            self.current = _new_block(None, index + 1, self.run)
            self.blocks.append(self.current)
        return self.current

    def _after_parts(self, part: str) -> bool:
        """Whether ``part`` would come before a part the current block already has (a new block then)."""
        order = ("summary", "classes", "confusion_matrix")
        return any(self.current[later] is not None for later in order[order.index(part) + 1:])

    def title(self, name: str, index: int) -> int:
        if name == "Run information":
            self.run, index = _run_information(self.reader, index + 1)
            self.current = self.pending = None
            return index
        if name.startswith("Classifier model"):
            self.pending = None
            index += 1  # the model's text says nothing about the evaluation
            while index < len(self.reader.lines) and not _TITLE.match(self.reader.stripped(index)):
                index += 1
            return index
        if name not in ("Summary", "Detailed Accuracy By Class", "Confusion Matrix") and not name.startswith("Predictions"):
            overrides = {"test_mode": "user supplied test set"} if name.startswith("Re-evaluation") else {}
            self.pending = (name, index + 1, overrides)
        elif name.startswith("Predictions"):
            self.current, self.pending = _new_block(name, index + 1, self.run), None
            self.blocks.append(self.current)
        return index + 1

    def line(self, index: int) -> int:
        reader = self.reader
        text = reader.lines[index]
        stripped = text.strip()
        if self.pending is not None and stripped.startswith("Relation:"):
            self.pending[2]["relation"] = stripped[len("Relation:"):].strip()
        if stripped.startswith("Options:"):
            self.run = {**self.run, "options": stripped[len("Options:"):].strip() or None}
        if _summary_line(text) is not None:
            start = index
            summary, decimal, index = _parse_summary(reader, start)
            if not summary:
                return index  # nothing readable (warned)
            block = self.block_for("summary", start)
            block["summary"] = summary
            if "total_instances" not in summary:
                block["truncated"].append("summary")
            block["layout"]["summary_decimal"] = decimal
            if "correlation_coefficient" in block["summary"]:
                block["class_type"] = "numeric"
            elif block["class_type"] is None and "correct" in block["summary"]:
                block["class_type"] = "nominal"
            return index
        if _DETAILS_HEADER.match(text):
            start = index
            classes, weighted, layout, index = _parse_details(reader, start)
            if not classes and weighted is None:
                reader.warn(start, "class-details header without any row")
                return index
            block = self.block_for("classes", start)
            block["classes"], block["weighted_avg"] = classes, weighted
            if block["weighted_avg"] is None and layout["details"] != "generic":
                block["truncated"].append("classes")
            block["layout"].update(layout)
            block["class_type"] = "nominal"
            return index
        if "<-- classified as" in text and text.split("<--")[0].split():
            n_ids = len(text.split("<--")[0].split())
            start = index
            matrix, decimal, index = _parse_matrix(reader, start)
            if not matrix["matrix"]:
                return index  # not one row (warned)
            block = self.block_for("confusion_matrix", start)
            block["confusion_matrix"] = matrix
            if len(matrix["matrix"]) < n_ids:
                block["truncated"].append("confusion_matrix")
            block["layout"]["matrix_decimal"] = decimal
            block["class_type"] = "nominal"
            return index
        if stripped.startswith("Tester:"):
            experiment, index = parse_experiment(reader.lines, index, _number, reader.warn)
            if experiment is not None:
                self.experiments.append(experiment)
            return max(index, 1 + (experiment or {}).get("line", 0))
        html_table, xml = "<td>inst#</td>" in stripped, stripped.startswith("<predictions ")
        if stripped.startswith("inst#") or html_table or xml:
            start = index
            parse = _parse_html_predictions if html_table else _parse_xml_predictions if xml else _parse_predictions
            predictions, numeric, index = parse(reader, start)
            if not predictions:
                reader.warn(start, "predictions header without any row")
                return max(index, start + 1)
            block = self.block_for("predictions", start)
            block["predictions"] = predictions
            block["class_type"] = block["class_type"] or ("numeric" if numeric else "nominal")
            block["layout"]["predictions"] = ("html" if html_table else "xml" if xml else
                                              "csv" if stripped.startswith("inst#,") else "plain")
            return index
        return index + 1


def _check_consistent(reader: _Reader, block: dict[str, Any]) -> None:
    """Warn where the table, the matrix and the summary of one block disagree (truncated parts aside)."""
    if block["truncated"]:
        return
    classes, matrix = block["classes"], block["confusion_matrix"]
    if classes is not None and matrix is not None and [row["class"] for row in classes] != matrix["labels"]:
        reader.warn(block["line"] - 1 if block["line"] else None,
                    f"the class-details rows {[row['class'] for row in classes]} differ from the confusion-matrix "
                    f"labels {matrix['labels']}")
    summary = block["summary"] or {}
    if matrix is not None and matrix["matrix"] and summary.get("total_instances") is not None and \
            len(matrix["matrix"]) == len(matrix["labels"]) and all(v is not None for row in matrix["matrix"] for v in row):
        total = sum(sum(row) for row in matrix["matrix"])
        known = summary["total_instances"] - (summary.get("unclassified") or 0)
        if abs(total - summary["total_instances"]) > 0.01 and abs(total - known) > 0.01:
            reader.warn(block["line"] - 1 if block["line"] else None,
                        f"the confusion matrix holds {total:g} instances, the summary {summary['total_instances']:g}")


def notebook_text(text: str) -> str | None:
    """The outputs (and code) of a Jupyter notebook's cells, joined; None if ``text`` is no notebook."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        return None
    parts = []

    def joined(value: Any) -> str:
        return "".join(value) if isinstance(value, list) else str(value or "")

    for cell in document["cells"]:
        if not isinstance(cell, dict):
            continue
        for output in cell.get("outputs") or []:
            if not isinstance(output, dict):
                continue
            if "text" in output:
                parts.append(joined(output["text"]))
            elif isinstance(output.get("data"), dict) and "text/plain" in output["data"]:
                parts.append(joined(output["data"]["text/plain"]))
    return "\n".join(parts)


def parse_text(text: str, source: str = "<text>") -> dict[str, list[dict[str, Any]]]:
    """Every evaluation block in ``text``, in order, and the warnings (see the module docstring).

    Raises
    ------
    WekawbcError
        If no evaluation block is found.
    """
    notebook = notebook_text(text)
    reader = _Reader(text if notebook is None else notebook, source)
    if notebook is not None:
        reader.warn(None, "read the outputs of a Jupyter notebook: line numbers count lines of those outputs")
    scanner = _Scanner(reader)
    index = 0
    while index < len(reader.lines):
        title = _TITLE.match(reader.stripped(index))
        index = scanner.title(title.group(1), index) if title else scanner.line(index)
    blocks = [block for block in scanner.blocks
              if any(block[key] is not None for key in ("summary", "classes", "confusion_matrix", "predictions"))]
    if not blocks and not scanner.experiments:
        raise WekawbcError(f"{source}: no Weka evaluation found in {source} (no summary, class details, "
                           "confusion matrix, predictions table or Experimenter table)")
    for block in blocks:
        _check_consistent(reader, block)
    warnings = sorted(reader.warnings, key=lambda w: (w["line"] is not None, w["line"] or 0))
    return {"evaluations": blocks, "experiments": scanner.experiments, "warnings": warnings}


def read_text_file(path: str | os.PathLike) -> str:
    """A text file's contents: UTF-8 (with or without BOM), UTF-16 with BOM, then cp1252, then Latin-1.

    Raises
    ------
    WekawbcError
        The file cannot be read, is empty, or is binary (NUL or many control bytes).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise WekawbcError(f"{path}: cannot read: {error.strerror or error}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise WekawbcError(f"{path}: not a text file (a UTF-16 mark, but not UTF-16)") from None
    sample = data[:65536]
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > max(8, len(sample) // 100):
        raise WekawbcError(f"{path}: binary file, not Weka's text output")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if not text.strip():
        raise WekawbcError(f"{path}: empty file")
    return text


def parse_file(path: str | os.PathLike) -> dict[str, list[dict[str, Any]]]:
    """:func:`parse_text` on a file read by :func:`read_text_file`."""
    return parse_text(read_text_file(path), str(path))


# ----- rendering back ------------------------------------------------------------------------------
def _commas(text: str) -> str:
    return re.sub(r"(\d)\.(\d)", r"\1,\2", text)


def _render_details_old(block: dict[str, Any], layout: str) -> str:
    """The 3.6 table (indented, "Weighted Avg." row) or the 3.4/3.5 one (flush left, no such row)."""
    columns = _COLUMNS36[:len((block.get("layout") or {}).get("columns") or _COLUMNS36)]
    lines = ["=== Detailed Accuracy By Class ===\n", "\n", _old_header(layout, len(columns)) + "\n"]

    def cells(row: dict[str, Any]) -> list[str]:
        out = []
        for key in columns:
            value = row.get(key)
            out.append("  ?    " if value is None and key == "roc_area" else
                       double_to_string(math.nan if value is None else value, 7, 3))
        return out

    indent = " " * _OLD_INDENT[layout]
    for row in block["classes"]:
        values = cells(row)
        lines.append(indent + "".join(v + s for v, s in zip(values, _SEPARATORS36)) + row["class"] + "\n")
    if block["weighted_avg"] is not None:
        values = cells(block["weighted_avg"])
        lines.append("Weighted Avg.  " + values[0] + "".join(s + v for s, v in zip(_SEPARATORS36, values[1:])) + "\n")
    return "".join(lines)


def _render_details(block: dict[str, Any]) -> str:
    layout = block.get("layout") or {}
    if layout.get("details") in _OLD_INDENT:
        text = _render_details_old(block, layout["details"])
    else:
        columns = layout.get("columns") or [key for key, _, _ in DETAIL_COLUMNS]
        weighted = block["weighted_avg"] or dict.fromkeys(columns)
        text = render_class_details(block["classes"], weighted, columns=columns)
        if block["weighted_avg"] is None:
            text = text[:text.rindex("Weighted Avg.")]
    if layout.get("details_decimal") == ",":
        end = _class_column(layout.get("details", "3.9"), layout.get("columns") or [])
        lines = text.split("\n")
        text = "\n".join(lines[:3] + [_commas(line[:end]) + line[end:] for line in lines[3:]])
    return text


def _render_matrix(block: dict[str, Any]) -> str:
    matrix = block["confusion_matrix"]
    cells = [[math.nan if cell is None else cell for cell in row] for row in matrix["matrix"]]
    missing = len(cells[0]) - len(cells) if cells else 0  # a truncated matrix: its header has every column
    text = render_matrix(list(matrix["labels"]) + ["?"] * missing, cells + [[0.0] * len(cells[0])] * missing)
    if missing > 0:
        text = "".join(text.splitlines(keepends=True)[:len(cells) + 3])
    if (block.get("layout") or {}).get("matrix_decimal") == ",":
        text = "\n".join(_commas(line.split(" | ")[0]) + ("" if " | " not in line else " | " + line.split(" | ", 1)[1])
                         for line in text.split("\n"))
    return text


def render_evaluation(block: dict[str, Any], summary_title: str = "=== Summary ===\n") -> str:
    """Weka's text of a parsed block: summary, blank line, class details, blank line, matrix.

    Each part in the layout it was read from (Weka 3.9's, with the columns it had, or Weka 3.6's or
    3.4/3.5's class details; decimal commas where the source had them). Parts the block lacks are left out.
    """
    parts = []
    layout = block.get("layout") or {}
    if block.get("summary") is not None:
        text = render_summary(block["summary"], summary_title)
        parts.append(_commas(text) if layout.get("summary_decimal") == "," else text)
    if block.get("classes") is not None:
        parts.append(_render_details(block))
    if block.get("confusion_matrix") is not None:
        parts.append(_render_matrix(block))
    return "\n".join(parts)

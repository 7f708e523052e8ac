"""Weka 3.4/3.5's class-details table: parsed and rendered back, on text made by that era's format strings.

No Weka 3.4 or 3.5 runs here (none is packaged where this project installs from), so the text is made
the way their ``Evaluation.toClassDetailsString`` made it, from the public source of the 3.4 branch
(``$Revision: 1.81.2.2 $``, with ROC Area; the 2004 3.4 without it): the header
``"TP Rate   FP Rate   Precision   Recall  F-Measure   ROC Area  Class"`` flush left, then per class
``Utils.doubleToString(x, 7, 3)`` of each statistic followed by ``"   "``, ``"    "``, ``"   "``, ``"   "``,
``"    "`` (and ``"    "`` after the ROC Area), then the class name; no "Weighted Avg." row. The
numbers and ``doubleToString`` are real Weka's (3.9.7, in the JVM); the parsed cells are compared
with Weka's Evaluation object.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import weka_corpus as wc
from wekawbc.evaluation.parse import parse_text, render_evaluation

_GETTERS = ("truePositiveRate", "falsePositiveRate", "precision", "recall", "fMeasure", "areaUnderROC")
_AFTER = ("   ", "    ", "   ", "   ", "    ", "    ")


def _table_35(evaluation, with_roc: bool) -> str:
    """toClassDetailsString of Weka 3.4/3.5, cell by cell as its source appends them."""
    from jpype import JClass

    utils = JClass("weka.core.Utils")
    header = evaluation.getHeader()
    columns = len(_GETTERS) if with_roc else len(_GETTERS) - 1
    lines = ["=== Detailed Accuracy By Class ===\n", "\nTP Rate   FP Rate   Precision   Recall  F-Measure   "
             + ("ROC Area  " if with_roc else "") + "Class\n"]
    for i in range(header.numClasses()):
        cells = "".join(str(utils.doubleToString(float(getattr(evaluation, getter)(i)), 7, 3)) + after
                        for getter, after in zip(_GETTERS[:columns], _AFTER))
        lines.append(cells + str(header.classAttribute().value(i)) + "\n")
    return "".join(lines)


@pytest.mark.parametrize("with_roc", [True, False], ids=["3.5-roc", "3.4-no-roc"])
@pytest.mark.parametrize("prefix", ["", "> ", "    "], ids=["plain", "quoted", "indented"])
def test_old_class_details_parse_and_render_back(jvm, corpus_inputs: dict[str, Path], with_roc, prefix) -> None:
    run = wc.RUNS39[1]  # NaiveBayes, 5 classes, cross-validation
    (_, evaluation) = wc.oracle_evaluations(run, corpus_inputs)
    source = _table_35(evaluation, with_roc)
    pasted = "".join(prefix + line if line.strip() else line for line in source.splitlines(keepends=True))
    parsed = parse_text(pasted)
    assert parsed["warnings"] == []
    (block,) = parsed["evaluations"]
    assert block["layout"]["details"] == "3.5" and block["weighted_avg"] is None
    oracle = wc.oracle_numbers(evaluation, False)["classes"]
    assert [row["class"] for row in block["classes"]] == [row["class"] for row in oracle]
    for row, weka in zip(block["classes"], oracle):
        assert list(row) == ["class", "tp_rate", "fp_rate", "precision", "recall", "f_measure"] + (
            ["roc_area"] if with_roc else [])
        for key, value in row.items():
            if key != "class":
                assert abs(value - weka[key]) <= 0.0005 * (1 + 1e-9), (row["class"], key)
    assert render_evaluation(block) == source
    assert parse_text(render_evaluation(block))["evaluations"][0]["classes"] == block["classes"]

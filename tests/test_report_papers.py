"""The bundled paper transcription and its validating loader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wekawbc._io import WekawbcError
from wekawbc.papers import available_papers, load_paper, paper_from_dict


def _entry(document: dict, value_id: str) -> dict:
    return next(v for v in document["values"] if v["id"] == value_id)


@pytest.fixture
def raw() -> dict:
    from importlib import resources

    return json.loads((resources.files("wekawbc.papers") / "alkrimi2023.json").read_text(encoding="utf-8"))


def test_bundled_paper_loads_with_every_table():
    paper = load_paper("alkrimi2023")
    assert "alkrimi2023" in available_papers()
    tables = {value.table for value in paper.values}
    assert {f"Table {n}" for n in range(1, 10)} <= tables
    assert {"Abstract", "Conclusion"} <= tables
    assert paper.confusion_tables() == {"Table 7": "binary", "Table 8": "five"}


def test_transcription_spot_checks_against_the_paper_text():
    # Printed as in the paper: Table 5 multi F-score has two decimals, Table 6 AUC four.
    paper = load_paper("alkrimi2023")
    assert (paper.value("t5.multi.f_measure").printed, paper.value("t5.multi.f_measure").decimals) == ("0.96", 2)
    assert paper.value("t6.binary.auc").value == 0.9995
    assert paper.value("t4.monocyte").printed == "97%" and paper.value("t4.monocyte").half_unit == 0.5
    assert paper.value("t8.total.eosinophil").value == 149
    labels, matrix = paper.confusion_matrix("Table 8")
    assert labels == ("monocyte", "lymphocyte", "neutrophil", "eosinophil", "basophil")
    assert matrix[2].tolist() == [1, 0, 546, 6, 3] and matrix.sum() == 1000
    labels, matrix = paper.confusion_matrix("Table 7")
    np.testing.assert_array_equal(matrix, [[210, 56], [28, 706]])


def test_load_by_path_equals_bundled(tmp_path, raw):
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(raw))
    assert load_paper(path).values == load_paper("alkrimi2023").values


def test_a_paper_file_naming_the_five_class_task_multi_still_loads(tmp_path, raw):
    # Paper files written before the rename call the five-class task "multi": read as "five" (tasks,
    # values and confusion tables alike), so they give the very paper the bundled file gives.
    old = json.loads(json.dumps(raw).replace('"task": "five"', '"task": "multi"'))
    old["tasks"] = {("multi" if name == "five" else name): info for name, info in old["tasks"].items()}
    assert "five" not in json.dumps(old["tasks"]) and '"task": "five"' not in json.dumps(old)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    paper, bundled = load_paper(path), load_paper("alkrimi2023")
    assert paper.values == bundled.values and paper.tasks == bundled.tasks and paper.tables == bundled.tables
    assert paper.class_counts("multi") == paper.class_counts("five") == bundled.class_counts("five") != {}
    assert paper.confusion_table_for("multi") == "Table 8"
    both = {**old, "tasks": {**old["tasks"], "five": old["tasks"]["multi"]}}
    with pytest.raises(WekawbcError, match="former name of 'five'"):
        paper_from_dict(both, "both.json")


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("schema"), "field 'schema'"),
    (lambda d: d.update(schema_version=2), "schema_version"),
    (lambda d: d["values"][0].pop("printed"), "values[0] ('t1.agranulocyte.training'): field 'printed' is missing"),
    (lambda d: _entry(d, "t3.granulocyte").update(decimals=2), "field 'decimals' is 2 but the printed text '96.4%' has 1"),
    (lambda d: _entry(d, "t3.granulocyte").update(value=96.5), "field 'value' [96.5] differs from the printed text '96.4%'"),
    (lambda d: d["values"][3].update(metric="accurracy"), "field 'metric' is 'accurracy'"),
    (lambda d: d["values"][3].update(unit="percentage"), "field 'unit' is 'percentage'"),
    (lambda d: d["values"][3].update(table="Table 99"), "field 'table' is 'Table 99'"),
    (lambda d: d["values"][3].update(value="587"), "field 'value' is '587'"),
    (lambda d: d["values"][3].update({"class": "neutrophil"}), "field 'class' is 'neutrophil'"),
    (lambda d: d["values"][4].update(id="t1.agranulocyte.training"), "used twice"),
    (lambda d: d["values"].remove(_entry(d, "t8.basophil.basophil")),
     "cells missing from 'values': basophil->basophil"),
])
def test_schema_errors_name_the_field(raw, edit, message):
    edit(raw)
    with pytest.raises(WekawbcError) as error:
        paper_from_dict(raw, "bad.json")
    assert str(error.value).startswith("bad.json: ") and message in str(error.value)


def test_missing_file_and_bad_json(tmp_path):
    with pytest.raises(WekawbcError, match="no such paper file.*bundled: alkrimi2023"):
        load_paper(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(WekawbcError, match="bad.json: not valid JSON: line 1"):
        load_paper(bad)

"""docs/ reproduces: every table equals its results file, every results file says what made it, and the
fast documented run is re-run here and compared to its file exactly."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import docs_tables  # noqa: E402

DOCUMENTS = docs_tables.documents(REPO_ROOT)
FAST = REPO_ROOT / "docs" / "results" / "pbc" / "fast_j48.json"
AUDIT = REPO_ROOT / "docs" / "results" / "audit" / "alkrimi2023.json"
CELLS = REPO_ROOT / "docs" / "results" / "cells"
UNVERSIONED = {"pbc_lobes_granules.json"}
"""Results files made before ``made_by`` existed, rendered all the same: they record their command and commit but
not the library versions (docs/cells.md says so; re-making pbc_lobes_granules.json is one long pass over pbc)."""


def _tables(document: Path) -> list[str]:
    return [match["name"] for match in docs_tables.MARKER.finditer(document.read_text())]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_table_equals_its_results_files(document):
    text = document.read_text()
    assert docs_tables.render(document, text) == text, (
        f"{document.name}: a table differs from its results file; run python3 -m benchmarks.docs_tables")


def test_the_documents_with_figures_are_rendered_from_results_files():
    for name in ("experiment_pbc.md", "report_pbc.md", "cnn.md", "REPRODUCE.md", "cells.md", "experiment.md",
                 "audit_alkrimi2023.md"):
        assert _tables(REPO_ROOT / "docs" / name), f"docs/{name} has no table rendered from a results file"


@pytest.mark.parametrize("results", sorted({path for document in DOCUMENTS
                                            for path in docs_tables.sources(document, document.read_text())}),
                         ids=lambda p: p.name)
def test_every_results_file_records_the_commit_and_versions_that_made_it(results):
    assert results.is_file()
    data = json.loads(results.read_text())
    if results.name in UNVERSIONED:
        assert "made_by" not in data and data["command"] and re.fullmatch(r"[0-9a-f]{7,40}", data["commit"])
    else:
        assert docs_tables.made_by_problems(data) == []


def test_check_fails_when_a_number_differs_from_its_file(tmp_path):
    results = json.loads(FAST.read_text())
    (tmp_path / "fast.json").write_text(json.dumps(results))
    document = tmp_path / "doc.md"
    document.write_text("text\n<!-- table: weka_text from fast.json -->\nstale\n<!-- /table -->\nmore text\n")
    rendered = docs_tables.render(document, document.read_text())
    assert "Correctly Classified Instances" in rendered and "stale" not in rendered
    assert rendered.startswith("text\n") and rendered.endswith("<!-- /table -->\nmore text\n")
    assert docs_tables.render(document, rendered) == rendered
    edited = rendered.replace(" 0.", " 1.", 1)
    assert edited != rendered and docs_tables.render(document, edited) == rendered


def test_a_results_file_without_its_commit_is_reported():
    results = json.loads(FAST.read_text())
    assert docs_tables.made_by_problems(results) == []
    del results["made_by"]["commit"]
    results["made_by"]["versions"].pop("weka")
    problems = docs_tables.made_by_problems(results)
    assert any("commit" in p for p in problems) and any("weka" in p for p in problems)
    assert docs_tables.made_by_problems({}) == ["no made_by record"]


def test_the_fast_documented_run_repeats_exactly(datasets, jvm, tmp_path, capsys):
    """The commands recorded in docs/results/pbc/fast_j48.json (subsample, extract, J48 1 x 10-fold), run
    again from the images; Weka with a seed and the feature extraction are deterministic, so every number
    and Weka's text must equal the file's."""
    from wekawbc.cli import main

    documented = json.loads(FAST.read_text())
    for command in documented["made_by"]["commands"]:
        arguments = [argument.replace("reports/reproduce/fast-j48", str(tmp_path))
                     .replace("../shared/datasets", str(datasets)) for argument in shlex.split(command)]
        assert arguments[0] == "wekawbc"
        assert main(arguments[1:]) == 0, command
    capsys.readouterr()
    again = json.loads((tmp_path / "j48.json").read_text())
    for key in ("labels", "n_instances", "confusion_matrix", "train_counts", "weka_text"):
        assert again[key] == documented[key], key
    assert again["statistics"] == documented["statistics"]
    assert again["class_statistics"] == documented["class_statistics"]


def _documented_arguments(results: Path, *, prefix: str) -> list[str]:
    """The arguments of the documented command of ``results`` that starts with ``prefix``."""
    (command,) = [c for c in json.loads(results.read_text())["made_by"]["commands"] if c.startswith(prefix)]
    return shlex.split(command)[1:]


def test_the_documented_audit_repeats_exactly(capsys):
    """``wekawbc audit alkrimi2023 --json``, the command of docs/results/audit/alkrimi2023.json, gives the file's
    findings again (the audit is deterministic: the paper file and the evaluation engine)."""
    from wekawbc.cli import main

    documented = json.loads(AUDIT.read_text())
    capsys.readouterr()
    assert main(_documented_arguments(AUDIT, prefix="wekawbc audit")) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["findings"] == documented["findings"] and again["counts"] == documented["counts"]


def test_the_documented_jtsc_dice_repeats_exactly(datasets, tmp_path, capsys):
    """The held-out jtsc segmentation Dice of docs/cells.md, re-run from the images by its documented command."""
    from wekawbc.cli import main

    results = CELLS / "jtsc-segmentation-held-out.json"
    arguments = [a.replace("../shared/datasets", str(datasets)) for a in
                 _documented_arguments(results, prefix="wekawbc validate-cells ../shared/datasets/jtsc --check "
                                                       "segmentation --share held-out")]
    arguments[arguments.index("--json") + 1] = str(tmp_path / "again.json")
    assert main(arguments) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "again.json").read_text())["summary"] == json.loads(results.read_text())["summary"]

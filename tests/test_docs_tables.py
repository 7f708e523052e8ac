"""docs/ reproduces: every table equals its results file, every results file says what made it, and the
fast documented run is re-run here and compared to its file exactly."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import docs_tables  # noqa: E402

DOCUMENTS = docs_tables.documents(REPO_ROOT)
FAST = REPO_ROOT / "docs" / "results" / "pbc" / "fast_j48.json"


def _tables(document: Path) -> list[str]:
    return [match["name"] for match in docs_tables.MARKER.finditer(document.read_text())]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_table_equals_its_results_files(document):
    text = document.read_text()
    assert docs_tables.render(document, text) == text, (
        f"{document.name}: a table differs from its results file; run python3 -m benchmarks.docs_tables")


def test_the_pbc_documents_are_rendered_from_results_files():
    for name in ("experiment_pbc.md", "report_pbc.md", "cnn.md", "REPRODUCE.md"):
        assert _tables(REPO_ROOT / "docs" / name), f"docs/{name} has no table rendered from a results file"


@pytest.mark.parametrize("results", sorted({path for document in DOCUMENTS
                                            for path in docs_tables.sources(document, document.read_text())}),
                         ids=lambda p: p.name)
def test_every_results_file_records_the_commit_and_versions_that_made_it(results):
    assert results.is_file()
    assert docs_tables.made_by_problems(json.loads(results.read_text())) == []


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

"""The Experimenter's tester output (Analyse panel text) against the tester's own result matrix.

A real Weka Experimenter run (``tests/weka_corpus.py``: J48, NaiveBayes, ZeroR, 3 x 5-fold CV on two
data sets) is analysed by ``PairedCorrectedTTester`` with the plain-text matrix, once with the panel's
names and once with enumerated names, standard deviations and the ranking. Every parsed mean,
standard deviation, significance mark and (v/ /*) count must equal the Java ``ResultMatrix``'s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import weka_corpus as wc
from wekawbc.evaluation.parse import parse_text, render_experiment

@pytest.fixture(scope="module")
def experiment(jvm, corpus_inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    return wc.run_experiment(corpus_inputs, tmp_path_factory.mktemp("experiment"))


def test_tester_output_equals_the_result_matrix(experiment) -> None:
    text, matrices = experiment
    parsed = parse_text(text, "experimenter.txt")
    assert parsed["warnings"] == [] and parsed["evaluations"] == []
    assert [e["measure"] for e in parsed["experiments"]] == [measure for measure, _ in matrices]
    for parsed_experiment, (_, matrix) in zip(parsed["experiments"], matrices):
        assert parsed_experiment["datasets"] == matrix["rows"] == len(parsed_experiment["rows"])
        assert parsed_experiment["resultsets"] == matrix["cols"]
        for r, row in enumerate(parsed_experiment["rows"]):
            assert row["runs"] == matrix["runs"][r] == 15
            assert row["marks"] == matrix["marks"][r]
            for c in range(matrix["cols"]):
                assert abs(row["means"][c] - matrix["means"][r][c]) <= 0.005 * 1.0001
                if row["stddevs"] is not None:
                    assert abs(row["stddevs"][c] - matrix["stddevs"][r][c]) <= 5e-6 * 1.0001
        assert parsed_experiment["counts"] == matrix["counts"]
    first, second = parsed["experiments"]
    assert first["rows"][0]["dataset"] == "train3" and first["rows"][0]["stddevs"] is None
    assert second["rows"][0]["stddevs"] is not None and len(second["key"]) == 3
    ranking = second["ranking"]
    assert len(ranking) == 3 and all(r["difference"] == r["wins"] - r["losses"] for r in ranking)
    assert {r["resultset"] for r in ranking} == set(second["key"].values())


def test_pasted_and_truncated_tester_output(experiment) -> None:
    text, _ = experiment
    quoted = "\n".join("> " + line for line in text.splitlines())
    assert parse_text(quoted)["experiments"] == [
        {**e, "line": e["line"]} for e in parse_text(text)["experiments"]]
    cut = text[:text.index("(v/ /*)")]
    parsed = parse_text(cut)
    assert len(parsed["experiments"][0]["rows"]) == 2
    assert any("(v/ /*) counts" in w["message"] for w in parsed["warnings"])


def _without_lines(experiments: list[dict]) -> list[dict]:
    return [{key: value for key, value in e.items() if key != "line"} for e in experiments]


@pytest.mark.parametrize("paste", ["plain", "quoted", "crlf"])
def test_tester_output_renders_back(experiment, paste) -> None:
    # parse -> render -> parse is the identity, and every rendered line is one of Weka's lines.
    text, _ = experiment
    source = {"plain": text, "quoted": "\n".join("> " + line for line in text.splitlines()),
              "crlf": text.replace("\n", "\r\n")}[paste]
    parsed = parse_text(source)["experiments"]
    weka_lines = set(text.splitlines())
    for one in parsed:
        rendered = render_experiment(one)
        assert [line for line in rendered.splitlines() if line and line not in weka_lines] == []
        again = parse_text(rendered)
        assert again["warnings"] == [] and _without_lines(again["experiments"]) == _without_lines([one])
    # the table lines of both layouts (names and enumerated, with standard deviations) come back
    rendered = "".join(render_experiment(one) for one in parsed)
    table_lines = [line for line in text.splitlines() if "|" in line or line.startswith(("---", "(", "Key:"))]
    assert set(table_lines) <= set(rendered.splitlines())

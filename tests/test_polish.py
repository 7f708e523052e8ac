"""Issue 16's polish list, each item with its test (the others: tests/test_demo.py for ``demo --out``,
tests/test_hostile_inputs.py for ``cnn predict`` exiting 3 on skipped images)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from wekawbc.cli import main


def _arff(path, counts: dict[str, int], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    rows = [(*np.round(rng.normal(size=3) + i, 4), label) for i, (label, n) in enumerate(counts.items())
            for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["area", "hue", "lobes", "class"])
    lines = ["@relation cells", *(f"@attribute {c} numeric" for c in frame.columns[:-1]),
             "@attribute class {neutrophil,eosinophil,basophil,lymphocyte,monocyte}", "@data"]
    lines += [",".join(map(str, row)) for row in frame.itertuples(index=False)]
    path.write_text("\n".join(lines) + "\n")


def test_probability_error_shows_a_plain_number(tmp_path, capsys):
    predictions = tmp_path / "p.csv"
    predictions.write_text("fold,actual,weight,p_a,p_b\n0,a,1,0.7,0.5\n0,b,1,0.2,0.8\n")
    assert main(["evaluate", str(predictions)]) == 1
    err = capsys.readouterr().err
    assert "(row 2 sums to 1.2);" in err and "np.float64" not in err


def _imports_after(argv: list[str]) -> str:
    """Exit code and which heavy libraries were imported, in a fresh interpreter running ``argv``."""
    code = ("import sys\nfrom wekawbc.cli import main\nrc = main(sys.argv[1:])\n"
            "print(rc, *sorted(m for m in ('torch', 'jpype', 'cv2') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    return done.stdout.strip()


@pytest.mark.parametrize("argv", [
    ["weka", "missing.arff", "--classifier", "weka.classifiers.trees.J48"],
    ["weka", "--load-model", "missing.model", "--test", "missing.arff"],
    ["rank", "missing.arff"],
    ["extract", "missing_dir", "-o", "x.arff"],
    ["cnn", "train", "missing_dir", "--out", "m.pt"],
    ["cnn", "evaluate", "missing_dir", "--folds", "3"],
    ["cnn", "predict", "missing.pt", "missing_dir", "-o", "p.csv"],
    ["cnn", "adapt", "missing.pt", "missing_dir", "--out", "d"],
])
def test_a_path_typo_is_reported_before_torch_java_or_opencv_load(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _imports_after(argv) == "1"  # exit 1, and none of torch, jpype, cv2 imported


def _config(tmp_path, data: str, folds: int = 10) -> str:
    config = tmp_path / "c.toml"
    config.write_text(f"""name = "small"
[[datasets]]
{data}
[evaluation]
folds = {folds}
[[classifiers]]
weka = "weka.classifiers.bayes.NaiveBayes"
[output]
reports = "{tmp_path / 'reports' / 'nested'}"
arff = "{tmp_path / 'arff'}"
compare = ""
""")
    return str(config)


def test_run_warns_of_small_classes_as_weka_does(jvm, tmp_path, capsys):
    data = tmp_path / "cells.arff"
    _arff(data, {"neutrophil": 12, "eosinophil": 6, "basophil": 2, "lymphocyte": 8, "monocyte": 4})
    assert main(["weka", str(data), "--classifier", "weka.classifiers.bayes.NaiveBayes", "--folds", "5", "-o"]) == 0
    weka = [line.removeprefix("wekawbc: warning: ") for line in capsys.readouterr().err.splitlines()]
    assert len(weka) == 2 and "class 'basophil' has 2 instance(s), fewer than 5 folds" in weka[0]
    assert main(["run", _config(tmp_path, f'path = "{data}"', folds=5), "--no-progress"]) == 0
    run = [line for line in capsys.readouterr().err.splitlines() if line.startswith("wekawbc: warning: ")]
    assert run == [f"wekawbc: warning: cells, five-class task: {note}" for note in weka]


def test_a_failed_run_leaves_no_empty_report_folder(jvm, tmp_path, capsys):
    images = tmp_path / "unlabelled"
    images.mkdir()
    from wekawbc.synthetic import write_dataset

    write_dataset(tmp_path / "synthetic", {"neutrophil": 1, "eosinophil": 0, "basophil": 0, "lymphocyte": 0,
                                           "monocyte": 0}, seed=1, progress=False)
    for image in (tmp_path / "synthetic").rglob("*.png"):
        image.rename(images / image.name)  # images without labels: an experiment cannot use them
    assert main(["run", _config(tmp_path, f'path = "{images}"'), "--no-progress"]) == 1
    assert "no labelled images" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()

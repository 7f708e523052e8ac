"""One run format: the folders every producer writes (--out) are read by 'wekawbc report' and 'compare'."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from wekawbc.cli import main
from wekawbc.predictions import Predictions, write_predictions_csv
from wekawbc.report.runfolder import load_run

FIVE = ("neutrophil", "lymphocyte", "eosinophil", "monocyte", "basophil")


@pytest.fixture(scope="module")
def five_class_arff(tmp_path_factory):
    """A seeded five-class data set in the paper's class mix, two informative attributes and one noise."""
    rng = np.random.default_rng(5)
    counts = (111, 46, 31, 8, 5)
    y = np.repeat(np.arange(5), counts)
    x = np.column_stack([y + rng.normal(scale=0.6, size=y.size), (y % 2) + rng.normal(scale=0.5, size=y.size),
                         rng.normal(size=y.size)])
    lines = ["@relation cells", "@attribute size numeric", "@attribute colour numeric", "@attribute noise numeric",
             "@attribute class {" + ",".join(FIVE) + "}", "@data"]
    lines += [f"{a:.5f},{b:.5f},{c:.5f},{FIVE[k]}" for (a, b, c), k in zip(x, y)]
    path = tmp_path_factory.mktemp("five") / "cells.arff"
    path.write_text("\n".join(lines) + "\n")
    return path


def _wekawbc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wekawbc", *args], capture_output=True, text=True)


def test_weka_writes_a_run_folder_that_report_and_compare_read(jvm, five_class_arff, tmp_path):
    out = tmp_path / "j48"
    done = _wekawbc("weka", str(five_class_arff), "--classifier", "weka.classifiers.trees.J48", "--folds", "5",
                    "--out", str(out))
    assert done.returncode == 0, done.stderr
    run = load_run(out)
    # The folder holds Weka's own text, as printed, and the engine's numbers agree with it.
    assert (out / "weka.txt").read_text() == done.stdout
    assert run.report["settings"]["producer"] == "wekawbc weka" and run.report["weka_text_source"] == "weka"
    correct = float(done.stdout.split("Correctly Classified Instances")[1].split()[0])
    assert run.evaluation["summary"]["correct"] == correct
    assert run.predictions.train_counts.shape == (5, 5)
    assert main(["report", str(out), "--no-plots"]) == 0
    assert main(["compare", "alkrimi2023", str(out), "--output", str(tmp_path / "cmp")]) == 0
    table = json.loads(next((tmp_path / "cmp").glob("*.json")).read_text())
    assert table["task"] and table["rows"]


def test_evaluate_writes_a_run_folder_that_report_reads(tmp_path):
    rng = np.random.default_rng(1)
    actual = np.repeat(np.arange(5), 12)
    distribution = rng.dirichlet(np.ones(5), size=actual.size)
    distribution[np.arange(actual.size), actual] += 1
    distribution /= distribution.sum(axis=1, keepdims=True)
    predictions = Predictions(FIVE, actual, distribution, fold=np.arange(actual.size) % 3)
    csv = write_predictions_csv(predictions, tmp_path / "preds.csv")
    assert main(["evaluate", str(csv), "--out", str(tmp_path / "run")]) == 0
    run = load_run(tmp_path / "run")
    assert run.report["settings"]["producer"] == "wekawbc evaluate"
    assert run.report["bootstrap"]["n_resamples"] == 1000
    np.testing.assert_allclose(run.predictions.distribution, predictions.distribution)
    assert main(["report", str(tmp_path / "run"), "--no-plots"]) == 0


def test_run_writes_run_folders_that_report_reads(jvm, tmp_path):
    from wekawbc.synthetic import scaled_counts, write_dataset

    data = write_dataset(tmp_path / "cells", scaled_counts(0.03), seed=3)
    config = tmp_path / "x.toml"
    config.write_text(f'name = "x"\n[[datasets]]\nname = "cells"\npath = "{data}"\n[evaluation]\nfolds = 2\n'
                      '[[classifiers]]\nweka = "weka.classifiers.rules.ZeroR"\n'
                      f'[output]\nreports = "{tmp_path / "reports"}"\narff = "{tmp_path / "arff"}"\n'
                      f'cache = "{tmp_path / "cache"}"\n')
    assert main(["run", str(config), "--no-progress"]) in (0, 3)
    folders = sorted(path.parent for path in (tmp_path / "reports").rglob("report.json"))
    assert folders
    for folder in folders:
        assert load_run(folder).predictions.n_instances > 0
    assert main(["report", str(folders[0]), "--no-plots"]) == 0
    assert (folders[0] / "report.md").is_file()

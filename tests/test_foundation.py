"""The package foundation: CLI entry point, JVM start, atomic output, predictions interchange CSV."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from wekawbc import __version__
from wekawbc._io import WekawbcError, atomic_write
from wekawbc.cli import main
from wekawbc.predictions import (Predictions, read_predictions_csv, read_train_counts_csv,
                                 write_predictions_csv, write_train_counts_csv)


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"wekawbc {__version__}"


def test_console_script_runs_info():
    result = subprocess.run([sys.executable, "-m", "wekawbc", "info"], capture_output=True, text=True, check=True)
    assert "weka" in result.stdout and "java" in result.stdout


def test_jvm_runs_weka(jvm):
    from jpype import JClass

    assert JClass("weka.core.Version").VERSION == "3.9.7"
    assert jvm.libjvm.is_file()


def test_atomic_write_keeps_previous_content_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "report.json") as handle:
            handle.write("{}")
    finally:
        os.umask(mask)
    assert (tmp_path / "report.json").stat().st_mode & 0o777 == 0o644


def test_predictions_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    dist = rng.dirichlet(np.ones(3), size=7)
    preds = Predictions(("a", "b", "c d"), [0, 2, 1, -1, 0, 1, 2], dist, rng.uniform(0.5, 2, 7), [0, 0, 1, 1, 2, 2, 2],
                        ids=tuple(f"img{i}.png" for i in range(7)))
    back = read_predictions_csv(write_predictions_csv(preds, tmp_path / "p.csv"))
    assert back.labels == preds.labels and back.ids == preds.ids
    np.testing.assert_array_equal(back.distribution, preds.distribution)  # exact: repr round-trips
    np.testing.assert_array_equal(back.actual, preds.actual)
    np.testing.assert_array_equal(back.weight, preds.weight)
    np.testing.assert_array_equal(back.fold, preds.fold)
    counts = np.array([[3.0, 1.5, 2.0], [4.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    path = write_train_counts_csv(preds.labels, counts, tmp_path / "c.csv")
    np.testing.assert_array_equal(read_train_counts_csv(path, preds.labels), counts)
    with pytest.raises(WekawbcError, match="differ"):
        read_train_counts_csv(path, ("a", "b", "x"))


def test_predictions_csv_errors_name_file_and_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("fold,actual,weight,p_a,p_b\n0,a,1,0.5,0.5\n0,z,1,0.5,0.5\n")
    with pytest.raises(WekawbcError, match=r"bad.csv: row 3: actual class 'z'"):
        read_predictions_csv(bad)
    bad.write_text("fold,actual,weight,p_a,p_b\n0,a,1,0.5,x\n")
    with pytest.raises(WekawbcError, match=r"row 2: column 'p_b'"):
        read_predictions_csv(bad)
    with pytest.raises(WekawbcError, match="cannot read"):
        read_predictions_csv(tmp_path / "missing.csv")


def test_fold_train_counts_sum_training_weights_and_skip_unknown_classes():
    from wekawbc.predictions import fold_train_counts

    actual = np.array([0, 1, 1, -1, 2, 0])
    weight = np.array([1.0, 2.0, 0.5, 9.0, 1.0, 3.0])
    counts = fold_train_counts(actual, [np.array([0, 1, 3]), np.array([2, 4, 5])], 3, weight)
    np.testing.assert_array_equal(counts, [[1.0, 2.0, 0.0], [3.0, 0.5, 1.0]])
    np.testing.assert_array_equal(fold_train_counts(actual, [np.arange(6)], 3), [[2.0, 2.0, 1.0]])

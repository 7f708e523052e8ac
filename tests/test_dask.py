"""Scale-out on Dask: a local cluster of 2 worker processes gives exactly the serial results."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from wekawbc._io import WekawbcError
from wekawbc.experiment.config import parse_config
from wekawbc.experiment.runner import run_experiment
from wekawbc.experiment.scaleout import DaskExecutor, SerialExecutor
from wekawbc.predictions import read_predictions_csv
from wekawbc.synthetic import scaled_counts, write_dataset

pytest.importorskip("distributed")


def _die_once(marker: str, value: int) -> int:
    """Kills its worker process the first time it runs (the marker file remembers), then succeeds."""
    if not os.path.exists(marker):
        Path(marker).write_text("died")
        os._exit(1)
    return value


def _always_fails() -> None:
    raise WekawbcError("this task cannot succeed")


def _jvm_running() -> bool:
    from wekawbc.weka import jvm

    return jvm.is_started()


@pytest.fixture(scope="module")
def cluster():
    import cloudpickle

    # The workers cannot import this test module; send its helpers by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    executor = DaskExecutor(workers=2, retries=2)
    yield executor
    executor.close()


def _config(data: Path, out: Path) -> dict:
    return {"name": "same", "datasets": [{"name": "cells", "path": str(data)}],
            "evaluation": {"folds": 3, "repetitions": 2},
            "classifiers": [{"weka": "weka.classifiers.trees.J48"},
                            {"weka": "weka.classifiers.trees.RandomForest -I 10", "strategies": ["none", "class_balancer"]}],
            "output": {"reports": str(out / "reports"), "arff": str(out / "arff"), "cache": str(out / "cache")}}


def test_every_worker_started_its_jvm(cluster):
    assert set(cluster.client.run(_jvm_running).values()) == {True}
    assert len(cluster.client.scheduler_info()["workers"]) == 2


def test_two_workers_give_the_serial_results(cluster, tmp_path: Path):
    data = write_dataset(tmp_path / "data", scaled_counts(0.05), seed=4)
    serial = run_experiment(parse_config(_config(data, tmp_path / "serial")), SerialExecutor(), progress=False)
    dask = run_experiment(parse_config(_config(data, tmp_path / "dask")), cluster, progress=False)
    assert dask.units_run == serial.units_run == 6
    # Extraction: the same feature table, byte for byte.
    (serial_features,) = (tmp_path / "serial" / "cache").glob("features-*.csv")
    assert serial_features.read_bytes() == next((tmp_path / "dask" / "cache").glob("features-*.csv")).read_bytes()
    # Grid: the same predictions for every scheme and repetition.
    serial_files = sorted((serial.run_dir / "grid").rglob("predictions.csv"))
    assert len(serial_files) == 6
    for path in serial_files:
        other = dask.run_dir / path.relative_to(serial.run_dir)
        a, b = read_predictions_csv(path), read_predictions_csv(other)
        assert a.ids == b.ids
        np.testing.assert_array_equal(a.distribution, b.distribution)
    # Reports: the same numbers.
    for name in ("experiment.json",):
        first = json.loads((serial.run_dir / "cells-five" / name).read_text())
        second = json.loads((dask.run_dir / "cells-five" / name).read_text())
        assert first["summary"] == second["summary"] and first["tests"] == second["tests"]
    for folder in serial.run_folders:
        first = json.loads((folder / "report.json").read_text())["evaluation"]
        second = json.loads((dask.run_dir / folder.relative_to(serial.run_dir) / "report.json").read_text())
        assert first == second["evaluation"]


def test_a_task_whose_worker_dies_is_retried(cluster, tmp_path: Path):
    handle = cluster.submit("dies-once", _die_once, str(tmp_path / "marker"), 7)
    assert cluster.results([handle], "retry", progress=False) == [7]


def test_a_failing_task_is_named(cluster):
    handle = cluster.submit("doomed-task-3", _always_fails)
    with pytest.raises(WekawbcError, match="doomed-task-3.*cannot succeed"):
        cluster.results([handle], "fail", progress=False)


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(WekawbcError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskExecutor(scheduler="tcp://127.0.0.1:9", connect_timeout=2)


@pytest.mark.slow  # about 50 s on the 2-core machine
def test_restarting_both_workers_mid_run_gives_the_serial_results(cluster, tmp_path: Path):
    """Issue 15 item 8: both workers restarted once the grid has begun; the run finishes, equal to serial."""
    import threading
    import time

    data = write_dataset(tmp_path / "data", scaled_counts(0.05), seed=5)
    raw = {**_config(data, tmp_path / "serial"), "classifiers": [{"weka": "weka.classifiers.trees.J48"}]}
    raw["evaluation"] = {"folds": 3, "repetitions": 3}
    serial = run_experiment(parse_config(raw), SerialExecutor(), progress=False)
    # The features come from the serial run's cache: only the grid runs on the cluster.
    raw["output"] = {**raw["output"], "reports": str(tmp_path / "dask" / "reports")}
    config = parse_config(raw)
    restarted: list[list[str]] = []

    def restart_when_the_grid_runs() -> None:
        deadline = time.monotonic() + 300
        while not list((config.run_dir / "grid").rglob("unit.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = list(cluster.client.scheduler_info()["workers"])
        cluster.client.restart_workers(workers)
        restarted.append(workers)

    watcher = threading.Thread(target=restart_when_the_grid_runs)
    watcher.start()
    dask = run_experiment(config, cluster, progress=False)
    watcher.join()
    assert len(restarted) == 1 and len(restarted[0]) == 2
    assert dask.features_reused and dask.units_run == serial.units_run == 3
    for path in sorted((serial.run_dir / "grid").rglob("predictions.csv")):
        a, b = read_predictions_csv(path), read_predictions_csv(dask.run_dir / path.relative_to(serial.run_dir))
        assert a.ids == b.ids
        np.testing.assert_array_equal(a.distribution, b.distribution)
    first = json.loads((serial.run_dir / "cells-five" / "experiment.json").read_text())
    second = json.loads((dask.run_dir / "cells-five" / "experiment.json").read_text())
    assert first["summary"] == second["summary"] and first["tests"] == second["tests"]

"""A real cluster's shape: ``wekawbc run --scheduler`` on separate scheduler and worker processes equals serial."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dask_processes import cluster_env, process_cluster
from wekawbc.experiment.config import load_config
from wekawbc.predictions import read_predictions_csv
from wekawbc.synthetic import scaled_counts, write_dataset

pytest.importorskip("distributed")


def _toml(data: Path, out: Path) -> str:
    return f"""name = "cluster"
[[datasets]]
name = "cells"
path = "{data}"
[evaluation]
folds = 3
repetitions = 2
[[classifiers]]
weka = "weka.classifiers.trees.J48"
[[classifiers]]
weka = "weka.classifiers.trees.RandomForest -I 10"
strategies = ["none", "class_balancer"]
[output]
reports = "{out / 'reports'}"
arff = "{out / 'arff'}"
cache = "{out / 'cache'}"
"""


def _run(config: Path, *options: str) -> Path:
    done = subprocess.run([sys.executable, "-m", "wekawbc", "run", str(config), "--no-progress", *options],
                          capture_output=True, text=True, env=cluster_env(), timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return load_config(config).run_dir


@pytest.mark.slow  # about 60-90 s on the shared 2-core machine (3 processes start, each worker its JVM)
def test_run_on_a_separate_scheduler_and_two_workers_equals_serial(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", scaled_counts(0.05), seed=4)
    configs = {}
    for name in ("serial", "cluster"):
        (tmp_path / name).mkdir()
        configs[name] = tmp_path / name / "run.toml"
        configs[name].write_text(_toml(data, tmp_path / name))
    serial = _run(configs["serial"])
    with process_cluster(2, tmp_path / "logs") as address:
        from distributed import Client

        cluster = _run(configs["cluster"], "--scheduler", address)
        with Client(address) as client:
            # Both workers took part, each a process of its own (not threads of one process).
            pids = client.run(lambda: __import__("os").getpid())
            assert len(set(pids.values())) == 2
    # Extraction: the same feature table, byte for byte.
    (serial_features,) = (tmp_path / "serial" / "cache").glob("features-*.csv")
    (cluster_features,) = (tmp_path / "cluster" / "cache").glob("features-*.csv")
    assert serial_features.read_bytes() == cluster_features.read_bytes()
    assert (tmp_path / "serial" / "arff").is_dir()
    for arff in (tmp_path / "serial" / "arff").glob("*.arff"):
        assert arff.read_bytes() == (tmp_path / "cluster" / "arff" / arff.name).read_bytes()
    # Grid: every prediction the same.
    files = sorted((serial / "grid").rglob("predictions.csv"))
    assert len(files) == 6
    for path in files:
        a, b = read_predictions_csv(path), read_predictions_csv(cluster / path.relative_to(serial))
        assert a.ids == b.ids
        np.testing.assert_array_equal(a.distribution, b.distribution)
    first = json.loads((serial / "cells-five" / "experiment.json").read_text())
    second = json.loads((cluster / "cells-five" / "experiment.json").read_text())
    assert first["summary"] == second["summary"] and first["tests"] == second["tests"]

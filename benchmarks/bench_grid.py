"""The experiment grid (classifier × fold tasks) in-process and on local Dask clusters of 1 and 2 workers.

Data: a seeded synthetic set of 500 cells (the paper's class mix scaled by 0.5), features extracted
once in-process; grid: J48, RandomForest, SMO and Logistic, 10-fold cross-validation, one
repetition = 40 fold tasks. The cluster start (worker processes, their JVMs, and one J48 fold on
each worker to load Weka's classes) is timed apart from the grid. Run: ``python3 -m benchmarks grid``.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

_CLASSIFIERS = ("weka.classifiers.trees.J48", "weka.classifiers.trees.RandomForest",
                "weka.classifiers.functions.SMO", "weka.classifiers.functions.Logistic")


def _burn(n: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - started


def _machine_parallelism() -> float:
    """Speed-up of 2 processes over 1 on pure-Python work right now: what this (shared) machine offers."""
    import multiprocessing

    n = 10_000_000
    started = time.perf_counter()
    _burn(n)
    _burn(n)
    one = time.perf_counter() - started
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [n, n])
    return one / (time.perf_counter() - started)


def _grid(executor, X, codes, labels, plans, classifiers=_CLASSIFIERS, tag="") -> tuple[float, list[np.ndarray]]:
    from wekawbc.experiment.grid import weka_fold

    started = time.perf_counter()
    data = executor.scatter(X)
    handles = [executor.submit(f"{tag}{c.split()[0]}-{p.fold}", weka_fold, c, "none", data, codes, labels, p.train,
                               p.test, p.seed) for c in classifiers for p in plans]
    results = executor.results(handles, "grid", progress=False)
    return time.perf_counter() - started, results


def main() -> str:
    from wekawbc.experiment.data import extract_table, select_cells
    from wekawbc.experiment.grid import plan_folds
    from wekawbc.experiment.scaleout import DaskExecutor, SerialExecutor
    from wekawbc.synthetic import scaled_counts, write_dataset
    from wekawbc.weka.jvm import start

    start()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(Path(tmp) / "cells", scaled_counts(0.5), seed=1)
        selection = select_cells("cells", data, None, 1)
        table = extract_table(selection, {}, Path(tmp) / "cache", SerialExecutor(), progress=False)
    labels = selection.labels("five")
    by_id = {str(r.image): r for r in selection.records}
    codes = np.array([labels.index(by_id[i].task_label("five")) for i in table.ids])
    plans = plan_folds(codes, seed=1, folds=10)
    serial_seconds, reference = _grid(SerialExecutor(), table.values, codes, labels, plans)
    rows = [("in-process (no Dask)", "-", serial_seconds, 1.0, True)]
    for workers in (1, 2):
        started = time.perf_counter()
        executor = DaskExecutor(workers=workers)
        _grid(executor, table.values, codes, labels, plans[:workers], _CLASSIFIERS[:1], "warm-up-")
        startup = time.perf_counter() - started
        try:
            seconds, results = _grid(executor, table.values, codes, labels, plans)
        finally:
            executor.close()
        same = all(np.array_equal(a, b) for a, b in zip(reference, results))
        rows.append((f"Dask LocalCluster, {workers} worker process(es)", f"{startup:.1f}", seconds,
                     serial_seconds / seconds, same))
    one_worker, two_workers = rows[1][2], rows[2][2]
    parallelism = _machine_parallelism()
    lines = [
        "## Experiment grid on Dask (wekawbc.experiment)",
        "",
        f"{len(table.ids)} synthetic cells × {table.values.shape[1]} features, {len(_CLASSIFIERS)} Weka classifiers "
        f"(J48, RandomForest, SMO, Logistic; Weka's defaults) × 10 folds = {len(_CLASSIFIERS) * len(plans)} "
        "fold tasks.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs while measured), "
        f"Python {platform.python_version()}.",
        "",
        "| where | cluster start + warm-up (s) | grid (s) | speed-up vs in-process | predictions identical |",
        "|---|---|---|---|---|",
        *(f"| {name} | {start_s} | {sec:.1f} | {speed:.2f}× | {'yes' if same else 'NO'} |"
          for name, start_s, sec, speed, same in rows),
        "",
        f"Speed-up of 2 workers over 1: {one_worker / two_workers:.2f}×. Reference measured in the same run: "
        f"two pure-Python processes finish the same work {parallelism:.2f}× faster than one process doing both, "
        "i.e. the parallelism the machine offered at that moment (2.0× on an idle 2-core machine).",
        "",
        "Command: `python3 -m benchmarks grid`",
        "",
    ]
    return "\n".join(lines)

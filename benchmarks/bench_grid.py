"""The experiment grid (classifier × fold tasks) in-process and on local Dask clusters of 1 and 2 workers.

Data: a seeded synthetic set of 300 cells (the paper's class mix scaled by 0.3), features extracted
once in-process; grid: J48, RandomForest (-I 50) and SMO, 10-fold cross-validation, one
repetition = 30 fold tasks. The cluster start (worker processes and their JVMs) is timed apart
from the grid. Run: ``python3 -m benchmarks grid``.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

_CLASSIFIERS = ("weka.classifiers.trees.J48", "weka.classifiers.trees.RandomForest -I 50",
                "weka.classifiers.functions.SMO")


def _grid(executor, X, codes, labels, plans) -> tuple[float, list[np.ndarray]]:
    from wekawbc.experiment.grid import weka_fold

    started = time.perf_counter()
    data = executor.scatter(X)
    handles = [executor.submit(f"{c.split()[0]}-{p.fold}", weka_fold, c, "none", data, codes, labels, p.train,
                               p.test, p.seed) for c in _CLASSIFIERS for p in plans]
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
        data = write_dataset(Path(tmp) / "cells", scaled_counts(0.3), seed=1)
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
        startup = time.perf_counter() - started
        try:
            seconds, results = _grid(executor, table.values, codes, labels, plans)
        finally:
            executor.close()
        same = all(np.array_equal(a, b) for a, b in zip(reference, results))
        rows.append((f"Dask LocalCluster, {workers} worker process(es)", f"{startup:.1f}", seconds,
                     serial_seconds / seconds, same))
    one_worker, two_workers = rows[1][2], rows[2][2]
    lines = [
        "## Experiment grid on Dask (wekawbc.experiment)",
        "",
        f"{len(table.ids)} synthetic cells × {table.values.shape[1]} features, {len(_CLASSIFIERS)} Weka classifiers "
        f"(J48, RandomForest -I 50, SMO) × 10 folds = {len(_CLASSIFIERS) * len(plans)} fold tasks.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs while measured), "
        f"Python {platform.python_version()}.",
        "",
        "| where | cluster start (s) | grid (s) | speed-up vs in-process | predictions identical |",
        "|---|---|---|---|---|",
        *(f"| {name} | {start_s} | {sec:.1f} | {speed:.2f}× | {'yes' if same else 'NO'} |"
          for name, start_s, sec, speed, same in rows),
        "",
        f"Speed-up of 2 workers over 1: {one_worker / two_workers:.2f}×.",
        "",
        "Command: `python3 -m benchmarks grid`",
        "",
    ]
    return "\n".join(lines)

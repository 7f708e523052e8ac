"""The experiment grid (classifier × fold tasks) in-process and on local Dask clusters of 1 and 2 workers.

Data: a seeded synthetic set of 500 cells (the paper's class mix scaled by 0.5), features extracted
once in-process. Two grids, each run in-process, on 1 worker and on 2 workers:

* short tasks: J48, RandomForest, SMO and Logistic, 10-fold cross-validation, repeated 3 times
  (seeds 1-3, as the Experimenter) = 120 fold tasks of 0.1-3 s. Repetition 1 is timed apart from
  repetitions 2-3: in the first, every JVM (one per worker) still compiles Weka's code (JIT);
* long tasks: MultilayerPerceptron ``-N 100``, 10 folds = 10 tasks of several seconds.

The cluster start (worker processes, their JVMs, and one J48 fold on each worker to load Weka's
classes) is timed apart from the grids. Run: ``python3 -m benchmarks grid``.
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
_LONG = ("weka.classifiers.functions.MultilayerPerceptron -N 100",)
_REPETITIONS = 3


def _burn(n: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - started


def _machine_parallelism() -> float:
    """Speed-up of 2 processes over 1 on pure-Python work right now: what this (shared) machine offers.

    The two processes are started (and have imported this module) before the clock starts, so the
    figure is the cores' parallelism, not a process start-up's cost.
    """
    import multiprocessing

    n = 10_000_000
    started = time.perf_counter()
    _burn(n)
    _burn(n)
    one = time.perf_counter() - started
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [n // 5, n // 5], chunksize=1)  # both workers up and busy once before the clock starts
        started = time.perf_counter()
        pool.map(_burn, [n, n], chunksize=1)
        two = time.perf_counter() - started
    return one / two


def _grid(executor, X, codes, labels, plans, classifiers=_CLASSIFIERS, tag="") -> tuple[float, list[np.ndarray]]:
    from wekawbc.experiment.grid import weka_fold

    started = time.perf_counter()
    data = executor.scatter(X)
    handles = [executor.submit(f"{tag}{c.split()[0]}-r{p.repetition}-f{p.fold}", weka_fold, c, "none", data, codes,
                               labels, p.train, p.test, p.seed) for c in classifiers for p in plans]
    results = executor.results(handles, "grid", progress=False)
    return time.perf_counter() - started, results


def _grids(executor, X, codes, labels, repetitions) -> tuple[list[float], list[np.ndarray]]:
    """Seconds of: repetition 1 (short tasks), repetitions 2.. (short tasks), the long tasks; all distributions."""
    first, first_results = _grid(executor, X, codes, labels, repetitions[0])
    rest, rest_results = _grid(executor, X, codes, labels, [p for plans in repetitions[1:] for p in plans])
    long, long_results = _grid(executor, X, codes, labels, repetitions[0], _LONG)
    return [first, rest, long], first_results + rest_results + long_results


def synthetic_grid_data() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Features, class codes and labels of the seeded synthetic set of 500 cells (features extracted in-process)."""
    from wekawbc.experiment.data import extract_table, select_cells
    from wekawbc.experiment.scaleout import SerialExecutor
    from wekawbc.synthetic import scaled_counts, write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(Path(tmp) / "cells", scaled_counts(0.5), seed=1)
        selection = select_cells("cells", data, None, 1)
        table = extract_table(selection, {}, Path(tmp) / "cache", SerialExecutor(), progress=False)
    labels = selection.labels("five")
    by_id = {str(r.image): r for r in selection.records}
    codes = np.array([labels.index(by_id[i].task_label("five")) for i in table.ids])
    return table.values, codes, labels


def main() -> str:
    from wekawbc.experiment.grid import plan_folds
    from wekawbc.experiment.scaleout import DaskExecutor, SerialExecutor
    from wekawbc.weka.jvm import start

    start()
    X, codes, labels = synthetic_grid_data()
    repetitions = [plan_folds(codes, seed=r, folds=10, repetition=r) for r in range(1, _REPETITIONS + 1)]
    serial_seconds, reference = _grids(SerialExecutor(), X, codes, labels, repetitions)
    rows = [("in-process (no Dask)", "-", serial_seconds, True)]
    for workers in (1, 2):
        started = time.perf_counter()
        executor = DaskExecutor(workers=workers)
        _grid(executor, X, codes, labels, repetitions[0][:workers], _CLASSIFIERS[:1], "warm-up-")
        startup = time.perf_counter() - started
        try:
            seconds, results = _grids(executor, X, codes, labels, repetitions)
        finally:
            executor.close()
        same = all(np.array_equal(a, b) for a, b in zip(reference, results, strict=True))
        rows.append((f"Dask LocalCluster, {workers} worker process(es)", f"{startup:.1f}", seconds, same))
    one_worker, two_workers = rows[1][2], rows[2][2]
    parallelism = _machine_parallelism()
    speed = [one / two for one, two in zip(one_worker, two_workers)]
    n_short = len(_CLASSIFIERS) * len(repetitions[0])
    lines = [
        "## Experiment grid on Dask (wekawbc.experiment)",
        "",
        f"{X.shape[0]} synthetic cells × {X.shape[1]} features. Short tasks: {len(_CLASSIFIERS)} Weka "
        f"classifiers (J48, RandomForest, SMO, Logistic; Weka's defaults) × 10 folds × {_REPETITIONS} repetitions "
        f"= {n_short * _REPETITIONS} fold tasks; repetition 1 ({n_short} tasks, every JVM still compiling Weka's "
        f"code) is timed apart from repetitions 2-{_REPETITIONS}. Long tasks: MultilayerPerceptron `-N 100` × 10 "
        "folds.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end, "
        f"Python {platform.python_version()}.",
        "",
        f"| where | cluster start + warm-up (s) | short, repetition 1 (s) | short, repetitions 2-{_REPETITIONS} (s) "
        "| long: MLP (s) | all (s) | speed-up of all vs in-process | predictions identical |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {name} | {start_s} | {sec[0]:.1f} | {sec[1]:.1f} | {sec[2]:.1f} | {sum(sec):.1f} "
          f"| {sum(serial_seconds) / sum(sec):.2f}× | {'yes' if same else 'NO'} |"
          for name, start_s, sec, same in rows),
        "",
        f"Speed-up of 2 workers over 1: {speed[0]:.2f}× on repetition 1, {speed[1]:.2f}× on repetitions "
        f"2-{_REPETITIONS}, {speed[2]:.2f}× on the long tasks, {sum(one_worker) / sum(two_workers):.2f}× in all. "
        f"Reference measured in the same run: two pure-Python processes finish the same work {parallelism:.2f}× "
        "faster than one process doing both, i.e. the parallelism the machine offered at that moment (2.0× on an "
        "idle 2-core machine).",
        "",
        "Command: `python3 -m benchmarks grid`",
        "",
    ]
    return "\n".join(lines)

"""Extraction and the grid on a cluster of separate processes: a ``dask scheduler`` and 1 or 2 ``dask worker``.

The cluster is started the way a lab's cluster runs it (``tests/dask_processes.py``: Dask's own
scheduler and worker command lines on localhost, one thread per worker) and reached by address,
as ``wekawbc run --scheduler tcp://127.0.0.1:PORT`` does. Data: seeded synthetic sets in the paper's
class mix. Extraction: every cell's features of 1,000 cells (``wekawbc.experiment.data.extract_table``,
batches of 16 images). Grid on 300 cells: J48, RandomForest, SMO and
Logistic, 10 folds x 2 repetitions = 80 fold tasks, after a warm-up: one extraction on every worker
(imports and compiled kernels loaded) and one fold per classifier per worker (each JVM loads Weka's
classes). Both are compared with the in-process results (identical or not). The workers run twice:
sharing the machine's cores (each JVM sized to all of them), and each on its own core (its CPU
affinity, as a batch scheduler's CPU set per job gives it, so each JVM is sized to one core).
Reference in the same run: how much faster two pure-Python processes finish the same work than one
(the parallelism the shared machine offered). Run: ``python3 -m benchmarks cluster``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_grid import _CLASSIFIERS, _grid, _machine_parallelism

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from dask_processes import process_cluster  # noqa: E402

_SCALE = 0.3  # the grid's cells: 300
_EXTRACT_SCALE = 1.0  # the extraction's cells: 1,000 (fewer are too short to time 2 workers against 1)
_REPETITIONS = 2


def _extract(data: Path, cache: Path, executor):
    from wekawbc.experiment.data import extract_table, select_cells

    selection = select_cells("cells", data, None, 1)
    started = time.perf_counter()
    table = extract_table(selection, {}, cache, executor, progress=False)
    return time.perf_counter() - started, table, selection


def _codes(table, selection) -> tuple[np.ndarray, tuple[str, ...]]:
    labels = selection.labels("five")
    by_id = {str(r.image): r for r in selection.records}
    return np.array([labels.index(by_id[i].task_label("five")) for i in table.ids]), labels


def _on(executor, extract_data: Path, cache: Path, table, codes, labels, plans
        ) -> tuple[float, float, bytes, list[np.ndarray]]:
    """Seconds of the extraction (of ``extract_data``'s cells) and of the grid (on ``table``), the extraction's
    cache file and the grid's distributions."""
    seconds, extracted, _ = _extract(extract_data, cache, executor)
    grid_seconds, results = _grid(executor, table.values, codes, labels, plans)
    return seconds, grid_seconds, extracted.cache_file.read_bytes(), results


def _warm_worker() -> None:
    """Run on every worker before the timings: the extraction's imports and compiled kernels, loaded once."""
    import wekawbc.features._warm  # noqa: F401 - importing it runs one extraction


def main() -> str:
    from wekawbc.experiment.grid import plan_folds
    from wekawbc.experiment.scaleout import DaskExecutor, SerialExecutor
    from wekawbc.synthetic import scaled_counts, write_dataset
    from wekawbc.weka.jvm import start

    load_start = os.getloadavg()[0]
    start()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = write_dataset(root / "cells", scaled_counts(_SCALE), seed=1)
        extract_data = write_dataset(root / "many", scaled_counts(_EXTRACT_SCALE), seed=2)
        _, table, selection = _extract(data, root / "plan", SerialExecutor())
        codes, labels = _codes(table, selection)
        plans = [p for r in range(1, _REPETITIONS + 1) for p in plan_folds(codes, seed=r, folds=10, repetition=r)]
        serial = _on(SerialExecutor(), extract_data, root / "serial", table, codes, labels, plans)
        rows = [("in-process (no Dask)", "-", serial[0], serial[1], True, True)]
        for own_core in (False, True):
            for workers in (1, 2):
                started = time.perf_counter()
                with process_cluster(workers, root / f"logs-{own_core}-{workers}", own_core=own_core) as address:
                    executor = DaskExecutor(scheduler=address)
                    try:
                        executor.client.run(_warm_worker)
                        _grid(executor, table.values, codes, labels, plans[:workers], _CLASSIFIERS, "warm-up-")
                        startup = time.perf_counter() - started
                        result = _on(executor, extract_data, root / f"dask-{own_core}-{workers}", table, codes, labels,
                                     plans)
                    finally:
                        executor.close()
                same_grid = all(np.array_equal(a, b) for a, b in zip(serial[3], result[3], strict=True))
                where = "each on its own core" if own_core else "sharing the cores"
                rows.append((f"`dask scheduler` + {workers} `dask worker --nthreads 1` process(es), {where}",
                             f"{startup:.1f}", result[0], result[1], result[2] == serial[2], same_grid))
    parallelism = _machine_parallelism()
    load_end = os.getloadavg()[0]
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    speed_ups = [f"{where}: {one[2] / two[2]:.2f}× on extraction, {one[3] / two[3]:.2f}× on the grid"
                 for where, one, two in (("sharing the cores", rows[1], rows[2]), ("each on its own core", rows[3], rows[4]))]
    lines = [
        "## Extraction and the grid on separate Dask scheduler and worker processes (bench_cluster)",
        "",
        f"Command: `python3 -m benchmarks cluster` (code {revision}). Extraction: {sum(scaled_counts(_EXTRACT_SCALE).values()):,} "
        f"synthetic cells. Grid: {table.values.shape[0]} synthetic cells × {table.values.shape[1]} features, "
        f"{len(_CLASSIFIERS)} Weka classifiers (J48, RandomForest, SMO, Logistic; Weka's defaults) × 10 folds × {_REPETITIONS} repetitions = {len(_CLASSIFIERS) * len(plans)} "
        f"fold tasks. Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load_start:.1f} at the "
        f"start, {load_end:.1f} at the end; Python {platform.python_version()}.",
        "",
        "| where | cluster start + warm-up (s) | extraction (s) | grid (s) | features identical | predictions identical |",
        "|---|---|---|---|---|---|",
        *(f"| {name} | {startup} | {ext:.1f} | {grid:.1f} | {'yes' if f_same else 'NO'} | {'yes' if g_same else 'NO'} |"
          for name, startup, ext, grid, f_same, g_same in rows),
        "",
        f"2 worker processes vs 1, {'; '.join(speed_ups)}. "
        f"Reference in the same run: two pure-Python processes finished the same work {parallelism:.2f}× faster "
        "than one (2.0× on an idle 2-core machine).",
        "",
    ]
    return "\n".join(lines)

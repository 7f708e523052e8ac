"""Where a second Dask worker's time goes on short fold tasks: the CPU time of the workers, cold and warm.

Runs the short grid of ``bench_grid`` (J48, RandomForest, SMO, Logistic × 10 folds) twice on one
executor and prints the wall time and the workers' CPU time (their whole processes: the training
thread, and the JVM's compiler and collector threads) of the first (cold) and the second (warm)
pass. ``JAVA_OPTIONS`` reach only the worker JVMs (through ``JAVA_TOOL_OPTIONS``).

Run: ``python3 -m benchmarks.diag_grid_jit serial|1|2 [JAVA_OPTIONS]``, e.g.
``python3 -m benchmarks.diag_grid_jit 2 -XX:ActiveProcessorCount=1``.
"""

from __future__ import annotations

import os
import sys
import time

from benchmarks.bench_grid import _grid, synthetic_grid_data


def main(mode: str, java_options: str = "") -> str:
    from wekawbc.experiment.grid import plan_folds
    from wekawbc.experiment.scaleout import DaskExecutor, SerialExecutor
    from wekawbc.weka.jvm import start

    start()
    X, codes, labels = synthetic_grid_data()
    plans = plan_folds(codes, seed=1, folds=10)
    if mode == "serial":
        cpu = time.process_time()
        cold, _ = _grid(SerialExecutor(), X, codes, labels, plans)
        warm, _ = _grid(SerialExecutor(), X, codes, labels, plans, tag="again-")
        return f"in-process: cold {cold:.1f} s, warm {warm:.1f} s wall; {time.process_time() - cpu:.1f} s CPU in all"
    if java_options:
        os.environ["JAVA_TOOL_OPTIONS"] = java_options  # read by the worker JVMs only: this one is running
    executor = DaskExecutor(workers=int(mode))
    try:
        _grid(executor, X, codes, labels, plans[:int(mode)], tag="warm-up-")
        cpu = [executor.client.run(time.process_time)]
        cold, _ = _grid(executor, X, codes, labels, plans)
        cpu.append(executor.client.run(time.process_time))
        warm, _ = _grid(executor, X, codes, labels, plans, tag="again-")
        cpu.append(executor.client.run(time.process_time))
    finally:
        executor.close()
    used = [sum(after[w] - before[w] for w in before) for before, after in zip(cpu, cpu[1:])]
    return (f"{mode} Dask worker(s), JAVA_TOOL_OPTIONS={java_options!r}: cold {cold:.1f} s, warm {warm:.1f} s wall; "
            f"workers' CPU cold {used[0]:.1f} s, warm {used[1]:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("serial", "1", "2"):
        sys.exit(__doc__)
    print(main(*sys.argv[1:3]))

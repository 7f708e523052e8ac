"""Java's heap for one Weka RandomForest fold (train on 90 %, predict 10 %) at N rows, as ``wekawbc run`` trains it.

Usage: ``[WEKAWBC_MAX_HEAP=256m] python3 -m benchmarks.scale_heap_fold N FEATURES.csv [FOLDS]``, where FEATURES.csv is
a feature cache file of ``wekawbc run`` on synthetic crops (``<cache>/features-synthetic-*.csv``); its rows
are repeated, each copy times 1 + N(0, 0.01) noise, up to N rows. With FOLDS, the first FOLDS of Weka's 10 folds (seed 1, as the grid's) one after the other
instead of one random 90 % split. Prints the time, the peak heap Java used
(its heap pools' peak usage), the process's peak resident memory (VmHWM), Java's collector and the
process's resident memory 3 s after :func:`wekawbc.weka.jvm.release_heap` (``JAVA_TOOL_OPTIONS=-XX:+UseParallelGC``
runs it under the collector wekawbc used before G1).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

_UNCOMMIT_S = 3.0
"""Seconds waited after release_heap before reading the resident memory: G1 gives the heap back in a thread of its own."""
LABELS = ("basophil", "eosinophil", "lymphocyte", "monocyte", "neutrophil")


def main(n: int, features: str, folds: int = 0) -> str:
    import jpype

    from wekawbc.experiment.grid import plan_folds, weka_fold
    from wekawbc.weka.jvm import release_heap, start

    frame = pd.read_csv(features)
    x0 = frame.iloc[:, 1:].to_numpy(np.float64)
    codes0 = np.array([LABELS.index(path.split("/")[-2]) for path in frame["id"]])
    rng = np.random.default_rng(0)
    copies = -(-n // len(x0))
    x = np.concatenate([x0 * rng.normal(1, 0.01, x0.shape) for _ in range(copies)])[:n]
    codes = np.tile(codes0, copies)[:n]
    start()
    order = rng.permutation(n)
    splits = [(order[: n * 9 // 10], order[n * 9 // 10:])]
    if folds:  # the grid's own: Weka's 10 folds, seed 1, the first ``folds`` of them
        splits = [(plan.train, plan.test) for plan in plan_folds(codes, 1, 10)[:folds]]
    started = time.time()
    try:
        for train, test in splits:
            weka_fold("weka.classifiers.trees.RandomForest", "none", x, codes, LABELS, train, test, 1)
        outcome = "ok" if not folds else f"ok, {folds} folds"
    except Exception as error:  # noqa: BLE001 - an OutOfMemoryError is a result here
        outcome = f"FAILED {str(error)[:120]}"
    factory = jpype.JClass("java.lang.management.ManagementFactory")
    peak = sum(pool.getPeakUsage().getUsed() for pool in factory.getMemoryPoolMXBeans()
               if str(pool.getType()) == "Heap memory")
    rss = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) // 1024
    collector = factory.getGarbageCollectorMXBeans()[0].getName()
    release_heap()
    time.sleep(_UNCOMMIT_S)
    after = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
    return (f"{n} {os.environ.get('WEKAWBC_MAX_HEAP', 'default')} {outcome} {time.time() - started:.0f}s "
            f"heap peak used {peak / 2**20:.0f} MB VmHWM {rss} MB collector '{collector}' "
            f"VmRSS after release_heap {after} MB")


if __name__ == "__main__":
    print(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0), flush=True)

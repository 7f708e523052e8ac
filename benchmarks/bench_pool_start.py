"""Start-up of ``extract_dataset(jobs=2)``'s worker pool, base commit vs now: wall seconds on 4 pbc crops.

Each round runs, in a fresh process per code (base tree ``WEKAWBC_BASE_TREE``, default ``/tmp/base``;
``WEKAWBC_BASE_COMMIT`` names it when the tree is an exported copy), ``extract_dataset`` on 4 pbc crops
serially (``jobs=1``), then with 2 forkserver workers twice in a row (the first pool starts the fork
server; a second pool in the same process forks from the same server). The package is imported before
the clock starts. ``WEKAWBC_BUSY=N`` keeps N busy-looping processes running meanwhile (a loaded
machine). Median of ``ROUNDS`` alternating rounds. Run:
``WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks pool_start``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROUNDS = 5
CASES = ("serial", "first_pool", "second_pool")
_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def _worker() -> None:
    """Print the wall seconds of :data:`CASES` with the ``wekawbc`` found first on the path."""
    from wekawbc.cells.dataset import CellDataset, load_dataset
    from wekawbc.features.batch import extract_dataset

    dataset = load_dataset(Path(os.environ["WEKAWBC_DATASETS"]) / "pbc")
    four = CellDataset(records=list(dataset)[::900][:4], root=dataset.root, layout=dataset.layout)
    seconds = []
    for jobs in (1, 2, 2):
        started = time.perf_counter()
        extract_dataset(four, jobs=jobs)
        seconds.append(time.perf_counter() - started)
    print(json.dumps(seconds))


def _run(tree: Path) -> list[float]:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               WEKAWBC_DATASETS=os.environ.get("WEKAWBC_DATASETS", str(_DATASETS)))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker"], cwd=tree, env=env,
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> str:
    here = Path(__file__).resolve().parents[1]
    # Imported here: the worker runs this file with the measured tree's ``benchmarks`` first on the path.
    from benchmarks import _base

    base_tree, base_commit = _base.base_tree()
    busy = int(os.environ.get("WEKAWBC_BUSY", "0"))
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    load = os.getloadavg()[0]
    seconds: dict[str, list[list[float]]] = {"base": [], "now": []}
    try:
        for _ in range(ROUNDS):
            for name, tree in (("base", base_tree), ("now", here)):
                seconds[name].append(_run(tree))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    median = {name: np.median(np.array(values), axis=0) for name, values in seconds.items()}
    result = {"base_commit": base_commit, "rounds": ROUNDS, "busy_processes": busy, "load_average_at_start": round(load, 1),
              "wall_seconds_median": {name: dict(zip(CASES, np.round(values, 3).tolist())) for name, values in median.items()},
              "wall_seconds_all": seconds}
    lines = ["## Worker pool start-up, base commit vs now (bench_pool_start)", "",
             f"Command: `WEKAWBC_BUSY={busy} WEKAWBC_BASE_TREE=/tmp/base python3 -m benchmarks pool_start` (base "
             f"{base_commit}); `extract_dataset` on 4 pbc crops, wall seconds, median of {ROUNDS} alternating rounds, "
             f"{busy} busy-looping processes beside it; {os.cpu_count()} cores, load average {load:.1f} at the start.", "",
             "| case | base | now |", "|---|---:|---:|"]
    for index, case in enumerate(CASES):
        lines.append(f"| {case} | {median['base'][index]:.2f} | {median['now'][index]:.2f} |")
    lines += ["", "```json", json.dumps(result, indent=1), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker()
    else:
        print(main())

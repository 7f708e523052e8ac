"""CNN epoch time on a quiet machine and beside busy processes, with OpenMP's waiting policies.

Each measurement is a fresh Python process (OpenMP reads its settings once, when torch loads it)
training the default network (``TrainSettings()``: the package's default threads, i.e. the cores
the process may use) for 2 epochs on 700 random 48-pixel crops; the epoch time is the mean.
"Loaded": as many busy processes (``while True: pass``) as the process has cores, started
before and stopped after. Policies: ``PASSIVE`` (the package's default since it sets
``OMP_WAIT_POLICY`` when unset) and ``ACTIVE`` (OpenMP's spin-waiting, the default of torch
alone). The peer is one torch thread (``threads=1``) in the same conditions.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["main"]

_ROOT = Path(__file__).resolve().parent.parent
_EPOCH = """
import sys, time
import numpy as np
from wekawbc.cnn.settings import TrainSettings
from wekawbc.cnn.training import train_cnn
rng = np.random.default_rng(0)
images = rng.integers(0, 255, size=(700, 48, 48, 3), dtype=np.uint8)
y = rng.integers(0, 5, size=700)
threads = int(sys.argv[1]) if sys.argv[1] != "default" else None
start = time.perf_counter()
train_cnn(images, y, list("abcde"), TrainSettings(epochs=2, seed=1, threads=threads))
print((time.perf_counter() - start) / 2)
"""


def _epoch_seconds(policy: str, threads: str) -> float:
    env = {**os.environ, "OMP_WAIT_POLICY": policy, "PYTHONPATH": str(_ROOT)}
    done = subprocess.run([sys.executable, "-c", _EPOCH, threads], env=env, capture_output=True, text=True,
                          check=True, cwd=_ROOT)
    return float(done.stdout.strip().splitlines()[-1])


def _measure(loaded: bool) -> dict[tuple[str, str], float]:
    from wekawbc._cores import usable_cores

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(usable_cores() if loaded else 0)]
    try:
        return {(policy, threads): _epoch_seconds(policy, threads)
                for policy in ("PASSIVE", "ACTIVE") for threads in ("default", "1")}
    finally:
        for process in busy:
            process.kill()
            process.wait()


def main() -> str:
    from wekawbc._cores import usable_cores

    quiet, loaded = _measure(False), _measure(True)
    rows = ["| OMP_WAIT_POLICY | threads | quiet s/epoch | loaded s/epoch | loaded / quiet |", "|---|---|---|---|---|"]
    for policy, threads in quiet:
        q, lo = quiet[policy, threads], loaded[policy, threads]
        label = f"default ({usable_cores()})" if threads == "default" else threads
        rows.append(f"| {policy} | {label} | {q:.2f} | {lo:.2f} | {lo / q:.1f}x |")
    return (f"### CNN epoch under load ({usable_cores()} usable cores, {usable_cores()} busy processes when loaded; "
            f"{platform.python_version()}, {platform.machine()})\n\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    print(main())

"""A Dask cluster the way a lab's cluster runs it: a ``dask scheduler`` process and ``dask worker`` processes.

Shared by ``tests/test_dask_processes.py`` and ``benchmarks/bench_cluster.py``. Each process is
started from Dask's own command line (``python -m distributed.cli.dask_scheduler`` /
``dask_worker``, the modules behind ``dask scheduler`` / ``dask worker``) on localhost, with this
checkout first on ``PYTHONPATH`` so the workers run the code under test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cluster_env() -> dict[str, str]:
    """The environment of every cluster process: this checkout first, one BLAS/OpenMP thread."""
    path = os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH"))))
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _wait_for_workers(address: str, count: int, timeout: float, processes: list[subprocess.Popen]) -> None:
    from distributed import Client

    deadline = time.monotonic() + timeout
    with Client(address, timeout=timeout) as client:
        while len(client.scheduler_info()["workers"]) < count:
            dead = [p.args for p in processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"Dask cluster at {address} did not come up ({count} workers); ended: {dead}")
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def process_cluster(workers: int, log_dir: Path, timeout: float = 180.0, own_core: bool = False) -> Iterator[str]:
    """Start a scheduler and ``workers`` one-thread worker processes; yield ``tcp://127.0.0.1:PORT``.

    ``own_core``: worker ``i`` may run only on the ``i``-th core this process may use (its CPU
    affinity, as ``taskset -c`` or a batch scheduler's CPU set per job gives it), so it sizes its
    JVM and threads to one core, as on a cluster where each worker is given its cores.
    Everything started is stopped on the way out (SIGTERM, then SIGKILL after 30 s). Each
    process's output goes to ``log_dir/<name>.log``.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = cluster_env()
    started: list[subprocess.Popen] = []

    cores = sorted(os.sched_getaffinity(0))

    def launch(name: str, *args: str, core: int | None = None) -> None:
        pin = None if core is None else (lambda: os.sched_setaffinity(0, {core}))
        with open(log_dir / f"{name}.log", "wb") as log:
            started.append(subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT,
                                            env=env, cwd=log_dir, start_new_session=True, preexec_fn=pin))

    try:
        launch("scheduler", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
               "--no-dashboard")
        for i in range(workers):
            launch(f"worker-{i}", "distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1",
                   "--no-dashboard", "--name", f"worker-{i}", "--local-directory", str(log_dir / f"worker-{i}"),
                   core=cores[i % len(cores)] if own_core else None)
        _wait_for_workers(address, workers, timeout, started)
        yield address
    finally:
        for process in reversed(started):
            _stop(process)

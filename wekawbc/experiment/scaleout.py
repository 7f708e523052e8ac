"""Where the work runs: in this process, or on a Dask cluster (one JVM per worker process).

:func:`make_executor` gives an executor with one interface for both: ``submit`` tasks (plain
functions of numpy arrays and strings, never Java objects), then ``results`` them in submission
order with a progress bar. On Dask, each worker process starts its own JVM once, through the
:class:`JvmWorkerPlugin`'s ``setup``; a task whose worker dies is retried (``retries``), and a task
that still fails (or is cancelled) is named in the error. Shared inputs (the feature matrix) are
tasks that return them, not scattered data, so the scheduler can give them again to workers that
restart, however many times and however many at once.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

from wekawbc._io import WekawbcError
from wekawbc._progress import progress_bar

__all__ = ["JvmWorkerPlugin", "SerialExecutor", "DaskExecutor", "in_flight_window", "make_executor"]

_log = logging.getLogger(__name__)


_Sent = TypeVar("_Sent")


def in_flight_window(sent: Iterable[_Sent], size: int) -> Iterator[_Sent]:
    """Each item of ``sent`` in order, given back once ``size`` items are in flight, the rest at the end.

    ``sent`` yields work already submitted (taking the next item submits it), so up to ``size``
    items run on the workers while the caller waits for, and writes, the oldest: the workers stay
    busy and results are written (hence resumable) in submission order.
    """
    in_flight: deque = deque()
    for item in sent:
        in_flight.append(item)
        if len(in_flight) >= size:
            yield in_flight.popleft()
    while in_flight:
        yield in_flight.popleft()


@dataclass(frozen=True)
class _Thunk:
    key: str
    function: Callable
    args: tuple


class SerialExecutor:
    """Runs every task in this process (the default), when :meth:`results` asks for it."""

    description = "in-process"
    window = 1
    """Units in flight at once."""

    def scatter(self, value: Any) -> Any:
        return value

    def submit(self, key: str, function: Callable, *args: Any) -> _Thunk:
        return _Thunk(key, function, args)

    def results(self, handles: Sequence[_Thunk], desc: str, progress: bool = True) -> list[Any]:
        out = []
        for thunk in progress_bar(handles, desc=desc, unit="task", enabled=progress, leave=False):
            try:
                out.append(thunk.function(*thunk.args))
            except WekawbcError as error:
                raise WekawbcError(f"task {thunk.key} failed: {error}") from error
        return out

    def close(self) -> None:
        """Nothing to release."""


class JvmWorkerPlugin:
    """Starts the JVM with Weka once in each Dask worker process, when the worker joins."""

    name = "wekawbc-jvm"

    def __init__(self, max_heap: str | None = None) -> None:
        self.max_heap = max_heap

    def setup(self, worker) -> None:  # noqa: D401 - Dask's WorkerPlugin hook
        from wekawbc.weka.jvm import start

        start(self.max_heap)

    def teardown(self, worker) -> None:
        """Nothing to do: a JVM ends with its process."""


def _worker_plugin_class():
    # Subclass Dask's WorkerPlugin lazily, so importing this module does not import distributed.
    from distributed.diagnostics.plugin import WorkerPlugin

    return type("DaskJvmWorkerPlugin", (JvmWorkerPlugin, WorkerPlugin), {})


def _shared(value: Any) -> Any:
    """A task returning its argument: shared data that the scheduler can recompute."""
    return value


class DaskExecutor:
    """Tasks on a Dask cluster: an existing one (``scheduler``) or a local one of ``workers`` processes."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, retries: int = 2,
                 connect_timeout: float = 10.0, max_heap: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise WekawbcError("Dask is not installed; install wekawbc with the 'dask' extra "
                               "(pip install 'wekawbc[dask]')") from None
        self.retries = retries
        self._cluster = None
        if scheduler is not None:
            try:
                self.client = Client(scheduler, timeout=connect_timeout)
            except (OSError, TimeoutError) as error:
                raise WekawbcError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
            self.description = f"Dask scheduler {scheduler}"
        else:
            count = 1 if workers is None else int(workers)
            if count < 1:
                raise WekawbcError(f"--workers must be 1 or more, got {count}")
            self._cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client = Client(self._cluster)
            self.description = f"local Dask cluster of {count} worker process(es)"
        self.client.register_plugin(_worker_plugin_class()(max_heap))
        # Units in flight at once: enough tasks to keep every worker busy, few enough to finish in order.
        self.window = 2 * max(1, len(self.client.scheduler_info()["workers"]))

    def scatter(self, value: Any) -> Any:
        """Send a large argument (a feature matrix) to the cluster once, for many tasks to use.

        It goes as a task returning ``value`` (kept by the scheduler with its argument) rather than
        as scattered data: when the workers holding it restart, the scheduler runs the task again
        instead of forgetting the data and cancelling every task that needs it.
        """
        with warnings.catch_warnings():
            # The matrix travels inside the task on purpose: Dask's size advice does not apply.
            warnings.filterwarnings("ignore", message=".*[Ll]arge graph", category=UserWarning)
            # A fresh key, so releasing an earlier share of equal data cannot take this one along.
            return self.client.submit(_shared, value, key=f"shared-{uuid.uuid4().hex}", pure=False)

    def submit(self, key: str, function: Callable, *args: Any) -> Any:
        return self.client.submit(function, *args, key=key, retries=self.retries, pure=False)

    def results(self, handles: Sequence[Any], desc: str, progress: bool = True) -> list[Any]:
        from distributed import as_completed

        with progress_bar(total=len(handles), desc=desc, unit="task", enabled=progress, leave=False) as bar:
            completed = as_completed(handles)
            for future in completed:
                if future.status == "lost":
                    # It had finished, and its result went with a worker that restarted since: the scheduler
                    # runs it again for this client, which still holds it, so wait for it once more.
                    completed.add(future)
                    continue
                if future.status != "finished":
                    failure = f"task {future.key} {self._failure(future)}"  # before cancelling it too
                    for other in handles:
                        other.cancel()
                    raise WekawbcError(failure) from None
                bar.update()
        return [future.result() for future in handles]

    @staticmethod
    def _failure(future) -> str:
        """Why a task that did not finish ended, as the rest of a sentence."""
        if future.status == "error":
            return f"failed on the Dask cluster: {future.exception()}"
        return (f"was {future.status} on the Dask cluster (the scheduler lost it or its inputs; was the cluster "
                "restarted by someone else?)")

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


@contextlib.contextmanager
def make_executor(scheduler: str | None = None, workers: int | None = None, retries: int = 2) -> Iterator[Any]:
    """The executor for these options: serial without either, Dask with ``scheduler`` or ``workers``."""
    if retries < 0:
        raise WekawbcError(f"--retries must be 0 or more, got {retries}")
    if workers is not None and workers < 1:
        raise WekawbcError(f"--workers must be 1 or more, got {workers}")
    if scheduler is None and workers is None:
        yield SerialExecutor()
        return
    executor = DaskExecutor(scheduler, workers, retries)
    try:
        yield executor
    finally:
        executor.close()

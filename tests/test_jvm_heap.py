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

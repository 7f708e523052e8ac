"""Threads that adapt: torch, the JVM and the worker pools use the cores this process may use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wekawbc._cores import _quota_cores, usable_cores

REPO_ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh process pinned to one core before anything starts: what does each part use?
_PINNED = """
import json, os, sys
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from wekawbc._cores import usable_cores
from wekawbc.cnn.training import _torch_run_state
from wekawbc.features.batch import worker_count
from wekawbc.weka import jvm
import torch
torch.set_num_threads(4)
with _torch_run_state(None):
    inside = torch.get_num_threads()
jvm.start()
import jpype
java = jpype.JClass("java.lang.Runtime").getRuntime().availableProcessors()
print(json.dumps({"usable": usable_cores(), "torch": inside, "torch_after": torch.get_num_threads(),
                  "java": int(java), "workers": worker_count(-1)}))
"""


def test_usable_cores_is_the_affinity_set() -> None:
    assert usable_cores() == min(len(os.sched_getaffinity(0)), _quota_cores() or 10**6)


def test_cgroup_quota_is_read(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    for text, cores in (("max 100000\n", None), ("150000 100000\n", 2), ("50000 100000\n", 1), ("garbage", None)):
        cpu_max.write_text(text)
        assert _quota_cores(cpu_max) == cores
    assert _quota_cores(tmp_path / "absent") is None


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_a_process_pinned_to_one_core_uses_one_thread_everywhere(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WEKAWBC_WEKA_HOME": str(tmp_path)}
    env.pop("OMP_NUM_THREADS", None)
    done = subprocess.run([sys.executable, "-c", _PINNED], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # torch's training threads, Java's processor count (Weka's -num-slots 0, its GC threads) and
    # the extraction pool's default all follow the affinity; the caller's torch setting comes back.
    assert seen == {"usable": 1, "torch": 1, "torch_after": 4, "java": 1, "workers": 1}


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_torch_threads_wait_passively_unless_the_user_says_otherwise(given, expected):
    """OpenMP's spin-waiting made CNN epochs several times slower beside busy processes
    (benchmarks/bench_cnn_load.py): wekawbc sets the passive policy before torch loads."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    code = ("import os, sys\nimport wekawbc.cnn.training\nassert 'torch' in sys.modules\n"
            "print(os.environ['OMP_WAIT_POLICY'])")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == expected

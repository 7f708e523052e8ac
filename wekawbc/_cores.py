"""How many CPU cores this process may use: the one place that answers it.

``os.cpu_count()`` counts the machine's cores, not the ones this process may run on: under
``taskset``, a batch scheduler's CPU set (SLURM, Kubernetes) or a container's CPU quota, more
threads than :func:`usable_cores` only queue for the same cores and, for OpenMP's spinning
threads (torch), can make a run many times slower. Torch's threads, the JVM's processor count and
the default worker counts all come from here.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["usable_cores"]

_CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _quota_cores(cpu_max: Path = _CGROUP_CPU_MAX) -> int | None:
    """Cores allowed by a cgroup v2 CPU quota (``"200000 100000"`` means 2), or None when unlimited."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity call on macOS and Windows
        cores = os.cpu_count() or 1
    quota = _quota_cores()
    return max(1, min(cores, quota) if quota is not None else cores)

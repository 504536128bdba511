"""How many CPUs this process can use: its CPU affinity, capped by its cgroup's CPU quota.

``os.cpu_count()`` counts the machine's CPUs. A container limited to two of a node's 32 (a
Kubernetes ``limits.cpu``, ``docker run --cpus``) that starts 32 hashing threads or workers
gets no more CPU time, only more waiting: the quota throttles them all.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")


@cache
def usable_cpus() -> int:
    """The CPUs this process may run on, at most its cgroup quota (rounded up); at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    if limit is not None:
        cpus = min(cpus, math.ceil(limit))
    return max(1, cpus)


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> float | None:
    """The CPUs the tightest quota over this process's cgroups allows (1.5 for "150000
    100000"); None when no quota applies or none can be read (not Linux, no cgroup)."""
    try:
        memberships = self_cgroup.read_text().splitlines()
    except OSError:
        return None
    limits = [*_v2_limits(root, memberships), *_v1_limits(root, memberships)]
    return min(limits, default=None)


def _v2_limits(root: Path, memberships: list[str]) -> Iterator[float]:
    """``cpu.max`` ("QUOTA PERIOD" or "max PERIOD") of the unified cgroup and its ancestors."""
    for line in memberships:
        if line.startswith("0::"):
            for folder in _up_to(root, line[3:]):
                words = _read(folder / "cpu.max").split()
                if len(words) == 2 and (limit := _ratio(words[0], words[1])):
                    yield limit


def _v1_limits(root: Path, memberships: list[str]) -> Iterator[float]:
    """``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` of the v1 cpu controller (-1: none)."""
    for line in memberships:
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if "cpu" not in controllers.split(","):
            continue
        for folder in _up_to(root / controllers, path):
            quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
            if limit := _ratio(quota, period):
                yield limit


def _up_to(mount: Path, path: str) -> Iterator[Path]:
    """The cgroup folder of ``path`` under ``mount`` and each ancestor up to the mount (inside a
    container the path may name the host's hierarchy, which is mounted as the root)."""
    parts = [part for part in path.strip().split("/") if part and part != ".."]
    for depth in range(len(parts), -1, -1):
        folder = mount.joinpath(*parts[:depth])
        if folder.is_dir():
            yield folder


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _ratio(quota: str, period: str) -> float | None:
    """CPUs = quota / period; None for "max", -1 (no quota) or anything unreadable."""
    try:
        value = int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None

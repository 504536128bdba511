"""The usable CPUs: the affinity, capped by the tightest cgroup CPU quota (v2 and v1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelward.engine import cpus


def tree(tmp_path: Path, membership: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A cgroup mount with ``files`` (path under the mount -> content) and a /proc/self/cgroup."""
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    root.mkdir(exist_ok=True)
    self_cgroup = tmp_path / "self-cgroup"
    self_cgroup.write_text(membership + "\n")
    return root, self_cgroup


@pytest.mark.parametrize(
    ("membership", "files", "limit"),
    [
        ("0::/", {"cpu.max": "200000 100000"}, 2.0),  # a container's namespace root
        ("0::/", {"cpu.max": "max 100000"}, None),
        ("0::/kubepods/pod1/c1", {"kubepods/pod1/c1/cpu.max": "150000 100000"}, 1.5),
        # the tightest quota on the way up applies, wherever it is set
        ("0::/a/b", {"a/cpu.max": "50000 100000", "a/b/cpu.max": "max 100000"}, 0.5),
        # a path from the host's hierarchy that the container mounts as its root
        ("0::/docker/abc", {"cpu.max": "300000 100000"}, 3.0),
        ("0::/", {"cpu.max": "garbage"}, None),
        ("0::/", {"cpu.max": "100000 0"}, None),
        ("0::/", {}, None),
    ],
)
def test_cgroup_v2_quota(
    tmp_path: Path, membership: str, files: dict[str, str], limit: float | None
) -> None:
    root, self_cgroup = tree(tmp_path, membership, files)
    assert cpus.cgroup_cpu_limit(root, self_cgroup) == limit


@pytest.mark.parametrize(
    ("quota", "limit"), [("-1", None), ("50000", 0.5), ("400000", 4.0), ("", None)]
)
def test_cgroup_v1_quota(tmp_path: Path, quota: str, limit: float | None) -> None:
    files = {"cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000"}
    if quota:
        files["cpu,cpuacct/docker/x/cpu.cfs_quota_us"] = quota
    membership = "12:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n0::/"
    root, self_cgroup = tree(tmp_path, membership, files)
    assert cpus.cgroup_cpu_limit(root, self_cgroup) == limit


def test_no_cgroup_file_means_no_quota(tmp_path: Path) -> None:
    assert cpus.cgroup_cpu_limit(tmp_path, tmp_path / "absent") is None


@pytest.mark.parametrize(
    ("affinity", "limit", "usable"), [(8, None, 8), (8, 1.5, 2), (8, 0.5, 1), (2, 4.0, 2)]
)
def test_usable_cpus_is_the_affinity_capped_by_the_quota_rounded_up(
    monkeypatch: pytest.MonkeyPatch, affinity: int, limit: float | None, usable: int
) -> None:
    monkeypatch.setattr(
        cpus.os, "sched_getaffinity", lambda _pid: set(range(affinity)), raising=False
    )
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: limit)
    cpus.usable_cpus.cache_clear()
    try:
        assert cpus.usable_cpus() == usable
    finally:
        cpus.usable_cpus.cache_clear()

"""Fixtures for scanner tests: a canary path, a scan helper, a recorder of pickle streams."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelward.engine.scan import FileScan, Limits
from modelward.engine.scan.pickles import vm as pickle_vm
from tests.scan.scanning import Recorder, Scan, Scanned, scan_path


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[str]:
    """A path every malicious sample targets; it must not exist after scanning."""
    path = tmp_path / "canary"
    yield str(path)
    assert not path.exists(), "a sample's payload ran during scanning"


@pytest.fixture
def scan(tmp_path: Path) -> Scan:
    def run(data: bytes, name: str = "model.bin", limits: Limits | None = None) -> Scanned:
        path = tmp_path / "model" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return scan_path(path, limits, rel=name)

    return run


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Replace the pickle analyser with one that records what it was given."""
    rec = Recorder()

    def analyse_pickle(
        data: bytes, *, file: str, member: str | None = None, limits: object = None, depth: int = 0
    ) -> FileScan:
        rec.calls.append((bytes(data), member))
        return FileScan()

    monkeypatch.setattr(pickle_vm, "analyse_pickle", analyse_pickle)
    return rec

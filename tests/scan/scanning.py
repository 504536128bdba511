"""Helpers for scanner tests: scanning a file the way the collector does, and a pickle recorder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelward.engine.identify.formats import detect
from modelward.engine.scan import FileScan, Limits, scan_file
from modelward.engine.source import SourceFile

SEVERITY = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass
class Scanned:
    fmt: str
    result: FileScan

    @property
    def ids(self) -> set[str]:
        return {f.id for f in self.result.findings}

    @property
    def worst(self) -> int:
        return max((SEVERITY[f.severity] for f in self.result.findings), default=-1)


Scan = Callable[..., Scanned]


def scan_path(path: Path, limits: Limits | None = None, *, rel: str | None = None) -> Scanned:
    source = SourceFile(rel or path.name, path, path.stat().st_size)
    with source.open() as fp:
        fmt = detect(fp, source.size)
    result = scan_file(source, fmt, limits) if limits else scan_file(source, fmt)
    return Scanned(fmt, result)


@dataclass
class Recorder:
    """Pickle streams handed to the analyser, with the member they came from."""

    calls: list[tuple[bytes, str | None]] = field(default_factory=list)

    def saw(self, needle: bytes, member: str | None = None) -> bool:
        return any(needle in data and (member is None or m == member) for data, m in self.calls)

    @property
    def members(self) -> list[str | None]:
        return [m for _, m in self.calls]

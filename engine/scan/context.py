"""Shared pieces of the format scanners: where a scan is, its budget, and bounded byte windows."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, Final

from modelward.engine.facts import Finding, Severity
from modelward.engine.scan.limits import DEFAULT_LIMITS, Limits
from modelward.engine.scan.result import FileScan

#: Formats whose loaders unpickle the content.
PICKLE_FORMATS = frozenset({"pickle", "joblib", "pytorch-legacy"})


@dataclass
class Budget:
    """Bytes that may still be decompressed or extracted into memory for one top-level file."""

    remaining: int

    def take(self, wanted: int) -> int:
        """Reserve up to ``wanted`` bytes; return how many were granted."""
        granted = max(0, min(wanted, self.remaining))
        self.remaining -= granted
        return granted


@dataclass(frozen=True)
class ScanContext:
    """Where a scanner is: the top-level file, the member inside it, limits and nesting depth."""

    file: str
    member: str | None = None
    limits: Limits = DEFAULT_LIMITS
    depth: int = 0
    budget: Budget = field(default_factory=lambda: Budget(DEFAULT_LIMITS.max_decompressed_bytes))

    @classmethod
    def top(cls, file: str, limits: Limits = DEFAULT_LIMITS) -> ScanContext:
        return cls(file=file, limits=limits, budget=Budget(limits.max_decompressed_bytes))

    @property
    def where(self) -> str:
        """``file`` or ``file:member`` for messages."""
        return self.file if self.member is None else f"{self.file}:{self.member}"

    def child(self, name: str | None) -> ScanContext:
        """The context of a member one nesting level down (``None`` keeps the member name)."""
        if name is None:
            member = self.member
        else:
            member = name if self.member is None else f"{self.member}/{name}"
        return ScanContext(self.file, member, self.limits, self.depth + 1, self.budget)

    def finding(
        self,
        id_: str,
        severity: Severity,
        reason: str,
        *,
        technique: str | None = None,
        offset: int | None = None,
        symbol: str | None = None,
    ) -> Finding:
        """A finding located here, its message naming the file/member and the reason;
        ``symbol`` is the import path it is about, if any."""
        return Finding(
            id=id_,
            severity=severity,
            file=self.file,
            member=self.member,
            offset=offset,
            technique=technique,
            symbol=symbol,
            message=f"{self.where}: {reason}",
        )

    def incomplete(self, result: FileScan, finding: Finding) -> FileScan:
        """Record that this place could not be fully analysed."""
        result.incomplete(self.where, finding)
        return result


class Window(io.RawIOBase):
    """A read-only, seekable view of ``length`` bytes of ``base`` starting at ``start``."""

    def __init__(self, base: BinaryIO, start: int, length: int) -> None:
        super().__init__()
        self._base, self._start, self._length, self._pos = base, start, max(0, length), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        anchor = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, anchor + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = max(0, min(len(buffer), self._length - self._pos))
        if count == 0:
            return 0
        self._base.seek(self._start + self._pos)
        data = self._base.read(count)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def read_at(fp: IO[bytes], offset: int, count: int) -> bytes:
    """Up to ``count`` bytes at ``offset`` (fewer at the end of the stream)."""
    fp.seek(offset)
    chunks: list[bytes] = []
    while count > 0:
        chunk = fp.read(count)
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def read_bounded(fp: IO[bytes], size: int, cap: int, ctx: ScanContext, result: FileScan) -> bytes:
    """All of ``fp`` up to ``cap`` bytes; reaching the cap is recorded as an incomplete scan."""
    if size > cap:
        ctx.incomplete(
            result,
            ctx.finding(
                "scan.limit.bytes",
                "medium",
                f"{size} bytes exceed the {cap}-byte analysis limit; only the first {cap} "
                "were analysed",
                technique="resource limit",
            ),
        )
    return read_at(fp, 0, min(size, cap))


#: protobuf refuses messages of 2 GiB or more.
MAX_PROTO_BYTES: Final = (2 << 30) - 1


def parse_protobuf(
    message: Any,
    fp: IO[bytes],
    size: int,
    ctx: ScanContext,
    result: FileScan,
    *,
    finding_id: str,
    subject: str,
    technique: str,
) -> bool:
    """Parse ``fp`` into ``message`` (a protobuf message); False, with a finding, if it fails."""
    from google.protobuf.message import DecodeError

    data = read_bounded(fp, size, MAX_PROTO_BYTES, ctx, result)
    try:
        message.ParseFromString(data)
    except (DecodeError, RecursionError, ValueError) as exc:
        reason = f"{subject} does not parse: {exc}"
        ctx.incomplete(result, ctx.finding(finding_id, "medium", reason, technique=technique))
        return False
    return True

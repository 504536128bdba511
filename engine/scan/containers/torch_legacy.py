"""The ``storages`` and ``tensors`` members of a legacy torch tar: pickles between raw records.

``torch.load`` reads a count pickle, then per record a pickle followed by raw bytes whose length
follows from the record. The walker finds every pickle the loader would read, without reading
storage payloads into the analyser; when a record cannot be followed, the rest goes to the
analyser as it is and the scan is marked incomplete.
"""

from __future__ import annotations

import io
import pickletools
import struct
from typing import Final

from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.pickles.files import analyse, pickle_end
from modelward.engine.scan.result import FileScan

#: Bytes per element of the legacy storage classes.
ELEMENT_SIZES: Final = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
    "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1,
    "BoolStorage": 1, "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
    "QInt8Storage": 1, "QUInt8Storage": 1, "QInt32Storage": 4,
}  # fmt: skip
_INT_OPS: Final = frozenset({"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"})
_NO_VALUE_OPS: Final = frozenset({"PROTO", "FRAME", "STOP", "MEMOIZE", "PUT", "BINPUT"})
_DECODE_ERRORS = (ValueError, UnicodeDecodeError, EOFError, OverflowError, IndexError)


def _ops(data: bytes, start: int, end: int) -> list[tuple[str, object]]:
    buf = io.BytesIO(data[start:end])
    try:
        return [(op.name, arg) for op, arg, _pos in pickletools.genops(buf)]
    except _DECODE_ERRORS:
        return []


def plain_int(data: bytes, start: int, end: int) -> int | None:
    """The value of a pickle that holds a single integer, else ``None``."""
    ops = [(name, arg) for name, arg in _ops(data, start, end) if name not in _NO_VALUE_OPS]
    if len(ops) == 1 and ops[0][0] in _INT_OPS and isinstance(ops[0][1], int):
        return ops[0][1]
    return None


def element_size(data: bytes, start: int, end: int) -> int | None:
    """Element size of the storage class a record pickle names (``torch FloatStorage``)."""
    for _name, arg in _ops(data, start, end):
        if isinstance(arg, str):
            size = ELEMENT_SIZES.get(arg.split()[-1] if arg.split() else arg)
            if size is not None:
                return size
    return None


class _Walk:
    """Collect pickle streams from ``data`` while skipping raw records."""

    def __init__(self, data: bytes, ctx: ScanContext) -> None:
        self.data, self.ctx, self.pos = data, ctx, 0
        self.buf = io.BytesIO(data)
        self.result = FileScan()
        self.stuck = False

    def pickle(self) -> tuple[int, int] | None:
        """Analyse the stream at ``pos``; return its span, or ``None`` (and give up) if broken."""
        start = self.pos
        end = pickle_end(self.buf, start)
        if end is None:
            self.give_up("a pickle stream does not end where the loader expects one")
            return None
        self.result.merge(analyse(self.data[start:end], self.ctx))
        self.pos = end
        return start, end

    def skip(self, count: int) -> bool:
        if count < 0 or self.pos + count > len(self.data):
            self.give_up("a raw record runs past the end of the member")
            return False
        self.pos += count
        return True

    def u64(self) -> int | None:
        if self.pos + 8 > len(self.data):
            self.give_up("a record length is truncated")
            return None
        (value,) = struct.unpack_from("<q", self.data, self.pos)
        self.pos += 8
        return int(value)

    def give_up(self, reason: str) -> None:
        """Analyse everything from here as it is, and mark the member incomplete."""
        if self.stuck:
            return
        self.stuck = True
        rest = self.data[self.pos :]
        self.ctx.incomplete(
            self.result,
            self.ctx.finding(
                "torch.legacy.unparsed",
                "medium",
                f"{reason} (offset {self.pos}); the rest was analysed as one stream",
                technique="legacy torch tar",
                offset=self.pos,
            ),
        )
        if rest:
            self.result.merge(analyse(rest, self.ctx))

    def count(self, limit: int) -> int | None:
        span = self.pickle()
        if span is None:
            return None
        value = plain_int(self.data, *span)
        if value is None or not 0 <= value <= limit:
            self.give_up("the record count is not a plain integer within limits")
            return None
        return value


def scan_storages(data: bytes, ctx: ScanContext) -> FileScan:
    """``storages``: count, then per storage a (key, location, type) pickle and its raw bytes."""
    walk = _Walk(data, ctx)
    records = walk.count(ctx.limits.max_archive_members)
    for _ in range(records or 0):
        span = walk.pickle()
        if span is None:
            break
        size = element_size(data, *span)
        if size is None:
            walk.give_up("a storage record names no known storage type")
            break
        numel = walk.u64()
        if numel is None or not walk.skip(numel * size):
            break
    if records is not None and not walk.stuck and walk.pos < len(data):
        walk.pickle()  # the storage views list
    return walk.result


def scan_tensors(data: bytes, ctx: ScanContext) -> FileScan:
    """``tensors``: count, then per tensor a pickle, ndim (+4 bytes), sizes, strides, offset."""
    walk = _Walk(data, ctx)
    records = walk.count(ctx.limits.max_archive_members)
    for _ in range(records or 0):
        if walk.pickle() is None:
            break
        if walk.pos + 8 > len(data):
            walk.give_up("a tensor record is truncated")
            break
        (ndim,) = struct.unpack_from("<i", data, walk.pos)
        walk.pos += 8
        if not 0 <= ndim <= 64 or not walk.skip(16 * ndim + 8):
            walk.give_up("a tensor record has an impossible rank")
            break
    return walk.result

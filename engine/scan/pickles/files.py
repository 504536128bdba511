"""Hand pickle streams to the pickle analyser: plain pickles and legacy ``torch.save`` files.

Nothing here unpickles. Stream boundaries are found with ``pickletools.genops``, which only parses.
"""

from __future__ import annotations

import io
import mmap
import os
import pickletools
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import BinaryIO

from modelward.engine.scan.context import ScanContext, read_at, read_bounded
from modelward.engine.scan.result import FileScan

#: Pickles ``torch.load`` reads from a legacy file: magic, protocol, sys_info, object, storage keys.
LEGACY_PICKLES = 5
_FIRST_PROBE = 1 << 20
_DECODE_ERRORS = (ValueError, UnicodeDecodeError, EOFError, OverflowError, IndexError)


def analyse(data: bytes | mmap.mmap, ctx: ScanContext) -> FileScan:
    """Run the pickle analyser on ``data`` at this place."""
    from modelward.engine.scan.pickles.vm import analyse_pickle

    return analyse_pickle(
        data, file=ctx.file, member=ctx.member, limits=ctx.limits, depth=ctx.depth
    )


def scan_pickle(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """A file or member the loader unpickles whole (it may hold several streams).

    A regular file is mapped read-only, not read: bytes the analysis skips by offset and length
    (large byte and text constants) are never paged in, so memory stays flat with their size.
    """
    with _mapped(fp, size) as mapped:
        if mapped is not None:
            return analyse(mapped, ctx)
    result = FileScan()
    data = read_bounded(fp, size, ctx.limits.max_pickle_bytes, ctx, result)
    result.merge(analyse(data, ctx))
    return result


@contextmanager
def _mapped(fp: BinaryIO, size: int) -> Iterator[mmap.mmap | None]:
    """``fp`` mapped read-only when it is a whole regular file of ``size`` bytes, else ``None``."""
    if type(fp) not in (io.BufferedReader, io.FileIO) or size <= 0:
        yield None
        return
    try:
        info = os.fstat(fp.fileno())
        mapped = mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        yield None
        return
    if not stat.S_ISREG(info.st_mode) or len(mapped) != size:
        mapped.close()
        yield None
        return
    try:
        yield mapped
    finally:
        with suppress(BufferError):  # a view outlived the analysis: unmapped when collected
            mapped.close()


def pickle_end(buf: io.BytesIO, start: int) -> int | None:
    """Offset just past the STOP of the stream at ``start``; ``None`` if it does not end."""
    buf.seek(start)
    try:
        for opcode, _arg, _pos in pickletools.genops(buf):
            if opcode.name == "STOP":
                return buf.tell()
    except _DECODE_ERRORS:
        return None
    return None


def stream_ends(data: bytes, count: int) -> tuple[list[int], bool]:
    """End offsets of up to ``count`` consecutive pickle streams at the start of ``data``.

    The flag tells whether the last stream ran into the end of ``data`` (more bytes may help).
    """
    buf, pos = io.BytesIO(data), 0
    ends: list[int] = []
    while len(ends) < count and pos < len(data):
        end = pickle_end(buf, pos)
        if end is None:
            return ends, buf.tell() >= len(data)
        ends.append(end)
        pos = end
    return ends, pos >= len(data)


def scan_legacy_sequence(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """A legacy ``torch.save`` file: five pickles, then raw storage bytes that are never unpickled.

    Reads a growing prefix until the five streams end, so gigabytes of storage stay unread.
    """
    result = FileScan()
    cap = min(size, ctx.limits.max_pickle_bytes)
    probe = min(cap, _FIRST_PROBE)
    while True:
        data = read_at(fp, 0, probe)
        ends, truncated = stream_ends(data, LEGACY_PICKLES)
        if len(ends) == LEGACY_PICKLES:
            result.merge(analyse(data[: ends[-1]], ctx))
            return result
        if probe >= cap or not truncated:
            break
        probe = min(cap, probe * 4)
    if size > cap and truncated:
        ctx.incomplete(
            result,
            ctx.finding(
                "scan.limit.bytes",
                "medium",
                f"the pickles of this legacy torch file do not end within the {cap}-byte limit",
                technique="resource limit",
            ),
        )
    result.merge(analyse(data, ctx))
    return result

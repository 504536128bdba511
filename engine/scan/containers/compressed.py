"""Bounded decompression, and scanning of gzip/bzip2/xz/lzma/zlib wrappers (joblib files).

Output never exceeds the caller's limit; a stream that breaks is scanned up to the break,
because a streaming loader would already have acted on those bytes.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Final

from modelward.engine.identify.formats import detect_bytes
from modelward.engine.scan.context import PICKLE_FORMATS, ScanContext, read_at
from modelward.engine.scan.result import FileScan

CHUNK: Final = 1 << 20
#: Formats the dispatcher calls this module for.
KINDS: Final = frozenset({"gzip", "bzip2", "xz", "lzma", "zlib"})
_MAGIC: Final = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x5d\x00\x00", "lzma"),
)
DECODE_ERRORS: Final = (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError, MemoryError)


class Decoder:
    """One decompressor behind a uniform bounded-output interface."""

    def __init__(self, kind: str, props: bytes = b"") -> None:
        self.zlib: zlib._Decompress | None = None
        self.other: bz2.BZ2Decompressor | lzma.LZMADecompressor | None = None
        wbits = {"deflate-raw": -15, "gzip": 31, "zlib": 15}.get(kind)
        if wbits is not None:
            self.zlib = zlib.decompressobj(wbits)
        elif kind == "bzip2":
            self.other = bz2.BZ2Decompressor()
        elif kind == "xz":
            self.other = lzma.LZMADecompressor(lzma.FORMAT_XZ)
        elif kind == "lzma":
            self.other = lzma.LZMADecompressor(lzma.FORMAT_ALONE)
        else:
            self.other = _raw_lzma(props)

    @property
    def has_more(self) -> bool:
        """Output is pending without more input."""
        if self.zlib is not None:
            return bool(self.zlib.unconsumed_tail)
        assert self.other is not None
        return not self.other.needs_input and not self.other.eof

    @property
    def eof(self) -> bool:
        return self.zlib.eof if self.zlib is not None else bool(self.other and self.other.eof)

    @property
    def unused_data(self) -> bytes:
        return (
            self.zlib.unused_data
            if self.zlib is not None
            else self.other.unused_data
            if self.other
            else b""
        )

    def feed(self, data: bytes, room: int) -> bytes:
        if self.zlib is not None:
            return self.zlib.decompress(self.zlib.unconsumed_tail + data, room)
        assert self.other is not None
        return self.other.decompress(data, room)


def _raw_lzma(props: bytes) -> lzma.LZMADecompressor:
    """LZMA1 with the 5-byte properties zip puts before the data."""
    if len(props) < 5:
        raise ValueError("lzma data has no properties header")
    lc_lp_pb, dict_size = props[0], int.from_bytes(props[1:5], "little")
    lc, rest = lc_lp_pb % 9, lc_lp_pb // 9
    lzma1 = {
        "id": lzma.FILTER_LZMA1,
        "dict_size": dict_size,
        "lc": lc,
        "lp": rest % 5,
        "pb": rest // 5,
    }
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])


@dataclass
class Decoded:
    data: bytes
    error: str | None = None
    overflow: bool = False


def decode(
    read_chunk: Callable[[], bytes],
    kind: str,
    limit: int,
    *,
    props: bytes = b"",
    multi: bool = False,
) -> Decoded:
    """Decompress what ``read_chunk`` yields into at most ``limit`` bytes.

    ``multi`` continues with concatenated streams, as gzip/bzip2/xz readers do.
    """
    out: list[bytes] = []
    produced, pending = 0, b""
    try:
        decoder = Decoder(kind, props)
        while True:
            if decoder.eof:
                pending = decoder.unused_data or read_chunk()
                if not (multi and pending.startswith(_magic_of(kind))):
                    break
                decoder = Decoder(kind, props)
            if decoder.has_more:
                piece = decoder.feed(b"", limit + 1 - produced)
            else:
                chunk = pending or read_chunk()
                pending = b""
                if not chunk:
                    break
                piece = decoder.feed(chunk, limit + 1 - produced)
            out.append(piece)
            produced += len(piece)
            if produced > limit:
                return Decoded(b"".join(out)[:limit], overflow=True)
    except DECODE_ERRORS as exc:
        return Decoded(b"".join(out), error=str(exc) or type(exc).__name__)
    if not decoder.eof:
        return Decoded(b"".join(out), error="the compressed stream is truncated")
    return Decoded(b"".join(out))


def _magic_of(kind: str) -> bytes:
    return next((magic for magic, name in _MAGIC if name == kind), b"\xff\xff")


def chunk_reader(fp: BinaryIO, start: int, end: int) -> Callable[[], bytes]:
    """A ``read_chunk`` over ``fp[start:end]``."""
    position = [start]

    def read() -> bytes:
        count = min(CHUNK, end - position[0])
        if count <= 0:
            return b""
        chunk = read_at(fp, position[0], count)
        position[0] += len(chunk)
        return chunk

    return read


#: joblib < 0.10 "Z-files": ``ZF``, the hex length left-justified in 19 bytes (one more byte, a
#: space, from joblib <= 0.8.4), then zlib data. joblib.load unpickles what it decompresses.
ZFILE_PREFIX: Final = b"ZF"
ZFILE_HEADER: Final = 2 + 19


def scan_joblib_zfile(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """A joblib Z-file: the decompressed content is a pickle to ``joblib.load``."""
    from modelward.engine.scan.pickles.files import scan_pickle

    result = FileScan()
    start = ZFILE_HEADER + (read_at(fp, ZFILE_HEADER, 1) == b" ")
    cap = min(ctx.budget.remaining, ctx.limits.max_pickle_bytes)
    decoded = decode(chunk_reader(fp, start, size), "zlib", cap)
    ctx.budget.take(len(decoded.data))
    _decode_findings(decoded, "joblib Z-file", cap, ctx, result)
    inner = ctx.child(None)
    result.merge(scan_pickle(io.BytesIO(decoded.data), len(decoded.data), inner))
    return result


def _decode_findings(
    decoded: Decoded, kind: str, cap: int, ctx: ScanContext, result: FileScan
) -> None:
    if decoded.overflow:
        ctx.incomplete(
            result,
            ctx.finding(
                "archive.limit.decompressed",
                "medium",
                f"{kind} content decompresses past the {cap}-byte limit; the rest was not analysed",
                technique="decompression bomb",
            ),
        )
    if decoded.error is not None:
        ctx.incomplete(
            result,
            ctx.finding(
                "compressed.corrupt",
                "low",
                f"{kind} stream breaks after {len(decoded.data)} bytes ({decoded.error}); "
                "the bytes before the break were analysed",
                technique="broken stream",
            ),
        )


def compression_kind(head: bytes) -> str:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "zlib"


def scan_compressed(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Decompress a wrapper within limits and scan what it holds."""
    from modelward.engine.scan import scan_stream

    result = FileScan()
    kind = compression_kind(read_at(fp, 0, 8))
    cap = min(ctx.budget.remaining, ctx.limits.max_pickle_bytes)
    decoded = decode(chunk_reader(fp, 0, size), kind, cap, multi=kind != "zlib")
    ctx.budget.take(len(decoded.data))
    _decode_findings(decoded, kind, cap, ctx, result)
    fmt = detect_bytes(decoded.data)
    if fmt not in PICKLE_FORMATS and decoded.data[:1] == b"\x80":
        fmt = "pickle"  # joblib unpickles whatever the wrapper holds
    result.merge(scan_stream(io.BytesIO(decoded.data), len(decoded.data), fmt, ctx.child(None)))
    return result

"""Payloads hidden in data: serialized objects inside strings, metadata and trailing bytes.

A Keras configuration value, a safetensors ``__metadata__`` string or the bytes after the end of
a file's real content can carry a pickle or a checkpoint: raw, base64 or hex text, possibly
compressed. Each candidate is decoded (bounded) and scanned like a file of its own; its findings
are reported at its location. ``active`` payloads are ones a loader deserializes (they count as
the file's own findings); stored ones are summarised as ``embedded.payload``.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from collections.abc import Iterator
from typing import BinaryIO, Final

from modelward.engine.facts import SEVERITY_RANK, Severity
from modelward.engine.scan.context import ScanContext, read_at
from modelward.engine.scan.pickles.strings import decode_text, looks_like_pickle
from modelward.engine.scan.result import FileScan

MIN_PAYLOAD: Final = 8
MAX_PAYLOAD: Final = 64 << 20
MAX_CANDIDATES: Final = 32
TRAILING_WINDOW: Final = 16 << 20
#: Formats whose loaders can run code or hold something that can.
RISKY: Final = frozenset({
    "pickle", "joblib", "pytorch-legacy", "pytorch-zip", "zip", "numpy-npy", "numpy-npz",
    "keras", "hdf5", "tar", "pytorch-legacy-tar", "7z", "skops",
})  # fmt: skip
_COMPRESSED: Final = (
    (b"\x1f\x8b", gzip.decompress),
    (b"BZh", bz2.decompress),
    (b"\xfd7zXZ\x00", lzma.decompress),
    (b"x", zlib.decompress),
)
_MARKERS: Final = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")


def decoded_payloads(value: str) -> Iterator[tuple[str, bytes]]:
    """(encoding, bytes) readings of a string that may carry serialized data."""
    if len(value) < MIN_PAYLOAD or len(value) > MAX_PAYLOAD:
        return
    raw = value.encode("latin-1", "replace")
    if looks_like_pickle(raw) or raw.startswith(b"PK\x03\x04"):
        yield "raw", raw
    decoded = decode_text(value.strip())
    if decoded is not None:
        encoding, data = decoded
        yield encoding, data
        inflated = _inflate(data)
        if inflated is not None:
            yield f"compressed {encoding}", inflated


def _inflate(data: bytes) -> bytes | None:
    for magic, decompress in _COMPRESSED:
        if data.startswith(magic):
            try:
                return decompress(data)[:MAX_PAYLOAD]
            except (OSError, ValueError, EOFError, lzma.LZMAError, zlib.error):
                return None
    return None


def scan_string(value: str, where: str, ctx: ScanContext, *, active: bool) -> FileScan:
    """Scan every serialized reading of the string ``value`` found at ``where``."""
    result = FileScan()
    for encoding, data in decoded_payloads(value):
        result.merge(scan_payload(data, f"{encoding} {where}", ctx, active=active))
    return result


def scan_payload(data: bytes, where: str, ctx: ScanContext, *, active: bool) -> FileScan:
    """Scan ``data`` as a file of its own when its content is a risky format."""
    from modelward.engine.identify.formats import detect_bytes
    from modelward.engine.scan import scan_bytes

    fmt = detect_bytes(data)
    if fmt not in RISKY or not ctx.budget.take(len(data)):
        return FileScan()
    inner = scan_bytes(data, file=ctx.file, member=_member(ctx, where), limits=ctx.limits,
                       depth=ctx.depth + 1, budget=ctx.budget)  # fmt: skip
    worst = max((SEVERITY_RANK[f.severity] for f in inner.findings), default=-1)
    if active:
        return inner
    result = FileScan(complete=inner.complete, unanalysed=inner.unanalysed)
    if worst >= SEVERITY_RANK["medium"]:
        severity: Severity = "high"
        top = max(inner.findings, key=lambda f: SEVERITY_RANK[f.severity])
        reason = (f"{where} holds a {len(data)}-byte {fmt} stored as data; its worst finding "
                  f"is {top.id} ({top.severity}): {top.message}")  # fmt: skip
        result.findings.append(ctx.finding("embedded.payload", severity, reason,
                                           technique="payload stored as data"))  # fmt: skip
    return result


def scan_trailing(fp: BinaryIO, start: int, end: int, ctx: ScanContext, what: str) -> FileScan:
    """Bytes after the end of a file's real content: any serialized object they hide."""
    result = FileScan()
    window = read_at(fp, start, min(end - start, TRAILING_WINDOW))
    for offset in _candidates(window):
        found = scan_payload(window[offset:], f"{what} at offset {start + offset}", ctx,
                             active=False)  # fmt: skip
        result.merge(found)
        if found.findings:
            break
    return result


def _candidates(window: bytes) -> list[int]:
    offsets = {0}
    for marker in _MARKERS:
        pos = window.find(marker)
        while pos >= 0 and len(offsets) < MAX_CANDIDATES:
            offsets.add(pos)
            pos = window.find(marker, pos + 1)
    return sorted(offsets)[:MAX_CANDIDATES]


def _member(ctx: ScanContext, where: str) -> str:
    return where if ctx.member is None else f"{ctx.member}#{where}"

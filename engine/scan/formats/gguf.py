"""GGUF: header, metadata and tensor table parsed by hand with bounds on every count and length.

Chat templates in the metadata are checked as a Jinja AST (see ``templates.check``); tensor data is
never read, only its declared extent checked against the file.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.result import FileScan

MAGIC: Final = b"GGUF"
STRING, ARRAY = 8, 9
_FIXED: Final = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
#: ggml tensor types: (elements per block, bytes per block).
BLOCKS: Final = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8),
    28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66),
}  # fmt: skip
MAX_DIMS: Final = 8
MAX_ARRAY_DEPTH: Final = 8
MAX_TEMPLATES: Final = 16  # tokenizer.chat_template[.name] keys analysed per file
_CHUNK: Final = 1 << 20


class GGUFError(ValueError):
    """Metadata that cannot be followed within the file and the limits."""


class _Cursor:
    """Sequential reads from the head of the file, buffered, never past ``limit`` bytes."""

    def __init__(self, fp: BinaryIO, size: int, limit: int) -> None:
        self.fp, self.size, self.limit = fp, size, min(size, limit)
        self.buf, self.pos, self.endian, self.wide = bytearray(), 0, "<", True

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if count < 0 or end > self.limit:
            raise GGUFError(
                f"a length at offset {self.pos} runs past the parsable header ({self.limit} bytes)"
            )
        if end > len(self.buf):
            self.fp.seek(len(self.buf))
            self.buf += self.fp.read(
                max(end - len(self.buf), min(_CHUNK, self.limit - len(self.buf)))
            )
            if end > len(self.buf):
                raise GGUFError("the file ends inside the metadata")
        data = bytes(self.buf[self.pos : end])
        self.pos = end
        return data

    def unpack(self, code: str) -> int | float | bool:
        fmt = self.endian + code
        value: int | float | bool = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    def count(self) -> int:
        return int(self.unpack("Q" if self.wide else "I"))

    def string(self) -> bytes:
        return self.take(self.count())


@dataclass
class Metadata:
    version: int = 0
    strings: dict[str, str] = field(default_factory=dict)
    alignment: int = 32
    tensors: list[tuple[str, list[int], int, int]] = field(default_factory=list)
    data_start: int = 0


def _value(cur: _Cursor, kind: int, depth: int = 0) -> object:
    if kind in _FIXED:
        return cur.unpack(_FIXED[kind])
    if kind == STRING:
        return cur.string()
    if kind != ARRAY or depth >= MAX_ARRAY_DEPTH:
        raise GGUFError(f"unknown value type {kind} at offset {cur.pos}")
    item, count = int(cur.unpack("I")), cur.count()
    if count > cur.limit - cur.pos:
        raise GGUFError(f"array of {count} items cannot fit in the file")
    if item in _FIXED:
        cur.take(count * struct.calcsize(_FIXED[item]))
        return None
    for _ in range(count):
        _value(cur, item, depth + 1)
    return None


def _header(cur: _Cursor) -> tuple[int, int, int]:
    if cur.take(4) != MAGIC:
        raise GGUFError("bad magic")
    raw = cur.take(4)
    version = int.from_bytes(raw, "little")
    if version not in (1, 2, 3) and int.from_bytes(raw, "big") in (1, 2, 3):
        cur.endian, version = ">", int.from_bytes(raw, "big")
    if version not in (1, 2, 3):
        raise GGUFError(f"unsupported version {version}")
    cur.wide = version >= 2
    tensors, kvs = cur.count(), cur.count()
    if kvs > cur.limit // 9 or tensors > cur.limit // 24:
        raise GGUFError(f"counts ({tensors} tensors, {kvs} keys) cannot fit in the file")
    return version, tensors, kvs


def parse(fp: BinaryIO, size: int, limit: int) -> Metadata:
    """Parse header, key/values and the tensor table; raise ``GGUFError`` when malformed."""
    cur = _Cursor(fp, size, limit)
    meta = Metadata()
    meta.version, tensor_count, kv_count = _header(cur)
    for _ in range(kv_count):
        key = cur.string().decode("utf-8", errors="replace")
        value = _value(cur, int(cur.unpack("I")))
        if isinstance(value, bytes) and key.startswith("tokenizer.chat_template"):
            meta.strings[key] = value.decode("utf-8", errors="replace")
        elif key == "general.alignment" and isinstance(value, int) and not isinstance(value, bool):
            meta.alignment = value
    for _ in range(tensor_count):
        name = cur.string().decode("utf-8", errors="replace")
        ndims = int(cur.unpack("I"))
        if ndims > MAX_DIMS:
            raise GGUFError(f"tensor {name!r} has {ndims} dimensions")
        dims = [cur.count() for _ in range(ndims)]
        meta.tensors.append((name, dims, int(cur.unpack("I")), int(cur.unpack("Q"))))
    align = meta.alignment if meta.alignment > 0 else 32
    meta.data_start = -(-cur.pos // align) * align
    return meta


def _nbytes(dims: list[int], kind: int) -> int | None:
    if kind not in BLOCKS:
        return None
    per_block, block_bytes = BLOCKS[kind]
    count = 1
    for dim in dims:
        count *= dim
    return -(-count // per_block) * block_bytes


def _tensor_findings(meta: Metadata, size: int, ctx: ScanContext, result: FileScan) -> None:
    if meta.alignment <= 0 or meta.alignment & (meta.alignment - 1):
        result.findings.append(
            ctx.finding(
                "gguf.alignment",
                "medium",
                f"general.alignment {meta.alignment} is not a power of two",
                technique="GGUF header abuse",
            )
        )
    spans: list[tuple[int, int, str]] = []
    room = size - meta.data_start
    for name, dims, kind, offset in meta.tensors:
        nbytes = _nbytes(dims, kind)
        end = offset + (nbytes or 0)
        if offset > room or end > room:
            result.findings.append(
                ctx.finding(
                    "gguf.tensor_bounds",
                    "high",
                    f"tensor {name!r} spans data offsets {offset}..{end}, past the data area "
                    f"({room} bytes)",
                    technique="GGUF header abuse",
                )
            )
        elif nbytes:
            spans.append((offset, end, name))
    spans.sort()
    for (_, prev_end, prev), (start, _end, name) in itertools.pairwise(spans):
        if start < prev_end:
            result.findings.append(
                ctx.finding(
                    "gguf.tensor_overlap",
                    "medium",
                    f"tensors {prev!r} and {name!r} overlap",
                    technique="GGUF header abuse",
                )
            )


def scan_gguf(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Parse a GGUF file's metadata; check chat templates and the tensor table."""
    from modelward.engine.scan.templates.check import template_issues

    result = FileScan()
    try:
        meta = parse(fp, size, ctx.limits.max_header_bytes)
    except (GGUFError, struct.error, OverflowError, MemoryError) as exc:
        return ctx.incomplete(
            result,
            ctx.finding(
                "gguf.malformed",
                "medium",
                f"GGUF metadata cannot be parsed: {exc}",
                technique="GGUF header abuse",
            ),
        )
    templates = list(meta.strings.items())
    if len(templates) > MAX_TEMPLATES:
        ctx.incomplete(
            result,
            ctx.finding(
                "gguf.chat_template.too_many",
                "medium",
                f"{len(templates)} chat templates exceed the limit of {MAX_TEMPLATES}; "
                "the rest were not analysed",
                technique="Jinja template injection",
            ),
        )
    for key, template in templates[:MAX_TEMPLATES]:
        for issue in template_issues(template):
            finding = ctx.finding(
                issue.id,
                issue.severity,
                f"{key} {issue.reason}",
                technique="Jinja template injection",
            )
            if issue.incomplete:
                ctx.incomplete(result, finding)
            else:
                result.findings.append(finding)
    _tensor_findings(meta, size, ctx, result)
    return result

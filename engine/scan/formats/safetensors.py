"""safetensors headers, parsed by hand and checked as strictly as the reference loader.

Checks: header length against the file and the limit, JSON (duplicate keys included), dtypes,
shape x dtype size against the offsets, offsets inside the data area, overlaps and gaps, and
``__metadata__`` strings that look like code. Tensor data is never read.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, BinaryIO, Final

from modelward.engine.facts import Severity
from modelward.engine.scan.context import ScanContext, read_at
from modelward.engine.scan.embedded import scan_string, scan_trailing
from modelward.engine.scan.result import FileScan

#: Bits per element of the dtypes the reference implementation knows.
DTYPE_BITS: Final = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "F64": 64, "I64": 64, "U64": 64,
    "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip
CODE_PATTERNS: Final = re.compile(
    r"\bimport\s+[A-Za-z_]|__import__|\bos\.(system|popen|exec)|\bsubprocess\b|\beval\s*\(|"
    r"\bexec\s*\(|\bcompile\s*\(|\bpickle\.loads?\b|\bbase64\.b64decode\b|\bgetattr\s*\(|"
    r"\|\s*(ba)?sh\b|\brm\s+-rf\b|\bcurl\s+\S|\bwget\s+\S|\bchmod\s+[0-7]{3}"
)
TECHNIQUE: Final = "safetensors header abuse"


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Duplicate(next(k for k in keys if keys.count(k) > 1))
    return dict(pairs)


class _Check:
    def __init__(self, ctx: ScanContext) -> None:
        self.ctx, self.result = ctx, FileScan()

    def add(self, id_: str, severity: Severity, reason: str, *, stop: bool = False) -> FileScan:
        finding = self.ctx.finding(
            f"safetensors.{id_}", severity, reason, technique=TECHNIQUE, offset=0
        )
        if stop:
            return self.ctx.incomplete(self.result, finding)
        self.result.findings.append(finding)
        return self.result


def scan_safetensors(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Check the 8-byte length, the JSON header and every tensor entry against the file."""
    check = _Check(ctx)
    prefix = read_at(fp, 0, 8)
    if len(prefix) < 8:
        return check.add(
            "header_too_small",
            "high",
            f"file is {size} bytes, shorter than the 8-byte header length",
            stop=True,
        )
    length = int.from_bytes(prefix, "little")
    if length > ctx.limits.max_header_bytes:
        return check.add(
            "header_too_large",
            "high",
            f"header length {length} exceeds the {ctx.limits.max_header_bytes}-byte limit",
            stop=True,
        )
    if length > size - 8:
        return check.add(
            "header_length",
            "high",
            f"header length {length} is larger than the file ({size} bytes)",
            stop=True,
        )
    try:
        header = json.loads(read_at(fp, 8, length), object_pairs_hook=_no_duplicates)
    except _Duplicate as exc:
        return check.add(
            "duplicate_key",
            "high",
            f"header repeats the key {exc}; readers disagree on which entry wins",
            stop=True,
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return check.add("header_json", "high", f"header is not valid JSON: {exc}", stop=True)
    if not isinstance(header, dict):
        return check.add("header_json", "high", "header is not a JSON object", stop=True)
    _metadata(header.pop("__metadata__", None), check)
    covered = _tensors(header, size - 8 - length, check)
    if covered is not None and 8 + length + covered < size:
        check.result.merge(
            scan_trailing(fp, 8 + length + covered, size, ctx, "data after the tensors")
        )
    return check.result


def _metadata(metadata: object, check: _Check) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        check.add("metadata_type", "medium", "__metadata__ is not an object of strings")
        return
    for key, value in metadata.items():
        if not isinstance(value, str):
            check.add("metadata_type", "medium", f"__metadata__[{key!r}] is not a string")
            continue
        where = f"__metadata__[{key!r}]"
        check.result.merge(scan_string(value, where, check.ctx, active=False))
        if CODE_PATTERNS.search(value):
            snippet = value if len(value) <= 80 else value[:77] + "..."
            check.add(
                "metadata.code",
                "medium",
                f"__metadata__[{key!r}] holds code-like text: {snippet!r}",
            )


def _entry_span(name: str, entry: object, check: _Check) -> tuple[int, int] | None:
    """Validate one tensor entry; return its (start, end) data offsets if they are usable."""
    if not isinstance(entry, dict) or set(entry) - {"dtype", "shape", "data_offsets"}:
        check.add("entry", "high", f"tensor {name!r} is not a dtype/shape/data_offsets entry")
        return None
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_uint(o) for o in offsets)):
        check.add("offsets", "high", f"tensor {name!r} has malformed data_offsets {offsets!r}")
        return None
    start, end = offsets
    if start > end:
        check.add("offsets", "high", f"tensor {name!r} ends ({end}) before it starts ({start})")
        return None
    if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
        check.add("shape", "high", f"tensor {name!r} has a malformed shape {shape!r}")
    elif dtype not in DTYPE_BITS:
        check.add("dtype", "medium", f"tensor {name!r} has unknown dtype {dtype!r}")
    elif math.prod(shape) * DTYPE_BITS[str(dtype)] != (end - start) * 8:
        check.add(
            "size_mismatch",
            "high",
            f"tensor {name!r}: shape {shape} of {dtype} does not fill its {end - start}-byte span",
        )
    return start, end


def _is_uint(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tensors(header: dict[str, Any], data_size: int, check: _Check) -> int | None:
    """Check every entry; return how many data bytes the tensors cover (``None`` if none)."""
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        span = _entry_span(name, entry, check)
        if span is None:
            continue
        if span[1] > data_size:
            check.add(
                "offsets",
                "high",
                f"tensor {name!r} spans {span[0]}..{span[1]}, past the {data_size}-byte data area",
            )
            continue
        spans.append((span[0], span[1], name))
    spans.sort()
    covered = 0
    for start, end, name in spans:
        if start < covered:
            check.add("overlap", "high", f"tensor {name!r} overlaps the data of another tensor")
        elif start > covered:
            check.add(
                "gap", "medium", f"{start - covered} unreferenced bytes before tensor {name!r}"
            )
        covered = max(covered, end)
    if spans and covered < data_size:
        check.add(
            "trailing_data",
            "medium",
            f"{data_size - covered} bytes after the last tensor are not referenced",
        )
    return covered if spans else None

"""Structural checks of a safetensors header (parsed by hand; nothing is loaded)."""

from __future__ import annotations

import json
from typing import BinaryIO

from modelward.engine.facts import Finding
from modelward.engine.scan.limits import DEFAULT_LIMITS, Limits
from modelward.engine.scan.result import FileScan


def scan_safetensors(fp: BinaryIO, size: int, path: str, limits: Limits = DEFAULT_LIMITS) -> FileScan:
    """Check the 8-byte header length and the JSON header against the file size."""
    result = FileScan()
    fp.seek(0)
    prefix = fp.read(8)
    if len(prefix) < 8:
        result.incomplete(path, _finding(path, "safetensors.header_too_small",
                                         f"file is {size} bytes, shorter than the 8-byte header length"))  # fmt: skip
        return result
    length = int.from_bytes(prefix, "little")
    if length > size - 8:
        result.incomplete(path, _finding(path, "safetensors.header_length",
                                         f"header length {length} is larger than the file ({size} bytes)"))  # fmt: skip
        return result
    if length > limits.max_header_bytes:
        result.incomplete(path, _finding(path, "safetensors.header_too_large",
                                         f"header length {length} exceeds the {limits.max_header_bytes}-byte limit"))  # fmt: skip
        return result
    try:
        header = json.loads(fp.read(length))
    except (ValueError, UnicodeDecodeError) as exc:
        result.incomplete(path, _finding(path, "safetensors.header_json", f"header is not valid JSON: {exc}"))
        return result
    if not isinstance(header, dict):
        result.incomplete(path, _finding(path, "safetensors.header_json", "header is not a JSON object"))
    return result


def _finding(path: str, id_: str, message: str) -> Finding:
    return Finding(id=id_, severity="high", file=path, offset=0, technique="safetensors header abuse",
                   message=f"{path}: {message}")  # fmt: skip

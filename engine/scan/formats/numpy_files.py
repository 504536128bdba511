"""``.npy`` files: the header is parsed as a literal; object arrays go to the pickle analyser.

Plain arrays are never read: only the header is checked against the file size.
"""

from __future__ import annotations

import ast
import io
import math
import re
from typing import BinaryIO, Final

from modelward.engine.scan.context import ScanContext, Window, read_at, read_bounded
from modelward.engine.scan.embedded import scan_trailing
from modelward.engine.scan.pickles.files import analyse
from modelward.engine.scan.result import FileScan

MAGIC: Final = b"\x93NUMPY"
MAX_HEADER: Final = 1 << 20
_PY2_LONG = re.compile(r"\b(\d+)L\b")
_TYPESTR = re.compile(r"^[<>|=]?([?bBhHiIlLqQpPefdgFDGSUVOMmaucb])(\d*)(\[[a-zA-Z0-9,]+\])?$")
_SIZES: Final = {
    "?": 1,
    "b": 1,
    "B": 1,
    "h": 2,
    "H": 2,
    "i": 4,
    "I": 4,
    "l": 8,
    "L": 8,
    "q": 8,
    "Q": 8,
    "p": 8,
    "P": 8,
    "e": 2,
    "f": 4,
    "d": 8,
    "g": 16,
    "F": 8,
    "D": 16,
    "G": 32,
    "O": 8,
}


class HeaderError(ValueError):
    """A header numpy would refuse."""


def literal(node: ast.AST) -> object:
    """The value of a literal dict/tuple/list/str/int/bool/None expression; nothing else parses."""
    if isinstance(node, ast.Expression):
        return literal(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | bool | type(None)):
        return node.value
    if isinstance(node, ast.Tuple | ast.List):
        return [literal(item) for item in node.elts]
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {literal(k): literal(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
    raise HeaderError(f"unexpected {type(node).__name__} in header")


def itemsize(descr: object) -> tuple[int, bool]:
    """(bytes per element, holds Python objects) of a numpy ``descr``."""
    if isinstance(descr, str):
        return _typestr_size(descr)
    if not isinstance(descr, list) or not descr:
        raise HeaderError("descr is neither a type string nor a field list")
    total, objects = 0, False
    for field in descr:
        if not isinstance(field, list) or len(field) not in (2, 3):
            raise HeaderError("malformed structured field")
        size, has_object = itemsize(field[1])
        count = math.prod(_shape(field[2])) if len(field) == 3 else 1
        total, objects = total + size * count, objects or has_object
    return total, objects


def _typestr_size(typestr: str) -> tuple[int, bool]:
    match = _TYPESTR.match(typestr)
    if match is None:
        raise HeaderError(f"unknown dtype {typestr!r}")
    kind, digits = match.group(1), match.group(2)
    if kind == "O":
        return 8, True
    if digits:
        width = int(digits)
        return (width * 4 if kind == "U" else width), False
    if kind not in _SIZES:
        raise HeaderError(f"dtype {typestr!r} has no size")
    return _SIZES[kind], False


def _shape(value: object) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, int) and v >= 0 for v in value):
        raise HeaderError("shape is not a tuple of non-negative integers")
    return [int(v) for v in value]


def read_header(fp: BinaryIO, size: int) -> tuple[dict[str, object], int]:
    """Parse the header; return it and the offset where the array data starts."""
    prefix = read_at(fp, 0, 12)
    if len(prefix) < 10 or not prefix.startswith(MAGIC):
        raise HeaderError("not an npy file")
    major = prefix[6]
    if major == 1:
        length, start = int.from_bytes(prefix[8:10], "little"), 10
    elif major in (2, 3) and len(prefix) == 12:
        length, start = int.from_bytes(prefix[8:12], "little"), 12
    else:
        raise HeaderError(f"unsupported format version {major}")
    if length > MAX_HEADER or start + length > size:
        raise HeaderError(f"header length {length} is impossible for a {size}-byte file")
    text = read_at(fp, start, length).decode("utf-8" if major == 3 else "latin1")
    if major == 1:
        text = _PY2_LONG.sub(r"\1", text)  # Python 2 wrote shapes as (2L, 3L); numpy accepts it
    try:
        header = literal(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:
        raise HeaderError(f"header is not a literal: {exc}") from exc
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise HeaderError("header keys are not descr, fortran_order and shape")
    return header, start + length


def scan_npy(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Check an ``.npy`` header; analyse the pickle of an object array."""
    result = FileScan()
    try:
        header, data_start = read_header(fp, size)
        width, objects = itemsize(header["descr"])
        count = math.prod(_shape(header["shape"]))
    except HeaderError as exc:
        return ctx.incomplete(
            result,
            ctx.finding(
                "npy.header_invalid",
                "medium",
                f"npy header cannot be parsed: {exc}",
                technique="numpy header",
            ),
        )
    if objects:
        window = io.BufferedReader(Window(fp, data_start, size - data_start))
        payload = read_bounded(window, size - data_start, ctx.limits.max_pickle_bytes, ctx, result)
        result.merge(analyse(payload, ctx))
        return result
    expected, present = count * width, size - data_start
    if expected != present:
        result.findings.append(
            ctx.finding(
                "npy.size_mismatch",
                "low",
                f"header describes {expected} data bytes, the file holds {present}",
                technique="numpy header",
                offset=data_start,
            )
        )
    if present > expected:
        result.merge(scan_trailing(fp, data_start + expected, size, ctx, "data after the array"))
    return result

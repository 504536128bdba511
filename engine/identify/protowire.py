"""A bounded reader of protobuf wire format, used only to recognise ONNX/SavedModel files.

Deep analysis uses the maintained protobuf definitions; this only walks tags and lengths.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, I64, LEN, I32 = 0, 1, 2, 5


class WireError(ValueError):
    """Bytes that are not a well-formed protobuf message."""


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one varint at ``pos``; return (value, next position)."""
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes")


def fields(buf: bytes, *, limit: int = 4096) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) for the top-level fields of ``buf``.

    A LEN field whose payload runs past the end of ``buf`` yields the bytes that are there,
    so a message can be recognised from its first bytes alone.
    """
    pos = count = 0
    while pos < len(buf) and count < limit:
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
            yield number, wire, value
        elif wire == LEN:
            length, pos = read_varint(buf, pos)
            yield number, wire, buf[pos : pos + length]
            pos += length
        elif wire in (I64, I32):
            width = 8 if wire == I64 else 4
            if pos + width > len(buf):
                raise WireError("truncated fixed-width field")
            yield number, wire, int.from_bytes(buf[pos : pos + width], "little")
            pos += width
        else:
            raise WireError(f"unsupported wire type {wire}")
        count += 1


def field_numbers(buf: bytes) -> list[tuple[int, int]]:
    """(number, wire type) of each top-level field; raise ``WireError`` if malformed."""
    return [(n, w) for n, w, _ in fields(buf)]

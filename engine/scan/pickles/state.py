"""The state of the pickle VM for one stream: stack, metastack, memo and the input bytes."""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from typing import Final, TypeAlias

from modelward.engine.scan.pickles.analysis import Analysis

#: Pickle data: in memory, or a file mapped read-only whose pages are read only when used.
PickleData: TypeAlias = bytes | mmap.mmap
#: An opcode handler: takes the offset after its opcode byte, returns the next opcode's offset.
Handler = Callable[[int], int]

U16: Final = struct.Struct("<H").unpack_from
I32: Final = struct.Struct("<i").unpack_from
U32: Final = struct.Struct("<I").unpack_from
U64: Final = struct.Struct("<Q").unpack_from
F64: Final = struct.Struct(">d").unpack_from


class Stop(Exception):
    """STOP reached; ``end`` is the offset after it."""

    def __init__(self, end: int) -> None:
        self.end = end


class Broken(Exception):
    """The stream cannot go on here (the loader would raise too)."""


def _no_nested(pos: int) -> int:
    raise Broken("a nested stream cannot be read here")


class Machine:
    """Stack, metastack and memo of one stream, with the argument readers handlers share."""

    def __init__(
        self,
        analysis: Analysis,
        buf: PickleData,
        *,
        joblib: bool = True,
        nested: Callable[[int], int] | None = None,
    ) -> None:
        self.stack: list[object] = []
        self.marks: list[int] = []
        self.memo: dict[int, object] = {}
        self.analysis, self.buf, self.size = analysis, buf, len(buf)
        self.mv = memoryview(buf)
        #: Whether joblib's BUILD hook applies (it does in the outer stream joblib reads).
        self.joblib = joblib
        #: Runs a whole stream at an offset with a fresh unpickler; returns where it ends.
        self.nested: Callable[[int], int] = nested or _no_nested

    def pop_mark(self) -> list[object]:
        """Everything pushed since the last MARK (popped), and the MARK itself."""
        if not self.marks:
            raise Broken("no MARK on the metastack")
        at = self.marks.pop()
        items = self.stack[at:]
        del self.stack[at:]
        return items

    def line(self, pos: int) -> tuple[bytes, int]:
        """A newline-terminated text argument and the offset after it."""
        end = self.buf.find(b"\n", pos)
        if end < 0:
            raise Broken("text argument without a newline")
        return self.buf[pos:end], end + 1

    def span(self, pos: int, length: int) -> int:
        """End of a ``length``-byte argument at ``pos``, checked against the data."""
        if length < 0 or pos + length > self.size:
            raise Broken(f"argument of {length} bytes runs past the end of the data")
        return pos + length

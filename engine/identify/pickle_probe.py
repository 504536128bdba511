"""Does a pickle loader get anywhere with these bytes? A bounded walk over opcodes.

``pickle.load`` starts on whatever opcode the file begins with: no header is required, and a
leading string of any length (skipped here by its declared length, without reading it) can hide
what follows. The walk decodes opcode arguments only as far as needed, never builds objects,
and reports whether the bytes read as a pickle that imports or calls something, or ends.
"""

from __future__ import annotations

import pickletools
import re
import struct
from dataclasses import dataclass
from typing import Final, Protocol

MAX_OPS: Final = 4096
MAX_LINE: Final = 1 << 16
_OPS: Final = {ord(op.code): op for op in pickletools.opcodes}
_CALLS: Final = frozenset({
    "GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2",
    "EXT4", "BUILD",
})  # fmt: skip
_TWO_LINES: Final = frozenset({"GLOBAL", "INST"})
_DOTTED = re.compile(rb"[A-Za-z_][\w.]*\Z")
_LENGTHS: Final = {
    pickletools.TAKEN_FROM_ARGUMENT1: ("<B", 1),
    pickletools.TAKEN_FROM_ARGUMENT4: ("<i", 4),
    pickletools.TAKEN_FROM_ARGUMENT4U: ("<I", 4),
    pickletools.TAKEN_FROM_ARGUMENT8U: ("<Q", 8),
}


class Readable(Protocol):
    """What the walk reads from: a binary file, or a mapped file."""

    def seek(self, pos: int, /) -> object: ...

    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class Probe:
    """What the walk saw: opcodes decoded, whether any imports or calls, and how it ended
    (``stopped``: at a STOP; ``clean``: at the end of the data, between two opcodes)."""

    ops: int
    calls: bool
    stopped: bool
    clean: bool
    end: int
    denied: bool = False

    @property
    def is_pickle(self) -> bool:
        """Strong evidence: a stream whose stack stays consistent and that ends like a pickle,
        or that imports or calls and runs on without an error."""
        if self.stopped or self.denied:
            return self.ops >= 2 or self.denied
        return self.calls and self.ops >= 3 and (self.clean or self.ops >= 8)


class _Stack:
    """Stack depth and marks only, as the loader would keep them; underflow ends the walk."""

    def __init__(self) -> None:
        self.depth = 0
        self.marks: list[int] = []

    def apply(self, op: pickletools.OpcodeInfo) -> None:
        before = op.stack_before
        if op.name == "POP" and self.marks and self.depth == self.marks[-1]:
            self.marks.pop()
            return
        if pickletools.markobject in before:
            if not self.marks:
                raise ValueError("no MARK on the stack")
            self.depth = self.marks.pop() - before.index(pickletools.markobject)
        else:
            self.depth -= len(before)
        if self.depth < 0:
            raise ValueError("stack underflow")
        after = op.stack_after
        if pickletools.markobject in after:
            self.marks.append(self.depth)
        else:
            self.depth += len(after)


class _Reader:
    def __init__(self, fp: Readable, size: int) -> None:
        self.fp, self.size, self.pos = fp, size, 0

    def read(self, count: int) -> bytes:
        if count < 0 or self.pos + count > self.size:
            raise EOFError
        self.fp.seek(self.pos)
        data = self.fp.read(count)
        if len(data) < count:
            raise EOFError
        self.pos += count
        return data

    def line(self) -> bytes:
        self.fp.seek(self.pos)
        chunk = self.fp.read(min(MAX_LINE, self.size - self.pos))
        end = chunk.find(b"\n")
        if end < 0:
            raise EOFError
        self.pos += end + 1
        return chunk[:end]


def probe(fp: Readable, size: int, start: int = 0) -> Probe:
    """Walk the opcodes from ``start`` until STOP, an error, or ``MAX_OPS``."""
    reader, stack = _Reader(fp, size), _Stack()
    reader.pos = start
    ops, calls, denied = 0, False, False
    try:
        while ops < MAX_OPS and reader.pos < size:
            op = _OPS.get(reader.read(1)[0])
            if op is None:
                break
            names = _skip_argument(reader, op)
            denied = denied or (names is not None and _denied(*names))
            stack.apply(op)
            ops += 1
            calls = calls or op.name in _CALLS
            if op.name == "STOP":
                return Probe(ops, calls, stopped=True, clean=True, end=reader.pos, denied=denied)
    except (EOFError, struct.error, ValueError):
        return Probe(ops, calls, stopped=False, clean=False, end=reader.pos, denied=denied)
    clean = reader.pos >= size
    return Probe(ops, calls, stopped=False, clean=clean, end=reader.pos, denied=denied)


def _denied(module: bytes, name: bytes) -> bool:
    """A known-dangerous import is evidence of a pickle even if the stream breaks after it."""
    from modelward.engine.scan.pickles.rules import classify

    return classify(module.decode(), name.decode()).verdict == "denied"


def _skip_argument(reader: _Reader, op: pickletools.OpcodeInfo) -> tuple[bytes, bytes] | None:
    """Move past the argument; return the (module, name) of GLOBAL and INST."""
    arg = op.arg
    if arg is None:
        return None
    if op.name in _TWO_LINES:
        module, name = reader.line(), reader.line()
        if _DOTTED.match(module) is None or _DOTTED.match(name) is None:
            raise ValueError("not an importable name")
        return module, name
    if arg.n >= 0:
        reader.read(arg.n)
        return None
    if arg.n == pickletools.UP_TO_NEWLINE:
        _check_line(op.name, reader.line())
        return None
    fmt, width = _LENGTHS[arg.n]
    (length,) = struct.unpack(fmt, reader.read(width))
    _seek(reader, length)
    return None


def _check_line(name: str, line: bytes) -> None:
    """The loader parses these text arguments; one it cannot parse ends the stream."""
    if name in ("INT", "LONG", "GET", "PUT"):
        int(line.rstrip(b"L") or b"x")
    elif name == "FLOAT":
        float(line)
    elif name == "STRING" and not (len(line) >= 2 and line[:1] in b"'\"" and line[-1:] == line[:1]):
        raise ValueError("STRING argument is not quoted")


def _seek(reader: _Reader, length: int) -> None:
    """Skip an argument without reading it (it must still fit in the file)."""
    if length < 0 or reader.pos + length > reader.size:
        raise EOFError
    reader.pos += length

"""The pickle virtual machine, run symbolically over one stream (protocols 0 to 5).

Stack, metastack (MARK) and memo are tracked as ``pickle.Unpickler`` tracks them; imports and
calls become symbolic values (see ``values``) judged by the analysis. A table of small
handlers indexed by opcode byte keeps the loop tight.
"""

from __future__ import annotations

import struct
from typing import Final

from modelward.engine.scan.pickles.analysis import Analysis
from modelward.engine.scan.pickles.ops_objects import object_handlers
from modelward.engine.scan.pickles.ops_values import value_handlers
from modelward.engine.scan.pickles.state import Broken, Handler, Machine, PickleData, Stop

_CHUNK: Final = 256
_ERRORS: Final = (Broken, IndexError, ValueError, struct.error, OverflowError)


class StreamError(Exception):
    """The stream cannot be parsed further (the loader would fail here too)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset, self.reason = offset, reason


class LimitHit(Exception):
    """A work limit stopped the analysis."""

    def __init__(self, kind: str, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.offset, self.reason = kind, offset, reason


def _unknown(pos: int) -> int:
    raise Broken("unknown opcode")


def _table(machine: Machine) -> list[Handler]:
    table: list[Handler] = [_unknown] * 256
    for handlers in (value_handlers(machine), object_handlers(machine)):
        for code, handler in handlers.items():
            table[ord(code)] = handler
    return table


def run_stream(analysis: Analysis, buf: PickleData, start: int, *, joblib: bool = True) -> int:
    """Run the stream starting at ``start``; return the offset just past its STOP.

    ``joblib``: the stream is the one ``joblib.load`` reads, so array bytes follow its array
    wrappers; the object arrays in it are whole nested streams, read without that hook.
    """
    machine = Machine(analysis, buf, joblib=joblib, nested=lambda pos: _nested(analysis, buf, pos))
    table, stack, marks, memo = _table(machine), machine.stack, machine.marks, machine.memo
    limits, budget = analysis.limits, analysis.budget
    pos, done = start, 0
    try:
        while True:
            count = min(_CHUNK, budget.left)
            if count <= 0:
                raise LimitHit("ops", pos, f"more than {limits.max_pickle_ops} opcodes")
            for done in range(count):  # noqa: B007 - ``done`` counts work when the loop exits
                pos = table[buf[pos]](pos + 1)
            budget.left -= count
            if len(stack) + len(marks) > limits.max_stack_depth:
                raise LimitHit("stack", pos, f"stack deeper than {limits.max_stack_depth}")
            if len(memo) > limits.max_memo_entries:
                raise LimitHit("memo", pos, f"more than {limits.max_memo_entries} memo entries")
    except Stop as stop:
        budget.left -= done + 1
        return stop.end
    except _ERRORS as exc:
        budget.left -= done + 1
        raise StreamError(pos, _reason(exc, buf, pos)) from None


def _nested(analysis: Analysis, buf: PickleData, pos: int) -> int:
    try:
        return run_stream(analysis, buf, pos, joblib=False)
    except StreamError as exc:
        raise Broken(
            f"the nested stream of a joblib object array is broken: {exc.reason}"
        ) from None


def _reason(exc: Exception, buf: PickleData, pos: int) -> str:
    if pos >= len(buf):
        return "data ends without a STOP opcode"
    name = f"opcode 0x{buf[pos]:02x} at offset {pos}"
    if isinstance(exc, Broken):
        return f"{name}: {exc}"
    if isinstance(exc, IndexError):
        return f"{name}: truncated argument or stack underflow"
    return f"{name}: invalid argument ({type(exc).__name__})"

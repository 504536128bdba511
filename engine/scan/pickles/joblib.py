"""joblib's array placeholders, read the way ``joblib.load`` reads them.

``joblib.dump`` pickles a ``NumpyArrayWrapper`` for each array and writes the array right after
the wrapper's BUILD, inside the pickle stream: raw bytes (after one padding-length byte and the
padding, from joblib 1.2), or, for object arrays, a whole nested pickle stream that joblib
unpickles. The analysis follows that layout instead of reading array bytes as opcodes, runs the
nested stream; ``vm`` then reads the file again as ``pickle.load`` would, array bytes
as opcodes.
Older joblib wrote arrays to sidecar files named in ``NDArrayWrapper`` state.
"""

from __future__ import annotations

import math
import posixpath
import re
from dataclasses import dataclass
from typing import Final

from modelward.engine.scan.pickles.allowlist import JOBLIB_WRAPPERS
from modelward.engine.scan.pickles.state import Broken, Machine
from modelward.engine.scan.pickles.values import Call, Global, SymDict

#: Wrappers whose array bytes follow inline in the stream.
INLINE: Final = frozenset(p for p in JOBLIB_WRAPPERS if p.endswith(".NumpyArrayWrapper"))
#: Wrappers whose array lives in a sidecar file next to the pickle.
SIDECAR: Final = JOBLIB_WRAPPERS - INLINE
_TYPESTR = re.compile(r"[<>|=]?([a-zA-Z?])(\d*)")
_WIDTHS: Final = {"U": 4}  # typestr digits count characters of 4 bytes
_HASOBJECT: Final = 0x01  # NPY_ITEM_REFCOUNT in the dtype's pickled flags
_SIDECAR: Final = "joblib sidecar file"


class LayoutError(ValueError):
    """The wrapper's state does not say how many bytes follow."""


@dataclass(frozen=True)
class ArrayLayout:
    """What follows a wrapper: a nested pickle (object arrays) or ``nbytes`` raw bytes."""

    objects: bool
    nbytes: int
    padded: bool
    subclass: object


def wrapper_path(target: object) -> str | None:
    """The joblib wrapper class a BUILD target was made from, if it is one."""
    if type(target) is Call and type(target.func) is Global and target.func.path in JOBLIB_WRAPPERS:
        return target.func.path
    return None


def inline_layout(state: object) -> ArrayLayout:
    """The layout a ``NumpyArrayWrapper`` state describes; raise ``LayoutError`` if unclear."""
    fields = _fields(state)
    objects, itemsize = _dtype(fields.get("dtype"))
    count = math.prod(_shape(fields.get("shape")))
    return ArrayLayout(
        objects=objects,
        nbytes=0 if objects else count * itemsize,
        padded="numpy_array_alignment_bytes" in fields
        and fields["numpy_array_alignment_bytes"] is not None,
        subclass=fields.get("subclass"),
    )


def sidecar_name(state: object) -> str | None:
    """The sidecar file an ``NDArrayWrapper`` state names (``None`` if it names none)."""
    try:
        name = _fields(state).get("filename")
    except LayoutError:
        return None
    return name if isinstance(name, str) else None


def escapes(name: str) -> bool:
    """True if a sidecar name is absolute or leaves the pickle's directory."""
    path = name.replace("\\", "/")
    normal = posixpath.normpath(path) if path else ".."
    return path.startswith("/") or ":" in path[:3] or normal == ".." or normal.startswith("../")


def _fields(state: object) -> dict[str, object]:
    if not isinstance(state, SymDict):
        raise LayoutError("the wrapper state is not a dict")
    return {k: v for k, v in state.pairs if isinstance(k, str)}


def _shape(value: object) -> list[int]:
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value
    ):
        raise LayoutError("the array shape is not a tuple of non-negative integers")
    return list(value)


def _dtype(value: object) -> tuple[bool, int]:
    """(holds Python objects, bytes per element) of a pickled ``numpy.dtype``."""
    if not (
        type(value) is Call and type(value.func) is Global and value.func.path == "numpy.dtype"
    ):
        raise LayoutError("the array dtype is not a numpy.dtype")
    assert type(value) is Call
    args = value.args if isinstance(value.args, tuple) else ()
    typestr = args[0] if args and isinstance(args[0], str) else None
    match = _TYPESTR.fullmatch(typestr or "")
    if match is None:
        raise LayoutError(f"the dtype {typestr!r} is not understood")
    kind, digits = match.group(1), match.group(2)
    state = value.state if isinstance(value.state, tuple) else ()
    elsize = state[5] if len(state) > 7 and isinstance(state[5], int) else -1
    flags = state[7] if len(state) > 7 and isinstance(state[7], int) else 0
    objects = kind == "O" or bool(flags & _HASOBJECT)
    if elsize > 0:
        return objects, elsize
    if not digits:
        raise LayoutError(f"the dtype {typestr!r} has no size")
    return objects, int(digits) * _WIDTHS.get(kind, 1)


def follow_wrapper(machine: Machine, target: object, state: object, pos: int) -> int:
    """After the BUILD of a joblib wrapper at ``pos``: where the next opcode starts."""
    path = wrapper_path(target)
    analysis = machine.analysis
    if path in SIDECAR:
        name = sidecar_name(state)
        if name is not None and escapes(name):
            analysis.report("pickle.joblib.sidecar_escape", "high", pos - 1, _SIDECAR,
                            f"{path} loads its array with numpy.load(allow_pickle=True) from "
                            f"{name!r}, outside the model's directory", symbol=path)  # fmt: skip
        return pos
    if path is None or not machine.joblib:
        return pos
    try:
        layout = inline_layout(state)
    except LayoutError as exc:
        reason = f"joblib array wrapper: {exc}; the array bytes that follow cannot be skipped"
        raise Broken(reason) from None
    _judge_subclass(machine, layout.subclass, pos)
    if layout.objects:
        return machine.nested(pos)
    start = pos
    if layout.padded:
        if pos >= machine.size:
            raise Broken("joblib array padding runs past the end of the data")
        pos += 1 + machine.buf[pos]
    end = pos + layout.nbytes
    if end > machine.size:
        raise Broken(f"joblib array data of {layout.nbytes} bytes runs past the end of the data")
    if end > start:
        machine.analysis.joblib_skipped = True  # pickle_vm reads these bytes as pickle.load does
    return end


def _judge_subclass(machine: Machine, subclass: object, pos: int) -> None:
    if type(subclass) is Global and subclass.verdict != "allowed":
        machine.analysis.unreviewed_call(subclass, pos - 1, "joblib instantiates array subclass")

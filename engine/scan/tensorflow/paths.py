"""Where a file-path input of a TensorFlow op comes from, followed back through the graph.

Standard savers build checkpoint paths from a tensor the loader feeds (the saver's filename
placeholder or a function argument) joined with constant suffixes; TF1 vocabulary tables read
asset-path constants the loader replaces. ``trace`` follows the few ops they use and reports
constant paths, the constants joined onto a fed path, and the first op it does not follow.
A default (``PlaceholderWithDefault``) is followed: a signature that does not feed it uses it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

MAX_TRACE_DEPTH: Final = 32
MAX_VALUES: Final = 256
MAX_PATH_CHARS: Final = 4096
DT_STRING: Final = 7
PLACEHOLDERS: Final = frozenset({"Placeholder", "PlaceholderV2", "_Arg"})
PASS_THROUGH: Final = frozenset(
    {"Identity", "Snapshot", "Enter", "RefIdentity", "StopGradient", "EnsureShape",
     "ShardedFilename", "ShardedFilespec", "PlaceholderWithDefault"}
)  # fmt: skip
EITHER: Final = frozenset({"Select", "SelectV2", "Pack"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")


def text(value: str | bytes) -> str:
    """A string field as text (bytes fields and invalid UTF-8 are decoded with replacement)."""
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def leaves_model(path: str, *, piece: bool = False) -> bool:
    """True if ``path`` is absolute, remote, or climbs out of the directory it is relative to.

    A ``piece`` is a constant somewhere inside a longer path, where only a ``..`` segment or a
    NUL can move it; the start of a path (a whole value, or the constant head of a fed one)
    also leaves the model when absolute or a URL.
    """
    if "\x00" in path or ".." in _SEPARATORS.split(path):
        return True
    if piece:
        return False
    return path.startswith(("/", "\\")) or bool(_DRIVE.match(path)) or "://" in path


@dataclass
class Scope:
    """The nodes of one graph or function body, and the asset-path nodes its loader feeds."""

    where: str
    nodes: Any
    assets: frozenset[str] = field(default_factory=frozenset)
    memo: dict[tuple[str, bool], Traced] = field(default_factory=dict)

    @cached_property
    def index(self) -> dict[str, Any]:
        return {node.name: node for node in self.nodes}


@dataclass(frozen=True)
class Traced:
    """What a path input can be: constant values, or constants around a fed path."""

    values: tuple[str, ...] | None = None
    heads: tuple[str, ...] = ()
    pieces: tuple[str, ...] = ()
    computed_by: str | None = None


FED: Final = Traced()
TOO_MANY: Final = Traced(computed_by="more constants than are followed")


def node_name(ref: str) -> str:
    """The node an input reference names (``^ctrl``, ``node:0``, ``node:output:0``)."""
    return ref.lstrip("^").split(":", 1)[0]


def const_strings(node: Any) -> list[bytes] | None:
    """The elements of a string ``Const`` (``tensor_content`` included), None if not one."""
    value = node.attr.get("value")
    if value is None or value.WhichOneof("value") != "tensor":
        return None
    tensor = value.tensor
    if tensor.dtype != DT_STRING:
        return None
    if tensor.string_val or not tensor.tensor_content:
        return list(tensor.string_val)
    count = 1
    for dim in tensor.tensor_shape.dim:
        count *= max(dim.size, 0)
    return _decode_string_list(tensor.tensor_content, count)


def _decode_string_list(data: bytes, count: int) -> list[bytes] | None:
    """TensorFlow's string-tensor encoding: ``count`` varint lengths, then the bytes.

    Each length takes at least one byte, so a huge ``count`` stops at the end of ``data``.
    """
    from modelward.engine.identify.protowire import WireError, read_varint

    pos, lengths = 0, []
    try:
        for _ in range(count):
            length, pos = read_varint(data, pos)
            lengths.append(length)
    except WireError:
        return None
    items = []
    for length in lengths:
        if pos + length > len(data):
            return None
        items.append(data[pos : pos + length])
        pos += length
    return items


def _data_inputs(node: Any) -> list[str]:
    return [i for i in node.input if not i.startswith("^")]


def trace(scope: Scope, ref: str, *, assets_fed: bool = False, depth: int = 0) -> Traced:
    """Follow the path input ``ref`` back to constants or fed tensors.

    Results are memoised per scope, so shared sub-paths are followed once; a cycle or a chain
    longer than ``MAX_TRACE_DEPTH`` is not followed.
    """
    name = node_name(ref)
    node = scope.index.get(name)
    if node is None or (assets_fed and name in scope.assets):
        return FED  # a function argument, or an asset path the loader feeds
    key = (name, assets_fed)
    if key in scope.memo:
        return scope.memo[key]
    if depth > MAX_TRACE_DEPTH:
        return Traced(computed_by="a chain too long to follow")
    scope.memo[key] = Traced(computed_by=f"a cycle through node {name!r}")
    scope.memo[key] = result = _trace_node(scope, node, assets_fed, depth)
    return result


def _trace_node(scope: Scope, node: Any, assets_fed: bool, depth: int) -> Traced:
    op, inputs = node.op, _data_inputs(node)

    def follow(refs: list[str]) -> list[Traced]:
        return [trace(scope, r, assets_fed=assets_fed, depth=depth + 1) for r in refs]

    if op == "Const":
        return _constant(node)
    if op in PLACEHOLDERS:
        return FED
    if op in PASS_THROUGH:
        return follow(inputs[:1])[0] if inputs else FED
    if op == "StringJoin":
        separator = node.attr["separator"].s if "separator" in node.attr else b""
        return _join(follow(inputs), text(separator))
    if op in EITHER:
        return _either(follow(inputs if op == "Pack" else inputs[1:3]))
    return Traced(computed_by=f"{op} node {text(node.name)!r}")


def _constant(node: Any) -> Traced:
    strings = const_strings(node)
    if strings is None:
        dtype = node.attr["value"].tensor.dtype if "value" in node.attr else 0
        return Traced(computed_by="an undecodable string constant") if dtype == DT_STRING else FED
    if len(strings) > MAX_VALUES:
        return TOO_MANY
    return Traced(values=tuple(text(s) for s in strings))


def _bounded(
    values: tuple[str, ...] | None, heads: tuple[str, ...], pieces: tuple[str, ...]
) -> Traced:
    """A ``Traced`` whose sets stay small enough to check; past that, not followed."""
    if max(len(values or ()), len(heads), len(pieces)) > MAX_VALUES:
        return TOO_MANY
    return Traced(values=values, heads=heads, pieces=pieces)


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _pieces(parts: list[Traced]) -> tuple[str, ...]:
    return _unique([v for p in parts for v in (*(p.values or ()), *p.pieces)])


def _join(parts: list[Traced], separator: str) -> Traced:
    computed = next((p for p in parts if p.computed_by), None)
    if computed is not None or not parts:
        return computed or FED
    if all(p.values is not None for p in parts):
        combos = itertools.islice(
            itertools.product(*(p.values or () for p in parts)), MAX_VALUES + 1
        )
        values = tuple(separator.join(c) for c in combos)
        if any(len(v) > MAX_PATH_CHARS for v in values):
            return Traced(computed_by=f"a join longer than {MAX_PATH_CHARS} characters")
        return _bounded(values, (), _pieces(parts))
    first = parts[0]
    heads = first.values if first.values is not None else first.heads
    return _bounded(None, heads, _pieces(parts))


def _either(parts: list[Traced]) -> Traced:
    computed = next((p for p in parts if p.computed_by), None)
    if computed is not None or not parts:
        return computed or FED
    if all(p.values is not None for p in parts):
        return _bounded(_unique([v for p in parts for v in p.values or ()]), (), _pieces(parts))
    heads = [h for p in parts for h in (p.values if p.values is not None else p.heads)]
    return _bounded(None, _unique(heads), _pieces(parts))

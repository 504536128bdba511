"""The rules: which reads of a parsed template reach Python objects a chat template has no use for.

* A key (``x.name``, ``x[key]``, ``|attr``, ``map(attribute=)``, ``selectattr``, ...) that is or
  may fold to a name the sandbox refuses (``_...``, ``mro``, frame/code/generator attributes)
  is high, however the name was built.
* Filters that read attributes by a name known only at render time are high.
* ``x[key]`` with a key that may be any string can reach any attribute of ``x`` (Jinja falls back
  to ``getattr``). Its value is *opaque*: printing, testing or comparing it is low; calling it,
  reading from it, or storing it somewhere that is later used that way is high (``uses``).
* ``str.format`` reaches attributes through its fields: calling it is high unless the format
  string is a literal whose fields only substitute arguments.
* Calls of methods the immutable sandbox refuses (``append``, ``pop``, ``update``) are low: they
  change the caller's data but reach nothing new. Loading other templates is medium, and so is
  reading a variable named like an interpreter internal (``__builtins__``), which Jinja only
  looks up in the render context.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from jinja2 import nodes

from modelward.engine.facts import Severity
from modelward.engine.scan.templates.flow import Flow
from modelward.engine.scan.templates.uses import Opaque, judge_uses, show
from modelward.engine.scan.templates.values import (
    FORMATTERS,
    MUTATING,
    format_fields_safe,
    unsafe_name,
)

#: Filters that read an attribute of each item: (positional index of the name, keyword).
ATTRIBUTE_FILTERS: Final = {
    "attr": (0, "name"), "selectattr": (0, None), "rejectattr": (0, None),
    "map": (None, "attribute"), "sort": (2, "attribute"), "groupby": (0, "attribute"),
    "sum": (0, "attribute"), "unique": (1, "attribute"), "min": (1, "attribute"),
    "max": (1, "attribute"), "join": (1, "attribute"),
}  # fmt: skip
#: Filters that read attributes by name, ``map`` included (it applies any of them).
READERS: Final = frozenset({*ATTRIBUTE_FILTERS, "map"})
LOADERS: Final = (nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)


@dataclass(frozen=True)
class Issue:
    kind: str
    severity: Severity
    reason: str


def judge(flow: Flow) -> list[Issue]:
    """Every issue of the template, the opaque reads judged by how their values are used."""
    issues: list[Issue] = []
    opaque: list[Opaque] = []
    for node in flow.order:
        issues.extend(_node_issues(flow, node, opaque))
    issues.extend(judge_uses(flow, opaque))
    return issues


def _node_issues(flow: Flow, node: nodes.Node, opaque: list[Opaque]) -> Iterator[Issue]:
    if isinstance(node, nodes.NSRef):
        yield from _key(flow, node, [node.attr], literal=True)
    elif isinstance(node, nodes.Getattr):
        yield from _key(flow, node, [node.attr], literal=True)
        if node.attr in FORMATTERS and not _safe_format_call(flow, node):
            opaque.append(Opaque(node, f"str.{node.attr} of {show(node.node)}", False))
    elif isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Slice):
        value = flow.ev(node.arg)
        yield from _key(flow, node, value.strings(), literal=isinstance(node.arg, nodes.Const))
        if value.open_string:
            opaque.append(Opaque(node, f"{show(node)} (a key known only at render time)", True))
        elif FORMATTERS & set(value.strings()):
            opaque.append(Opaque(node, f"str.format through {show(node)}", False))
    elif isinstance(node, nodes.Filter):
        yield from _filter(flow, node, opaque)
    elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        if node.node.attr in MUTATING:
            yield Issue(
                "mutation",
                "low",
                f"line {node.lineno}: calls {show(node.node)}(), which changes the caller's "
                "data (a sandboxed renderer refuses it)",
            )
    elif isinstance(node, nodes.Name) and node.ctx == "load" and _dunder(node.name):
        if "v:" + node.name not in flow.bindings and node.name not in flow.macros:
            yield Issue(
                "internal_name",
                "medium",
                f"line {node.lineno}: reads {node.name!r}, named like an interpreter internal "
                "(Jinja resolves it from the render context only)",
            )
    elif isinstance(node, LOADERS):
        yield Issue(
            "include",
            "medium",
            f"line {node.lineno}: loads another template ({type(node).__name__.lower()})",
        )


def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _key(flow: Flow, node: nodes.Node, names: list[str], *, literal: bool) -> Iterator[Issue]:
    bad = [n for n in names if unsafe_name(n)]
    if bad:
        how = "names" if literal else "builds the name"
        yield Issue(
            "ssti",
            "high",
            f"line {node.lineno}: {show(node)} {how} {bad[0]!r}, an interpreter internal a "
            "sandbox refuses",
        )


def _safe_format_call(flow: Flow, node: nodes.Getattr) -> bool:
    parent = flow.parent.get(id(node))
    if not (isinstance(parent, nodes.Call) and parent.node is node):
        return False
    receiver = flow.ev(node.node)
    texts = receiver.strings()
    return (
        receiver.exact
        and len(texts) == len(receiver.consts)
        and all(format_fields_safe(t) for t in texts)
    )


def _filter(flow: Flow, node: nodes.Filter, opaque: list[Opaque]) -> Iterator[Issue]:
    if node.name in READERS and (node.dyn_args or node.dyn_kwargs):
        yield _computed(node, "takes its arguments from a value (*args/**kwargs)")
    if node.name == "map" and node.args:
        chosen = flow.ev(node.args[0])
        if chosen.open_string:
            yield _computed(node, "applies a filter chosen at render time")
            return
        if not READERS.intersection(chosen.strings()):
            return
        # map('attr', name), map('sort', ...): every other argument may name an attribute
        names = [*node.args[1:], *(kw.value for kw in node.kwargs)]
    else:
        names = list(_attribute_args(node))
    for expr in names:
        value = flow.ev(expr)
        parts = [p for s in value.strings() for p in s.split(".")]
        yield from _key(flow, node, parts, literal=isinstance(expr, nodes.Const))
        if value.open_string:
            yield _computed(node, "reads attributes by a name known only at render time")
        elif node.name == "attr" and FORMATTERS & set(parts):
            opaque.append(Opaque(node, f"str.format through {show(node)}", False))


def _attribute_args(node: nodes.Filter) -> Iterator[nodes.Expr]:
    spec = ATTRIBUTE_FILTERS.get(node.name)
    if spec is None:
        return
    position, keyword = spec
    if position is not None and len(node.args) > position:
        yield node.args[position]
    for kw in node.kwargs:
        if kw.key == keyword:
            yield kw.value


def _computed(node: nodes.Node, what: str) -> Issue:
    return Issue("dynamic_attribute", "high", f"line {node.lineno}: {show(node)} {what}")

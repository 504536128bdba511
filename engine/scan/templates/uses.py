"""Where the value of an opaque read goes: into the output (harmless) or on into Python.

An opaque read is ``x[key]`` with a key that may be any string, or ``str.format`` not called on
a safe literal: it may yield any attribute of ``x``. Reaching further takes a second step from
that value: reading from it, calling it, iterating its parts. The value is followed up the
syntax tree through operators, ``default``, containers and ``set``/``for``/macro/``namespace``
bindings (every read of a bound name is followed too); printing, testing, comparing or turning
it into a string ends the trail. Anything else is high.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from jinja2 import nodes

from modelward.engine.scan.templates.fold import NUMERIC, TEXTUAL

if TYPE_CHECKING:
    from modelward.engine.scan.templates.flow import Flow
    from modelward.engine.scan.templates.rules import Issue

MAX_UP: Final = 256
TERMINAL: Final = (
    nodes.Output, nodes.Test, nodes.Compare, nodes.Operand, nodes.Not, nodes.Concat, nodes.Slice,
    nodes.ExprStmt, nodes.If, nodes.FilterBlock, nodes.Include, nodes.Import, nodes.FromImport,
    nodes.Extends,
)  # fmt: skip
CARRIERS: Final = (
    nodes.And, nodes.Or, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod,
    nodes.Pow, nodes.Neg, nodes.Pos, nodes.MarkSafe, nodes.MarkSafeIfAutoescape, nodes.List,
    nodes.Tuple, nodes.Dict, nodes.Pair, nodes.Keyword,
)  # fmt: skip
#: Filters whose result holds items of their input.
ITEM_FILTERS: Final = frozenset({
    "first", "last", "list", "reverse", "unique", "sort", "min", "max", "random", "batch", "slice",
    "items", "dictsort", "select", "reject", "default", "d",
})  # fmt: skip
#: Filters whose arguments only shape a string, a number or a test.
ARGUMENT_SAFE: Final = (TEXTUAL | NUMERIC | {"select", "reject", "selectattr", "rejectattr"}) - {
    "int",  # int(default=...) and float(default=...) return their argument
    "float",
}
#: Methods that only read their arguments as strings, numbers or keys.
READING_METHODS: Final = frozenset({
    "startswith", "endswith", "split", "rsplit", "join", "replace", "strip", "lstrip", "rstrip",
    "find", "rfind", "index", "rindex", "count", "format", "removeprefix", "removesuffix",
    "partition", "rpartition", "center", "ljust", "rjust", "zfill",
})  # fmt: skip
RETURNING_METHODS: Final = frozenset({"get", "pop", "setdefault", "cycle"})
TERMINAL_CALLS: Final = frozenset({"raise_exception", "strftime_now", "range"})

Use = tuple[str, str, list[str]]  # (pass | ok | bad | bind, what happens, bound keys)
PASS: Final[Use] = ("pass", "", [])
OK: Final[Use] = ("ok", "", [])


@dataclass(frozen=True)
class Opaque:
    node: nodes.Node
    what: str
    report: bool  # a low issue when the value is only printed or tested
    via: str = ""  # the binding it was read through
    origin: int = 0  # id of the read that produced it (0: this node)


def judge_uses(flow: Flow, opaque: list[Opaque]) -> list[Issue]:
    """High issues for opaque values used as objects; one low issue for those only printed."""
    from modelward.engine.scan.templates.rules import Issue

    issues: list[Issue] = []
    quiet: dict[int, Opaque] = {}
    bad: set[int] = set()
    work = list(reversed(opaque))
    seen: set[str] = set()
    while work:
        item = work.pop()
        origin = item.origin or id(item.node)
        kind, detail, keys = _use(flow, item.node)
        if kind == "bad":
            reason = f"line {item.node.lineno}: {item.what}{item.via} {detail}"
            issues.append(Issue("dynamic_attribute", "high", reason))
            bad.add(origin)
        elif kind == "bind":
            via = f", kept in {', '.join(k.split(':', 1)[1] for k in keys)},"
            for key in (k for k in keys if k not in seen):
                seen.add(key)
                loads = flow.loads.get(key, [])
                work.extend(Opaque(n, item.what, item.report, via, origin) for n in loads)
        elif item.report:
            quiet.setdefault(origin, item)
    printed = [item for origin, item in quiet.items() if origin not in bad]
    if printed:
        first = printed[0]
        issues.append(
            Issue(
                "dynamic_key",
                "low",
                f"{len(printed)} read(s) by a key known only at render time, whose values are "
                f"only printed or tested (first: line {first.node.lineno}: {first.what})",
            )
        )
    return issues


def _use(flow: Flow, node: nodes.Node) -> Use:
    cur = node
    for _ in range(MAX_UP):
        parent = flow.parent.get(id(cur))
        if parent is None:
            return OK
        use = _role(flow, parent, cur)
        if use[0] != "pass":
            return use
        cur = parent
    return ("bad", "is nested too deeply to follow", [])


def _role(flow: Flow, parent: nodes.Node, cur: nodes.Node) -> Use:
    if isinstance(parent, nodes.Getitem):
        return OK if cur is parent.arg else ("bad", "is looked into", [])
    if isinstance(parent, nodes.Getattr):
        return ("bad", f"has its attribute {parent.attr!r} read", [])
    if isinstance(parent, nodes.CondExpr):
        return OK if cur is parent.test else PASS
    if isinstance(parent, CARRIERS):
        return PASS
    if isinstance(parent, TERMINAL):
        return OK
    if isinstance(parent, nodes.Filter):
        return _filter_role(parent, cur)
    if isinstance(parent, nodes.Call):
        return _call_role(flow, parent, cur)
    return _binding_role(parent, cur)


def _filter_role(parent: nodes.Filter, cur: nodes.Node) -> Use:
    if cur is not parent.node:
        return OK if parent.name in ARGUMENT_SAFE else PASS
    if parent.name in TEXTUAL | NUMERIC:
        return OK
    named = any(kw.key == "attribute" for kw in parent.kwargs)
    if parent.name in ITEM_FILTERS and not named:
        return PASS
    chosen = parent.args[0] if parent.name == "map" and parent.args else None
    if isinstance(chosen, nodes.Const) and chosen.value in TEXTUAL | NUMERIC:
        return OK
    return ("bad", f"is passed to the {parent.name} filter", [])


def _call_role(flow: Flow, call: nodes.Call, cur: nodes.Node) -> Use:
    if cur is call.node:
        return ("bad", "is called", [])
    callee = call.node
    keyword = cur.key if isinstance(cur, nodes.Keyword) else None
    if isinstance(callee, nodes.Getattr):
        if callee.attr in READING_METHODS:
            return OK
        return (
            PASS
            if callee.attr in RETURNING_METHODS
            else ("bad", f"is passed to .{callee.attr}()", [])
        )
    if not isinstance(callee, nodes.Name) or cur is call.dyn_args or cur is call.dyn_kwargs:
        return ("bad", "is passed to a call", [])
    if callee.name in flow.macros:
        return ("bind", "", _parameters(flow, callee.name, call, cur, keyword))
    if callee.name in TERMINAL_CALLS:
        return OK
    owner = flow.parent.get(id(call))
    if (
        callee.name == "namespace"
        and keyword
        and isinstance(owner, nodes.Assign)
        and isinstance(owner.target, nodes.Name)
        and owner.node is call
    ):
        return ("bind", "", [f"a:{owner.target.name}.{keyword}"])
    return ("bad", f"is passed to {callee.name}()", [])


def _parameters(
    flow: Flow, macro: str, call: nodes.Call, cur: nodes.Node, keyword: str | None
) -> list[str]:
    if keyword is not None:
        return ["v:" + keyword, "v:kwargs"]
    index = _position(call.args, cur) or 0
    names = {m.args[index].name if index < len(m.args) else "varargs" for m in flow.macros[macro]}
    return ["v:" + name for name in sorted(names)]


def _binding_role(parent: nodes.Node, cur: nodes.Node) -> Use:
    if isinstance(parent, nodes.Assign):
        return ("bind", "", _targets(parent.target))
    if isinstance(parent, nodes.For):
        if cur is not parent.iter:
            return OK
        if _reads_neighbours(parent):
            return ("bad", "is iterated with loop.previtem/nextitem", [])
        return ("bind", "", _targets(parent.target))
    if isinstance(parent, nodes.With) and _position(parent.values, cur) is not None:
        return ("bind", "", _targets(parent.targets[_position(parent.values, cur) or 0]))
    if isinstance(parent, nodes.Macro | nodes.CallBlock):
        index = _position(parent.defaults, cur)
        if index is not None:
            offset = len(parent.args) - len(parent.defaults)
            return ("bind", "", _targets(parent.args[offset + index]))
    return ("bad", f"is used by a {type(parent).__name__} node", [])


def _position(items: list[nodes.Expr], cur: nodes.Node) -> int | None:
    return next((i for i, item in enumerate(items) if item is cur), None)


def _targets(target: nodes.Node) -> list[str]:
    if isinstance(target, nodes.Name):
        return ["v:" + target.name]
    if isinstance(target, nodes.NSRef):
        return [f"a:{target.name}.{target.attr}"]
    if isinstance(target, nodes.Tuple | nodes.List):
        return [key for item in target.items for key in _targets(item)]
    return []


def _reads_neighbours(loop: nodes.For) -> bool:
    stack: list[nodes.Node] = [loop]
    while stack:
        node = stack.pop()
        if (
            isinstance(node, nodes.Getattr)
            and isinstance(node.node, nodes.Name)
            and node.node.name == "loop"
            and node.attr in ("previtem", "nextitem")
        ):
            return True
        stack.extend(node.iter_child_nodes())
    return False


def show(node: nodes.Node | None, depth: int = 0) -> str:
    """A short rendering of an expression for messages."""
    if node is None or depth > 6:
        return "…"
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Const):
        text = repr(node.value)
        return text if len(text) <= 40 else text[:37] + "…"
    if isinstance(node, nodes.Getattr | nodes.NSRef):
        base = node.name if isinstance(node, nodes.NSRef) else show(node.node, depth + 1)
        return f"{base}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{show(node.node, depth + 1)}[{show(node.arg, depth + 1)}]"
    if isinstance(node, nodes.Filter):
        return f"{show(node.node, depth + 1) if node.node else ''}|{node.name}"
    if isinstance(node, nodes.Call):
        return f"{show(node.node, depth + 1)}(…)"
    return f"({type(node).__name__.lower()})"

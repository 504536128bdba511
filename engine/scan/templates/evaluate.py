"""The abstract value of a Jinja expression, given the values of the template's bindings.

``Evaluator.state`` maps binding keys (``v:name``, ``a:namespace.attr``) to values; ``flow``
fills it. Reads that may see the render context, ``loop`` inside a loop, Jinja's globals and
``namespace`` objects are told apart here; everything not modelled is "anything" (``TOP``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple

from jinja2 import nodes

from modelward.engine.scan.templates.fold import apply_filter, apply_method
from modelward.engine.scan.templates.values import (
    BOTTOM,
    NUM,
    STR,
    TOP,
    Pairs,
    Val,
    arithmetic,
    concat,
    const,
    fold,
    subscript,
    union,
)

UNDEFINED: Final = const("")  # what an undefined value turns into in a key or a string
MAX_DEPTH: Final = 64
#: Attributes of Jinja's loop object that hold numbers or booleans.
LOOP_NUMBERS: Final = frozenset({
    "index", "index0", "revindex", "revindex0", "length", "depth", "depth0", "first", "last",
})  # fmt: skip
GLOBALS: Final = frozenset({"range", "namespace", "dict", "lipsum", "cycler", "joiner", "loop"})
_BINOPS: Final = {
    nodes.Add: "add", nodes.Sub: "sub", nodes.Mul: "mul", nodes.Div: "div",
    nodes.FloorDiv: "floordiv", nodes.Mod: "mod", nodes.Pow: "pow",
}  # fmt: skip


class TooComplex(Exception):
    """The template exceeds the analysis budget."""


class Source(NamedTuple):
    kind: str  # expr | each | block | param | top
    node: nodes.Node | None
    path: tuple[int, ...] = ()  # tuple unpacking: item indexes into the value
    name: str = ""  # param: the parameter's name


class Evaluator:
    """Values of expressions; memoised until the bindings change."""

    bindings: dict[str, list[Source]]
    macros: dict[str, list[nodes.Macro]]
    state: dict[str, Val]
    initialised: set[str]  # namespace attributes set by namespace(...)
    from_context: set[int]  # ids of reads that may see the render context
    loop_vars: set[int]  # ids of reads of ``loop`` inside a loop body
    shared: set[str]  # names whose value is also reachable under another name

    def __init__(self, max_steps: int) -> None:
        self._memo: dict[int, Val] = {}
        self._steps, self._depth = max_steps, 0

    def ns_key(self, node: nodes.Node) -> str | None:
        """``a:ns.attr`` for ``ns.attr`` / ``ns['attr']`` reads of a plain name."""
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
            return f"a:{node.node.name}.{node.attr}"
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(node.node, nodes.Name)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            return f"a:{node.node.name}.{node.arg.value}"
        return None

    def ev(self, node: nodes.Node | None) -> Val:
        """The abstract value of an expression under the current bindings."""
        if node is None:
            return UNDEFINED
        cached = self._memo.get(id(node))
        if cached is not None:
            return cached
        self._steps -= 1
        if self._steps < 0:
            raise TooComplex("expression values exceed the analysis budget")
        if self._depth > MAX_DEPTH:
            return TOP
        self._depth += 1
        try:
            value = self._ev(node)
        finally:
            self._depth -= 1
        self._memo[id(node)] = value
        return value

    def _ev(self, node: nodes.Node) -> Val:
        if isinstance(node, nodes.Const):
            return const(node.value)
        if isinstance(node, nodes.TemplateData):
            return const(node.data)
        if isinstance(node, nodes.Name):
            return self._name(node)
        if isinstance(node, nodes.Getattr):
            return self._getattr(node)
        if isinstance(node, nodes.Getitem):
            return self._getitem(node)
        if isinstance(node, nodes.Concat):
            return concat(tuple(self.ev(n) for n in node.nodes))
        if type(node) in _BINOPS:
            assert isinstance(node, nodes.BinExpr)
            return arithmetic(_BINOPS[type(node)], self.ev(node.left), self.ev(node.right))
        if isinstance(node, nodes.And | nodes.Or):
            return self.ev(node.left) | self.ev(node.right)
        if isinstance(node, nodes.CondExpr):
            return self.ev(node.expr1) | self.ev(node.expr2)
        if isinstance(node, nodes.Filter):
            return self._filter(node, self.ev(node.node) if node.node is not None else STR)
        if isinstance(node, nodes.Call):
            return self._call(node)
        return self._literal(node)

    def _literal(self, node: nodes.Node) -> Val:
        if isinstance(node, nodes.List | nodes.Tuple):
            return _product([self.ev(i) for i in node.items], tuple)
        if isinstance(node, nodes.Dict):
            flat = [self.ev(x) for pair in node.items for x in (pair.key, pair.value)]
            return _product(flat, lambda xs: Pairs(zip(xs[::2], xs[1::2], strict=True)))
        if isinstance(node, nodes.Neg | nodes.Pos):
            negate = isinstance(node, nodes.Neg)
            return fold(lambda v: _signed(v, negate), [self.ev(node.node)], NUM, kwargs={})
        if isinstance(node, nodes.Not | nodes.Compare | nodes.Test):
            return NUM
        if isinstance(node, nodes.Slice):
            return NUM
        if isinstance(node, nodes.MarkSafe | nodes.MarkSafeIfAutoescape):
            return self.ev(node.expr)
        return TOP

    def _name(self, node: nodes.Name) -> Val:
        value = self.state.get("v:" + node.name, BOTTOM)
        return value | TOP if id(node) in self.from_context else value

    def _builtin(self, name: str) -> bool:
        """A Jinja global the template never rebinds, for calls (the context holds no callables)."""
        return name in GLOBALS and "v:" + name not in self.bindings

    def _getattr(self, node: nodes.Getattr) -> Val:
        receiver = node.node
        if (
            isinstance(receiver, nodes.Name)
            and id(receiver) in self.loop_vars
            and self._builtin("loop")
        ):
            return NUM if node.attr in LOOP_NUMBERS else TOP
        namespace = self._namespace_attr(node)
        if namespace is not None:
            return namespace
        value = self.ev(receiver)
        if value.exact and all(isinstance(c, Pairs) for c in value.consts):
            return subscript(value, const(node.attr))
        return TOP

    def _getitem(self, node: nodes.Getitem) -> Val:
        namespace = self._namespace_attr(node)
        if namespace is not None:
            return namespace
        if isinstance(node.arg, nodes.Slice):
            bounds = [self.ev(n) for n in (node.arg.start, node.arg.stop, node.arg.step)]
            return fold(_slice, [self.ev(node.node), *bounds], TOP, kwargs={})
        return subscript(self.ev(node.node), self.ev(node.arg))

    def _namespace_attr(self, node: nodes.Node) -> Val | None:
        key = self.ns_key(node)
        if key is None or not self.is_namespace(node.node):  # type: ignore[attr-defined]
            return None
        if key.split(".", 1)[0] + ".*" in self.state:
            return TOP
        extra = BOTTOM if key in self.initialised else UNDEFINED
        return self.state.get(key, BOTTOM) | extra

    def is_namespace(self, name: nodes.Node) -> bool:
        """A name only ever bound to ``namespace(...)``, read after that, never aliased."""
        if not isinstance(name, nodes.Name) or id(name) in self.from_context:
            return False
        if name.name in self.shared:
            return False
        sources = self.bindings.get("v:" + name.name, [])
        return (
            bool(sources)
            and self._builtin("namespace")
            and all(
                s.kind == "expr" and is_call_to(s.node, "namespace") and not s.path for s in sources
            )
        )

    def _filter(self, node: nodes.Filter, value: Val) -> Val:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            return TOP
        args = [self.ev(a) for a in node.args]
        kwargs = {_keyword(kw): self.ev(kw.value) for kw in node.kwargs}
        return apply_filter(node.name, value, args, kwargs)

    def _call(self, node: nodes.Call) -> Val:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            return TOP
        callee = node.node
        args = [self.ev(a) for a in node.args]
        kwargs = {kw.key: self.ev(kw.value) for kw in node.kwargs}
        if isinstance(callee, nodes.Name):
            if callee.name in self.macros:
                return STR  # a macro call renders text
            if not self._builtin(callee.name):
                return TOP
            if callee.name == "dict":
                flat = [v for key, val in kwargs.items() for v in (const(key), val)]
                return _product(flat, lambda xs: Pairs(zip(xs[::2], xs[1::2], strict=True)))
            return {"range": NUM, "lipsum": STR}.get(callee.name, TOP)
        if isinstance(callee, nodes.Getattr):
            if id(callee.node) in self.loop_vars and self._builtin("loop"):
                return union(args) if callee.attr == "cycle" else TOP
            return apply_method(self.ev(callee.node), callee.attr, args, kwargs)
        return TOP


def _product(vals: list[Val], build: Callable[[tuple[object, ...]], object]) -> Val:
    """A container literal: every combination of exact items, else an unknown container."""
    return fold(lambda *xs: build(xs), vals, TOP, kwargs={})


def _signed(value: object, negate: bool) -> object:
    if not isinstance(value, int | float):
        raise TypeError("not a number")
    return -value if negate else +value


def _slice(seq: object, start: object, stop: object, step: object) -> object:
    if not isinstance(seq, tuple | str) or isinstance(seq, Pairs):
        raise TypeError("not a literal sequence")
    bounds: list[Any] = [None if b == "" else b for b in (start, stop, step)]
    return seq[slice(*bounds)]


def _keyword(pair: nodes.Node) -> str:
    """A filter's keyword name (typed as a ``Pair`` by Jinja, built as a ``Keyword``)."""
    return pair.key if isinstance(pair, nodes.Keyword) else ""


def is_call_to(node: nodes.Node | None, name: str) -> bool:
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name == name
    )

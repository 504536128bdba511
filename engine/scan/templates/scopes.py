"""Which names a template reads before it assigns them, following Jinja's scoping in document order.

A name the template sets is still read from the render context where no assignment in scope has
run yet (``{% if x is not defined %}{% set x = ... %}``, a read above the ``set``, a ``set``
inside one branch only). Such reads may see whatever the caller passes, so their value is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable

from jinja2 import nodes

Names = frozenset[str]


class Reads:
    """Walks statements in order; records context reads and reads of ``loop`` inside a loop."""

    def __init__(self) -> None:
        self.from_context: set[int] = set()
        self.loop_vars: set[int] = set()

    def body(self, stmts: Iterable[nodes.Node], defined: Names, in_loop: bool) -> Names:
        for stmt in stmts:
            defined = self.stmt(stmt, defined, in_loop)
        return defined

    def expr(self, node: nodes.Node | None, defined: Names, in_loop: bool) -> None:
        stack = [node] if node is not None else []
        while stack:
            cur = stack.pop()
            if isinstance(cur, nodes.Name) and cur.ctx == "load":
                if cur.name not in defined:
                    self.from_context.add(id(cur))
                if cur.name == "loop" and in_loop:
                    self.loop_vars.add(id(cur))
            stack.extend(cur.iter_child_nodes())

    def exprs(self, items: Iterable[nodes.Node], defined: Names, in_loop: bool) -> None:
        for item in items:
            self.expr(item, defined, in_loop)

    def stmt(self, node: nodes.Node, defined: Names, in_loop: bool) -> Names:
        if isinstance(node, nodes.Output):
            self.exprs(node.nodes, defined, in_loop)
        elif isinstance(node, nodes.Assign):
            self.expr(node.node, defined, in_loop)
            return defined | stored(node.target)
        elif isinstance(node, nodes.AssignBlock):
            self.body(node.body, defined, in_loop)
            self.expr(node.filter, defined, in_loop)
            return defined | stored(node.target)
        elif isinstance(node, nodes.If):
            return self._if(node, defined, in_loop)
        elif isinstance(node, nodes.For):
            self.expr(node.iter, defined, in_loop)
            inner = defined | stored(node.target)
            self.expr(node.test, inner, False)
            self.body(node.body, inner, True)
            self.body(node.else_, defined, in_loop)
        elif isinstance(node, nodes.Macro | nodes.CallBlock):
            return self._macro(node, defined, in_loop)
        elif isinstance(node, nodes.With):
            self.exprs(node.values, defined, in_loop)
            self.body(node.body, defined | _union(stored(t) for t in node.targets), in_loop)
        else:
            return self._other(node, defined, in_loop)
        return defined

    def _if(self, node: nodes.If, defined: Names, in_loop: bool) -> Names:
        self.expr(node.test, defined, in_loop)
        branches = [self.body(node.body, defined, in_loop)]
        for elif_ in node.elif_:
            self.expr(elif_.test, defined, in_loop)
            branches.append(self.body(elif_.body, defined, in_loop))
        if not node.else_:
            return defined
        branches.append(self.body(node.else_, defined, in_loop))
        return frozenset.intersection(*branches)

    def _macro(self, node: nodes.Macro | nodes.CallBlock, defined: Names, in_loop: bool) -> Names:
        self.exprs(node.defaults, defined, in_loop)
        outer = defined | {node.name} if isinstance(node, nodes.Macro) else defined
        if isinstance(node, nodes.CallBlock):
            self.expr(node.call, defined, in_loop)
        self.body(node.body, outer | _union(stored(a) for a in node.args), False)
        return outer

    def _other(self, node: nodes.Node, defined: Names, in_loop: bool) -> Names:
        if isinstance(node, nodes.FilterBlock):
            self.expr(node.filter, defined, in_loop)
            self.body(node.body, defined, in_loop)
        elif isinstance(node, nodes.Scope | nodes.ScopedEvalContextModifier):
            self.body(node.body, defined, in_loop)
        elif isinstance(node, nodes.Block):
            self.body(node.body, frozenset(), False)
        elif isinstance(node, nodes.Import):
            self.expr(node.template, defined, in_loop)
            return defined | {node.target}
        elif isinstance(node, nodes.ExprStmt):
            self.expr(node.node, defined, in_loop)
        elif isinstance(node, nodes.Include | nodes.Extends):
            self.expr(node.template, defined, in_loop)
        elif isinstance(node, nodes.FromImport):
            self.expr(node.template, defined, in_loop)
            return defined | {n if isinstance(n, str) else n[1] for n in node.names}
        elif not isinstance(node, nodes.Continue | nodes.Break):
            self.expr(node, frozenset(), False)  # anything else: every read may be the context's
        return defined


def stored(target: nodes.Node) -> Names:
    """Names a ``set``/``for``/macro target binds."""
    if isinstance(target, nodes.Name):
        return frozenset({target.name})
    if isinstance(target, nodes.Tuple | nodes.List):
        return _union(stored(item) for item in target.items)
    return frozenset()


def _union(sets: Iterable[Names]) -> Names:
    out: Names = frozenset()
    for item in sets:
        out |= item
    return out

"""Where a template's names get their values (``evaluate`` gives values of expressions).

Every binding (``set``, ``for`` targets, ``with``, macro parameters from their call sites,
``namespace`` attributes) is collected without regard to order; a read that may run before any
assignment in scope also sees the render context (``scopes``). Values are computed to a
bounded fixpoint: names still growing after a few rounds widen to "anything". A namespace that
is aliased or passed on has unknown attributes; if the template can reach a method that changes
lists or dicts in place, no folded list or dict is trusted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Final

from jinja2 import nodes

from modelward.engine.scan.templates.evaluate import (
    UNDEFINED,
    Evaluator,
    Source,
    TooComplex,
    is_call_to,
)
from modelward.engine.scan.templates.scopes import Reads
from modelward.engine.scan.templates.values import (
    BOTTOM,
    MUTATING,
    STR,
    TOP,
    Val,
    component,
    concat,
    elements,
    union,
)

__all__ = ["Flow", "TooComplex"]

ROUNDS: Final = 8


class Flow(Evaluator):
    """Parents, bindings and values of one parsed template."""

    def __init__(self, tree: nodes.Template, max_nodes: int, max_steps: int) -> None:
        super().__init__(max_steps)
        self.parent: dict[int, nodes.Node] = {}
        self.order: list[nodes.Node] = []
        self.bindings: dict[str, list[Source]] = defaultdict(list)
        self.loads: dict[str, list[nodes.Node]] = defaultdict(list)
        self.macros: dict[str, list[nodes.Macro]] = defaultdict(list)
        self.calls: dict[str, list[nodes.Call]] = defaultdict(list)
        self.state: dict[str, Val] = {}
        self.initialised: set[str] = set()
        self.mutable = False
        self._index(tree, max_nodes)
        reads = Reads()
        reads.body(tree.body, frozenset(), False)
        self.from_context, self.loop_vars = reads.from_context, reads.loop_vars
        for node in self.order:
            self._collect(node)
        self.shared = self._shared_namespaces()
        judging = 8 * len(self.order)  # once solved, each expression is evaluated once
        self._solve(max_steps)
        self._steps = judging
        if not self.mutable and self._mutates():
            self.mutable = True  # folded lists and dicts may change in place: solve again
            self._solve(max_steps)
            self._steps = judging

    def _index(self, tree: nodes.Template, max_nodes: int) -> None:
        stack: list[nodes.Node] = [tree]
        while stack:
            node = stack.pop()
            self.order.append(node)
            if len(self.order) > max_nodes:
                raise TooComplex(f"more than {max_nodes} syntax nodes")
            children = list(node.iter_child_nodes())
            for child in children:
                self.parent[id(child)] = node
            stack.extend(reversed(children))

    # ------------------------------------------------------------ bindings

    def _bind(self, target: nodes.Node, source: Source) -> None:
        if isinstance(target, nodes.Name):
            self.bindings["v:" + target.name].append(source)
        elif isinstance(target, nodes.NSRef):
            self.bindings[f"a:{target.name}.{target.attr}"].append(source)
        elif isinstance(target, nodes.Tuple | nodes.List):
            for i, item in enumerate(target.items):
                self._bind(item, source._replace(path=(*source.path, i)))

    def _collect(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Assign):
            self._bind(node.target, Source("expr", node.node))
            self._namespace_attrs(node)
        elif isinstance(node, nodes.AssignBlock):
            self._bind(node.target, Source("block", node))
        elif isinstance(node, nodes.For):
            self._bind(node.target, Source("top" if node.recursive else "each", node.iter))
        elif isinstance(node, nodes.With):
            for target, value in zip(node.targets, node.values, strict=False):
                self._bind(target, Source("expr", value))
        elif isinstance(node, nodes.Macro):
            self.macros[node.name].append(node)
            for arg in node.args:
                self._bind(arg, Source("param", node, name=arg.name))
        elif isinstance(node, nodes.CallBlock):
            for arg in node.args:
                self._bind(arg, Source("top", None))
        elif isinstance(node, nodes.Import | nodes.FromImport):
            for name in _imported(node):
                self.bindings["v:" + name].append(Source("top", None))
        else:
            self._collect_read(node)

    def _collect_read(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Name) and node.ctx == "load":
            self.loads["v:" + node.name].append(node)
            parent = self.parent.get(id(node))
            if isinstance(parent, nodes.Call) and parent.node is node:
                self.calls[node.name].append(parent)
            else:
                self.loads["ref:" + node.name].append(node)
        key = self.ns_key(node)
        if key is not None:
            self.loads[key].append(node)

    def _namespace_attrs(self, node: nodes.Assign) -> None:
        call = node.node
        if not (isinstance(node.target, nodes.Name) and is_call_to(call, "namespace")):
            return
        assert isinstance(call, nodes.Call)
        name = node.target.name
        for kw in call.kwargs:
            self.bindings[f"a:{name}.{kw.key}"].append(Source("expr", kw.value))
            self.initialised.add(f"a:{name}.{kw.key}")
        if call.args or call.dyn_args or call.dyn_kwargs:
            self.bindings[f"a:{name}.*"].append(Source("top", None))

    # ------------------------------------------------------------ fixpoint

    def _solve(self, budget: int) -> None:
        """Values of every binding; past the step budget every binding is "anything"."""
        self.state = dict.fromkeys(self.bindings, BOTTOM)
        self._steps = budget
        try:
            for widen in (False, True):
                for _ in range(ROUNDS):
                    if not self._round(widen):
                        return  # the memo of the last round matches the final state
        except TooComplex:
            pass
        self.state = dict.fromkeys(self.bindings, TOP)
        self._memo.clear()

    def _round(self, widen: bool) -> bool:
        self._memo.clear()
        changed = False
        for key, sources in self.bindings.items():
            old = self.state[key]
            new = old | union(self._source(s) for s in sources)
            if self.mutable and any(isinstance(c, tuple) for c in new.consts):
                new = new | TOP  # a container that may have been changed in place
            if new != old:
                self.state[key] = new | TOP if widen else new
                changed = True
        return changed

    def _mutates(self) -> bool:
        """Whether the template can reach a method that changes a list or dict in place."""
        for node in self.order:
            if isinstance(node, nodes.Getattr) and node.attr in MUTATING:
                return True
            keys: list[nodes.Node] = []
            if isinstance(node, nodes.Getitem):
                keys = [node.arg]
            elif isinstance(node, nodes.Filter):
                keys = [*node.args, *(kw.value for kw in node.kwargs)]
            if any(MUTATING.intersection(self.ev(k).strings()) for k in keys):
                return True
        return False

    def _shared_namespaces(self) -> set[str]:
        """Names whose namespace object is also reachable another way (an alias, an argument)."""
        shared = set()
        for key, loads in self.loads.items():
            for load in loads if key.startswith("v:") else []:
                parent = self.parent.get(id(load))
                if not (isinstance(parent, nodes.Getattr | nodes.Getitem) and parent.node is load):
                    shared.add(key[2:])
        return shared

    def _source(self, source: Source) -> Val:
        if source.kind == "expr":
            value = self.ev(source.node)
        elif source.kind == "each":
            value = elements(self.ev(source.node))
        elif source.kind == "block":
            value = self._block(source.node)
        elif source.kind == "param":
            value = self._param(source.node, source.name)
        else:
            value = TOP
        for index in source.path:
            value = component(value, index)
        return value

    def _block(self, node: nodes.Node | None) -> Val:
        assert isinstance(node, nodes.AssignBlock)
        if all(isinstance(n, nodes.Output) for n in node.body):
            parts = [self.ev(p) for out in node.body for p in out.iter_child_nodes()]
            value = concat(tuple(parts))
        else:
            value = STR
        if node.filter is not None:
            value = self._filter(node.filter, value)
        return value

    def _param(self, node: nodes.Node | None, name: str) -> Val:
        assert isinstance(node, nodes.Macro)
        if self.loads.get("ref:" + node.name):
            return TOP  # the macro escapes as a value: callers unknown
        index = [a.name for a in node.args].index(name)
        first_default = len(node.args) - len(node.defaults)
        value = (
            self.ev(node.defaults[index - first_default]) if index >= first_default else UNDEFINED
        )
        for call in self.calls.get(node.name, []):
            value = value | self._argument(call, index, name)
        return value

    def _argument(self, call: nodes.Call, index: int, name: str) -> Val:
        if call.dyn_args is not None or call.dyn_kwargs is not None:
            return TOP
        if index < len(call.args):
            return self.ev(call.args[index])
        return union(self.ev(kw.value) for kw in call.kwargs if kw.key == name)


def _imported(node: nodes.Import | nodes.FromImport) -> list[str]:
    if isinstance(node, nodes.Import):
        return [node.target]
    return [n if isinstance(n, str) else n[1] for n in node.names]

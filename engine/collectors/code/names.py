"""Resolving Python expressions to dotted names through the file's imports and aliases."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from modelward.engine.collectors.code import calls

#: Nodes looked at below one expression when searching it (a bound on hostile expressions).
MAX_EXPRESSION_NODES = 2000


@dataclass
class Names:
    """What each local name stands for: ``sp`` -> ``subprocess``, ``system`` -> ``os.system``."""

    aliases: dict[str, str] = field(default_factory=dict)
    #: Names bound to decoded or chr()-built text (their use as code is hidden code).
    decoded: set[str] = field(default_factory=set)
    #: Modules imported relatively: (level, dotted module or "") and the names imported.
    relative: list[tuple[int, str]] = field(default_factory=list)
    #: Whether the source uses chr at all (most do not; chains are looked for only if so).
    uses_chr: bool = False

    def qualname(self, node: ast.expr) -> str | None:
        """The dotted name ``node`` refers to, or ``None`` when it is not a module path."""
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            base = self.aliases.get(node.id)
            if base is None and node.id in calls.BUILTINS:
                base = f"builtins.{node.id}"
        elif isinstance(node, ast.Call):
            base = self._call_result(node)
        else:
            return None
        if base is None:
            return None
        return ".".join([base, *reversed(attrs)]) if attrs else base

    def _call_result(self, node: ast.Call) -> str | None:
        """What ``__import__("os")``, ``importlib.import_module("os")`` or
        ``getattr(os, "system")`` evaluate to."""
        func = self.qualname(node.func)
        args = node.args
        if func in calls.DYNAMIC_IMPORT and args and _text(args[0]):
            return _text(args[0])
        if func == "builtins.getattr" and len(args) >= 2 and _text(args[1]):
            base = self.qualname(args[0])
            return f"{base}.{_text(args[1])}" if base else None
        return None

    def learn(self, tree: ast.Module, text: str = "") -> None:
        """Record imports first, then plain assignments of module paths and decoded text.

        Imports and assignments are statements, so only statement lists are walked."""
        self.uses_chr = self.uses_chr or "chr" in text
        assigns: list[ast.Assign] = []
        pending: list[ast.stmt] = list(tree.body)
        while pending:
            node = pending.pop()
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom):
                self._import_from(node)
            elif isinstance(node, ast.Assign):
                assigns.append(node)
            else:
                pending.extend(_statements(node))
        for node in sorted(assigns, key=lambda a: a.lineno):
            self._assign(node)

    def _import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.relative.append((node.level, module))
            if not module:  # from . import a, b: each is a module of the package
                self.relative.extend((node.level, a.name) for a in node.names)
            return
        for alias in node.names:
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"

    def _assign(self, node: ast.Assign) -> None:
        targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if not targets:
            return
        value = self.qualname(node.value) if isinstance(node.value, ast.Attribute) else None
        hidden = self.hides_code(node.value) if self._may_hide(node.value) else False
        for target in targets:
            if value and target not in self.aliases:
                self.aliases[target] = value
            if hidden:
                self.decoded.add(target)

    def _may_hide(self, value: ast.expr) -> bool:
        return isinstance(value, ast.Call | ast.BinOp | ast.Name)

    def hides_code(self, expr: ast.expr) -> bool:
        """``expr`` decodes text (base64, zlib, hex, marshal) or builds it from chr() calls."""
        for node in bounded_walk(expr):
            if isinstance(node, ast.Name) and node.id in self.decoded:
                return True
            if not isinstance(node, ast.Call):
                continue
            name = self.qualname(node.func)
            if name and calls.matches(name, calls.DECODERS):
                return True
            if isinstance(node.func, ast.Attribute) and node.func.attr in calls.DECODER_METHODS:
                return True
        return self.chr_count(expr) >= calls.CHR_CHAIN

    def chr_count(self, expr: ast.AST) -> int:
        """chr() calls in ``expr``; ``map(chr, ...)`` counts as a whole chain."""
        if not self.uses_chr:
            return 0
        count = 0
        for node in bounded_walk(expr):
            if isinstance(node, ast.Call):
                func = self.qualname(node.func)
                if func == "builtins.chr":
                    count += 1
                elif func == "builtins.map" and node.args:
                    count += calls.CHR_CHAIN * (self.qualname(node.args[0]) == "builtins.chr")
        return count


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _statements(node: ast.stmt) -> list[ast.stmt]:
    """The statements directly inside a compound statement (function, class, if, try, ...)."""
    out: list[ast.stmt] = []
    for name in _BODIES:
        block = getattr(node, name, None)
        if isinstance(block, list):
            for item in block:
                if isinstance(item, ast.stmt):
                    out.append(item)
                elif isinstance(item, ast.ExceptHandler | ast.match_case):
                    out.extend(item.body)
    return out


def bounded_walk(node: ast.AST, limit: int = MAX_EXPRESSION_NODES) -> list[ast.AST]:
    """The nodes below ``node`` (itself included), at most ``limit`` of them."""
    out: list[ast.AST] = []
    stack = [node]
    while stack and len(out) < limit:
        current = stack.pop()
        out.append(current)
        stack.extend(ast.iter_child_nodes(current))
    return out


def _text(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def constant_path(node: ast.expr | None, names: Names, depth: int = 0) -> str | None:
    """The path an expression names when it is built from constants (``~`` for the home
    folder; ``*`` stands for a part that is not constant); ``None`` when nothing is known."""
    if node is None or depth > 8:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [_text(v) if isinstance(v, ast.Constant) else "*" for v in node.values]
        return "".join(p or "*" for p in parts) or None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Div):
        left = constant_path(node.left, names, depth + 1)
        right = constant_path(node.right, names, depth + 1)
        if left is None:
            return None
        glue = "/" if isinstance(node.op, ast.Div) else ""
        return f"{left}{glue}{right if right is not None else '*'}"
    if isinstance(node, ast.Call):
        return _call_path(node, names, depth)
    return None


def _call_path(node: ast.Call, names: Names, depth: int) -> str | None:
    func = names.qualname(node.func) or ""
    if func in {"pathlib.Path.home", "os.path.expanduser"} and not node.args:
        return "~"
    parts = [constant_path(a, names, depth + 1) for a in node.args]
    if func in {"os.path.join", "posixpath.join", "pathlib.Path", "pathlib.PosixPath"}:
        if not parts or parts[0] is None:
            return None
        return "/".join(p if p is not None else "*" for p in parts)
    if func in {"os.path.expanduser", "os.path.abspath", "os.path.realpath"}:
        return parts[0] if parts else None
    if isinstance(node.func, ast.Attribute) and node.func.attr == "home":
        return "~" if names.qualname(node.func.value) == "pathlib.Path" else None
    return None

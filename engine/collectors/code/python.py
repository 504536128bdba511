"""Static analysis of one Python source with ``ast``: never imported, never executed.

Code at module level, in class bodies, decorators and default values runs when the module is
imported (or the notebook cell runs, or ``setup.py`` is executed); a function body runs only
when called. Findings in the first kind of code take the rule's ``import_severity``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from modelward.engine.collectors.code import calls
from modelward.engine.collectors.code.names import Names, constant_path
from modelward.engine.collectors.code.rules import finding
from modelward.engine.facts import Finding

#: How deep code passed to exec() as a string literal is analysed in turn.
MAX_NESTED = 2
LONG_ENCODED: Final = re.compile(r"[A-Za-z0-9+/=_\-]{1024,}")
LONG_STRING: Final = 100_000
_WRITE_MODE: Final = re.compile(r"[wax+]")


@dataclass
class PythonResult:
    findings: list[Finding] = field(default_factory=list)
    parsed: bool = True
    #: Relative imports: (level, dotted module), for the files trust_remote_code also loads.
    relative: list[tuple[int, str]] = field(default_factory=list)


def analyse_python(
    text: str,
    path: str,
    *,
    member: str | None = None,
    runs_main: bool = False,
    first_line: int = 1,
    top_runs: bool = True,
    nested: int = 0,
    names: Names | None = None,
) -> PythonResult:
    """Findings for ``text``; a source that cannot be parsed is a ``code.parse_error``.

    ``names`` carries imports from earlier notebook cells (the cells share one namespace)."""
    names = names if names is not None else Names()
    try:
        tree = ast.parse(text, filename=path)
        names.learn(tree, text)
        walker = _Walker(names, path, member, runs_main, first_line - 1, nested)
        walker.run(tree, top_runs)
    except SyntaxError as exc:
        line = (exc.lineno or 1) + first_line - 1
        reason = f"{exc.msg} (Python {_version()} cannot parse it, so it was not analysed)"
        return _unparsed(path, member, line, reason)
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        reason = f"{type(exc).__name__}: {str(exc)[:120] or 'nested too deeply'}; not analysed"
        return _unparsed(path, member, None, reason)
    return PythonResult(findings=walker.done(), relative=names.relative)


def _unparsed(path: str, member: str | None, line: int | None, reason: str) -> PythonResult:
    bad = finding("code.parse_error", path, line, reason, member=member)
    return PythonResult(findings=[bad], parsed=False)


def _version() -> str:
    import sys

    return f"{sys.version_info.major}.{sys.version_info.minor}"


class _Walker:
    """Walks the tree without recursion, knowing for each node whether it runs at import."""

    def __init__(
        self, names: Names, path: str, member: str | None, runs_main: bool, offset: int, nested: int
    ) -> None:
        self.names = names
        self.path = path
        self.member = member
        self.runs_main = runs_main
        self.offset = offset
        self.nested = nested
        self.found: dict[tuple[str, int | None, str], Finding] = {}

    def done(self) -> list[Finding]:
        return sorted(self.found.values(), key=lambda f: (f.line or 0, f.id))

    def add(self, rule_id: str, node: ast.AST, detail: str, at_import: bool) -> None:
        line = getattr(node, "lineno", None)
        line = line + self.offset if line is not None else None
        f = finding(rule_id, self.path, line, detail, at_import=at_import, member=self.member)
        key = (rule_id, line, f.severity)
        self.found.setdefault(key, f)

    def run(self, tree: ast.Module, top_runs: bool) -> None:
        stack: list[tuple[ast.AST, bool, ast.AST]] = [(n, top_runs, tree) for n in tree.body]
        handlers = _HANDLERS
        scoped = _SCOPED
        while stack:
            node, at_import, parent = stack.pop()
            kind = type(node)
            handler = handlers.get(kind)
            if handler is not None:
                handler(self, node, at_import, parent)
            if kind in scoped:
                stack.extend((c, runs, node) for c, runs in self._children(node, at_import))
                continue
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, list):
                    stack.extend((v, at_import, node) for v in value if isinstance(v, ast.AST))
                elif isinstance(value, ast.AST):
                    stack.append((value, at_import, node))

    def _children(self, node: ast.AST, at_import: bool) -> Sequence[tuple[ast.AST, bool]]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            now: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d)]
            if not isinstance(node, ast.Lambda):
                now += node.decorator_list
                later: list[ast.AST] = list(node.body)
            else:
                later = [node.body]
            return [(n, at_import) for n in now] + [(n, False) for n in later]
        if isinstance(node, ast.If) and _is_main_guard(node.test):
            main = at_import and self.runs_main
            out: list[tuple[ast.AST, bool]] = [(n, main) for n in node.body]
            return out + [(n, at_import) for n in node.orelse]
        return [(n, at_import) for n in ast.iter_child_nodes(node)]

    # --- handlers ------------------------------------------------------------------------------

    def call(self, node: ast.Call, at_import: bool) -> None:
        name = self.names.qualname(node.func) or ""
        sink = name in calls.EXEC or name in calls.DESERIALIZE or calls.matches(name, calls.PROCESS)
        hidden = sink and any(self.names.hides_code(a) for a in [*node.args, *_kw_values(node)])
        if name in calls.EXEC or calls.matches(name, calls.PROCESS):
            self._runs(node, name, hidden, at_import)
        elif name in calls.DYNAMIC_IMPORT and not (node.args and _text(node.args[0])):
            self.add("code.dynamic.import", node, f"{_short(name)}() of a computed name", at_import)
        elif name in calls.DESERIALIZE and _unsafe_load(node, name):
            rule = "code.obfuscation.exec" if hidden else "code.deserialize"
            self.add(rule, node, f"{name}(){_load_hint(name)}", at_import)
        elif calls.matches(name, calls.NETWORK):
            self.add("code.network", node, f"{name}()", at_import)
        elif name in calls.DOWNLOAD_CODE:
            self.add("code.download.code", node, f"{name}()", at_import)
        elif name in calls.DOWNLOAD_FILE:
            self.add("code.download.file", node, f"{name}()", at_import)
        elif name in calls.GETENV:
            self._env_key(node, node.args[0] if node.args else None, at_import)
        elif name in calls.OPENERS:
            if _write_mode(node):
                self._write(node, node.args[0] if node.args else None, at_import)
        elif name in calls.FILE_MUTATIONS:
            index = calls.FILE_MUTATIONS[name]
            target = node.args[index] if len(node.args) > index else None
            self._write(node, target, at_import)
        elif name in {"builtins.setattr", "builtins.delattr"} and node.args:
            self._patch(node, node.args[0], at_import, node.args[2:3])
        self._method_call(node, name, at_import)

    def _method_call(self, node: ast.Call, name: str, at_import: bool) -> None:
        if any(k.arg == "trust_remote_code" and not _false(k.value) for k in node.keywords):
            self.add("code.download.code", node, "a call with trust_remote_code", at_import)
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        if func.attr in calls.PATH_WRITERS or (func.attr == "open" and _write_mode(node, 0)):
            self._write(node, func.value, at_import)
        elif func.attr == "from_pretrained" and at_import and self.member is None:
            repo = _text(node.args[0]) if node.args else None
            if repo and "/" in repo and not repo.startswith((".", "/", "~")):
                self.add("code.download.file", node, f"{func.attr}({repo!r})", at_import)
        elif func.attr == "join" and self.names.chr_count(node) >= calls.CHR_CHAIN:
            self.add("code.obfuscation.chr", node, "text joined from chr() calls", at_import)

    def _runs(self, node: ast.Call, name: str, hidden: bool, at_import: bool) -> None:
        if hidden:
            self.add("code.obfuscation.exec", node, f"{_short(name)}() of decoded text", at_import)
            return
        rule = "code.process" if calls.matches(name, calls.PROCESS) else "code.dynamic.exec"
        self.add(rule, node, f"{_short(name)}()", at_import)
        source = _text(node.args[0]) if node.args else None
        if rule == "code.dynamic.exec" and source is not None and self.nested < MAX_NESTED:
            inner = analyse_python(
                source, self.path, member=self.member, first_line=node.lineno + self.offset,
                top_runs=at_import, nested=self.nested + 1,
            )  # fmt: skip
            for f in inner.findings:
                self.found.setdefault((f.id, f.line, f.severity), f)

    def _env_key(self, node: ast.AST, key: ast.expr | None, at_import: bool) -> None:
        text = _text(key) if key is not None else None
        if text is not None and calls.CREDENTIAL_ENV.search(text):
            self.add("code.env.credential", node, f"environment variable {text}", at_import)

    def environ(self, node: ast.expr, at_import: bool, parent: ast.AST) -> None:
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if isinstance(parent.ctx, ast.Load):
                self._env_key(node, parent.slice, at_import)
            return
        if isinstance(parent, ast.Attribute):
            if parent.attr in calls.ENV_DUMP_METHODS:
                self.add("code.env.dump", node, f"os.environ.{parent.attr}()", at_import)
            return
        whole = isinstance(parent, ast.Assign) and parent.value is node
        if isinstance(parent, ast.Compare | ast.Assign | ast.AugAssign | ast.Delete) and not whole:
            return
        self.add("code.env.dump", node, "os.environ used as a whole", at_import)

    def _write(self, node: ast.AST, target: ast.expr | None, at_import: bool) -> None:
        path = constant_path(target, self.names)
        if path is None:
            return
        if calls.PERSISTENCE_PATH.search(path):
            self.add("code.file.persistence", node, f"writes {path}", at_import)
        elif path.startswith(("/", "~")) and not calls.CACHE_PATH.match(path):
            self.add("code.file.write", node, f"writes {path}", at_import)

    def assign(
        self, node: ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete, at_import: bool
    ) -> None:
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        value = getattr(node, "value", None)
        for target in targets:
            if isinstance(target, ast.Attribute | ast.Subscript):
                self._patch(node, target, at_import, [value] if value is not None else [])
            elif isinstance(target, ast.Name) and target.id == "__builtins__":
                self.add("code.monkeypatch.builtins", node, "rebinds __builtins__", at_import)

    def _patch(
        self, node: ast.AST, target: ast.expr, at_import: bool, values: list[ast.expr]
    ) -> None:
        base = target.value if isinstance(target, ast.Attribute | ast.Subscript) else target
        owner = "__builtins__" if _is_name(base, "__builtins__") else self.names.qualname(base)
        if owner is None:
            return
        shown = owner + (f".{target.attr}" if isinstance(target, ast.Attribute) else "[...]")
        root = owner.split(".")[0]
        if root in {"builtins", "__builtins__"}:
            self.add("code.monkeypatch.builtins", node, f"replaces {shown}", at_import)
        elif owner in {"sys.modules", "sys.meta_path", "sys.path_hooks"}:
            self.add("code.monkeypatch", node, f"changes {shown}", at_import)
        elif root in calls.PATCHED_ROOTS and not all(isinstance(v, ast.Constant) for v in values):
            self.add("code.monkeypatch", node, f"replaces {shown}", at_import)

    def constant(self, node: ast.Constant, at_import: bool, parent: ast.AST) -> None:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str) or isinstance(parent, ast.Expr):
            return  # docstrings and bare strings are documentation
        if len(value) < 4096 and calls.CREDENTIAL_PATH.search(value):
            self.add("code.credentials.file", node, f"names {value[:80]!r}", at_import)
        if len(value) >= LONG_STRING:
            self.add("code.obfuscation.blob", node, f"a {len(value)}-character string", at_import)
        elif len(value) >= 1024 and LONG_ENCODED.search(value):
            self.add("code.obfuscation.blob", node, "a long base64 or hex string", at_import)

    def binop(self, node: ast.BinOp, at_import: bool, parent: ast.AST) -> None:
        if isinstance(parent, ast.BinOp) or not isinstance(node.op, ast.Add):
            return
        if self.names.chr_count(node) >= calls.CHR_CHAIN:
            self.add("code.obfuscation.chr", node, "text added up from chr() calls", at_import)


def _on_call(w: _Walker, node: ast.AST, at_import: bool, parent: ast.AST) -> None:
    assert isinstance(node, ast.Call)
    w.call(node, at_import)


def _on_attribute(w: _Walker, node: ast.AST, at_import: bool, parent: ast.AST) -> None:
    assert isinstance(node, ast.Attribute)
    if node.attr in {"environ", "environb"} and w.names.qualname(node) in calls.ENVIRON:
        w.environ(node, at_import, parent)


def _on_name(w: _Walker, node: ast.AST, at_import: bool, parent: ast.AST) -> None:
    assert isinstance(node, ast.Name)
    if w.names.aliases.get(node.id) in calls.ENVIRON and isinstance(node.ctx, ast.Load):
        w.environ(node, at_import, parent)


def _on_assign(w: _Walker, node: ast.AST, at_import: bool, parent: ast.AST) -> None:
    assert isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete)
    w.assign(node, at_import)


def _on_constant(w: _Walker, node: ast.AST, at_import: bool, parent: ast.AST) -> None:
    assert isinstance(node, ast.Constant)
    w.constant(node, at_import, parent)


def _on_binop(w: _Walker, node: ast.AST, at_import: bool, parent: ast.AST) -> None:
    assert isinstance(node, ast.BinOp)
    w.binop(node, at_import, parent)


_HANDLERS = {
    ast.Call: _on_call,
    ast.Attribute: _on_attribute,
    ast.Name: _on_name,
    ast.Assign: _on_assign,
    ast.AugAssign: _on_assign,
    ast.AnnAssign: _on_assign,
    ast.Delete: _on_assign,
    ast.Constant: _on_constant,
    ast.BinOp: _on_binop,
}


#: Nodes whose children do not all run when the node itself does.
_SCOPED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.If})


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and _is_name(test.left, "__name__")
        and len(test.comparators) == 1
        and _text(test.comparators[0]) == "__main__"
    )


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in (False, None)


def _short(name: str) -> str:
    return name.removeprefix("builtins.")


def _kw_values(node: ast.Call) -> list[ast.expr]:
    return [k.value for k in node.keywords]


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _unsafe_load(node: ast.Call, name: str) -> bool:
    """Whether a loader call can run code: torch.load without weights_only=True, numpy.load
    with allow_pickle=True, yaml.load without a safe Loader; the rest always can."""
    if name == "torch.load":
        weights_only = _keyword(node, "weights_only")
        return not (isinstance(weights_only, ast.Constant) and weights_only.value is True)
    if name == "numpy.load":
        allow = _keyword(node, "allow_pickle")
        return allow is not None and not _false(allow)
    if name in {"yaml.load", "yaml.load_all"}:
        loader = _keyword(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
        shown = ast.unparse(loader) if loader is not None else ""
        return "Safe" not in shown
    return True


def _load_hint(name: str) -> str:
    return " without weights_only=True" if name == "torch.load" else ""


def _write_mode(node: ast.Call, index: int = 1) -> bool:
    mode = _keyword(node, "mode") or (node.args[index] if len(node.args) > index else None)
    text = _text(mode) if mode is not None else None
    return text is not None and bool(_WRITE_MODE.search(text))

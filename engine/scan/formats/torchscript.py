"""TorchScript source (``code/**/*.py`` in a TorchScript archive), parsed, never compiled.

``torch.jit.load`` compiles this code against the registered operators: it cannot import Python
modules or call Python functions, so its reach is the operators it calls. The code is parsed
with ``ast`` and every call is judged by its target: TorchScript builtins, ``torch.*`` and the
``aten``/``prim`` operator namespaces are the framework; operators that read or write files are
high; operators from another namespace need a custom library (medium); a call to anything else
(``os.system``, ``__import__``) is not TorchScript at all and is high.
"""

from __future__ import annotations

import ast
from typing import Final

from modelward.engine.facts import Finding, Severity
from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.result import FileScan

MAX_SOURCE_BYTES: Final = 8 << 20
MAX_NODES: Final = 500_000
#: Operator namespaces that ship with PyTorch itself.
FRAMEWORK_NAMESPACES: Final = frozenset({
    "aten", "prim", "quantized", "_quantized", "prepacked", "quantized_decomposed", "_caffe2",
    "profiler", "cuda", "mkldnn", "_test",
})  # fmt: skip
#: Operators that touch the file system or load code.
FILE_OPERATORS: Final = frozenset({
    "from_file", "save", "load", "_load_for_mobile", "_save_for_mobile", "_save_parameters",
    "_load_parameters", "load_library", "_jit_pass", "_export", "_load_from_file",
})  # fmt: skip
#: Names TorchScript code calls without a module: its builtins and type constructors.
BUILTINS: Final = frozenset({
    "annotate", "uninitialized", "unchecked_cast", "isinstance", "int", "float", "bool", "str",
    "complex", "len", "range", "print", "list", "dict", "tuple", "min", "max", "abs", "round",
    "hash", "ord", "chr", "zip", "enumerate", "getattr", "hasattr", "divmod", "all", "any",
    "sum", "sorted", "reversed", "hex", "oct", "bin", "id", "Tensor", "Optional", "List",
    "Dict", "Tuple", "Union", "Any", "Future", "Await", "NamedTuple", "Enum", "Device",
    "Generator", "Storage", "RRef", "Module", "fork", "wait", "_awaitable", "_awaitable_wait",
    "_awaitable_nowait", "__torch__",
})  # fmt: skip
_ESCAPES: Final = frozenset({
    "__import__", "eval", "exec", "compile", "open", "globals", "locals", "vars", "breakpoint",
    "input", "os", "sys", "subprocess", "builtins", "importlib", "pickle", "socket", "shutil",
})  # fmt: skip


def is_code_member(name: str) -> bool:
    """Whether an archive member is TorchScript source that ``torch.jit.load`` compiles."""
    parts = name.split("/")
    return name.endswith(".py") and "code" in parts[:-1]


def scan_torchscript_code(data: bytes, ctx: ScanContext) -> FileScan:
    """Findings for the calls in one TorchScript source member."""
    result = FileScan()
    if len(data) > MAX_SOURCE_BYTES:
        return ctx.incomplete(
            result,
            _finding(
                ctx, "torchscript.limit", "medium", f"source of {len(data)} bytes exceeds the limit"
            ),
        )
    try:
        tree = ast.parse(data.decode("utf-8", errors="replace"))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return ctx.incomplete(
            result,
            _finding(
                ctx, "torchscript.unparsable", "medium", f"TorchScript source does not parse: {exc}"
            ),
        )
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef)}
    seen: set[str] = set()
    for count, node in enumerate(ast.walk(tree)):
        if count > MAX_NODES:
            return ctx.incomplete(
                result,
                _finding(ctx, "torchscript.limit", "medium", "source has too many syntax nodes"),
            )
        issue = _judge(node, defined)
        if issue is not None and issue[2] not in seen:
            seen.add(issue[2])
            result.findings.append(_finding(ctx, issue[0], issue[1], issue[2]))
    return result


def _judge(node: ast.AST, defined: set[str]) -> tuple[str, Severity, str] | None:
    if isinstance(node, ast.Import | ast.ImportFrom):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        foreign = [n for n in names if n and not n.startswith(("__torch__", "torch"))]
        if foreign:
            return (
                "torchscript.import",
                "high",
                f"imports {', '.join(foreign)}: not TorchScript, Python code",
            )
        return None
    if not isinstance(node, ast.Call):
        return None
    target = _dotted(node.func)
    if target is None:
        return None
    return _judge_target(target, defined)


def _judge_target(target: list[str], defined: set[str]) -> tuple[str, Severity, str] | None:
    root, leaf, shown = target[0], target[-1], ".".join(target)
    if leaf in FILE_OPERATORS and root in ("torch", "ops"):
        return "torchscript.file_operator", "high", f"calls {shown}, which reaches the file system"
    namespace = _operator_namespace(target)
    if namespace is not None:
        if namespace in FRAMEWORK_NAMESPACES:
            return None
        return (
            "torchscript.custom_operator",
            "medium",
            f"calls {shown}, an operator from library namespace {namespace!r}",
        )
    if root in _ESCAPES or leaf in _ESCAPES:
        return "torchscript.python_call", "high", f"calls {shown}: Python, not TorchScript"
    if len(target) == 1 and root not in BUILTINS and root not in defined and root[:1] != "_":
        return "torchscript.unknown_call", "low", f"calls {shown}, not a TorchScript builtin"
    return None


def _operator_namespace(target: list[str]) -> str | None:
    """``aten`` for ``ops.aten.add`` or ``torch.ops.aten.add``; ``None`` for other calls."""
    if target[0] == "ops":
        return target[1] if len(target) > 2 else ""
    if target[:2] == ["torch", "ops"]:
        return target[2] if len(target) > 3 else ""
    return None


def _dotted(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"] when the call target is a plain dotted name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _finding(ctx: ScanContext, id_: str, severity: Severity, reason: str) -> Finding:
    return ctx.finding(id_, severity, reason, technique="TorchScript code")

"""Chat templates: parsed to a Jinja AST (never rendered) and checked for reaches into Python.

Template injection needs attribute or item access to interpreter internals (``__class__``,
``__globals__``, ...); the sandbox blocks them, but runtimes that render with a plain
environment do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from modelward.engine.facts import Severity

INTERNALS: Final = frozenset({
    "__class__", "__globals__", "__builtins__", "__subclasses__", "__import__", "__mro__",
    "__base__", "__bases__", "__init__", "__dict__", "__getattribute__", "__reduce__",
    "__reduce_ex__", "__code__", "__func__", "__self__", "__module__", "__loader__", "__spec__",
    "mro", "func_globals", "f_globals", "f_locals", "f_builtins", "f_back", "gi_frame", "gi_code",
    "cr_frame", "tb_frame", "co_code", "im_func", "func_code",
})  # fmt: skip
#: Filters and string operations that build attribute names at render time.
NAME_BUILDERS: Final = frozenset(
    {"format", "join", "replace", "reverse", "string", "lower", "upper"}
)
MAX_TEMPLATE_BYTES: Final = 1 << 20


@dataclass(frozen=True)
class TemplateIssue:
    id: str
    severity: Severity
    reason: str


def _internal(name: object) -> bool:
    return isinstance(name, str) and (
        name in INTERNALS or (name.startswith("__") and name.endswith("__") and len(name) > 4)
    )


def _key_issue(key: object, how: str) -> TemplateIssue | None:
    from jinja2 import nodes

    if isinstance(key, nodes.Const):
        if _internal(key.value):
            return TemplateIssue("gguf.chat_template.ssti", "high", f"{how} {key.value!r}")
        return None
    if isinstance(key, nodes.Concat | nodes.Add | nodes.Mod) or (
        isinstance(key, nodes.Filter) and key.name in NAME_BUILDERS
    ):
        return TemplateIssue(
            "gguf.chat_template.dynamic_attribute",
            "medium",
            f"{how} a name computed at render time",
        )
    return None


def template_issues(source: str) -> list[TemplateIssue]:
    """Issues in a template; a template that does not parse is itself an issue."""
    from jinja2 import TemplateSyntaxError, nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    if len(source.encode("utf-8", errors="replace")) > MAX_TEMPLATE_BYTES:
        return [TemplateIssue("gguf.chat_template.too_large", "medium", "template exceeds 1 MiB")]
    try:
        tree = ImmutableSandboxedEnvironment().parse(source)
    except (TemplateSyntaxError, RecursionError, MemoryError, ValueError) as exc:
        return [TemplateIssue("gguf.chat_template.unparsable", "medium", f"does not parse: {exc}")]
    issues: list[TemplateIssue] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        issue = _node_issue(node)
        if issue is not None and issue not in issues:
            issues.append(issue)
    for loader in tree.find_all((nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)):
        issues.append(
            TemplateIssue(
                "gguf.chat_template.include",
                "medium",
                f"loads another template ({type(loader).__name__.lower()})",
            )
        )
        break
    return issues


def _node_issue(node: object) -> TemplateIssue | None:
    from jinja2 import nodes

    if isinstance(node, nodes.Getattr):
        if _internal(node.attr):
            return TemplateIssue(
                "gguf.chat_template.ssti", "high", f"reads attribute {node.attr!r}"
            )
        return None
    if isinstance(node, nodes.Getitem):
        return _key_issue(node.arg, "reads item")
    if isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
        key = node.args[0]
        if isinstance(key, nodes.Const):
            return _key_issue(key, "reads attribute (attr filter)")
        return TemplateIssue(
            "gguf.chat_template.dynamic_attribute",
            "medium",
            "reads an attribute by a variable name",
        )
    return None

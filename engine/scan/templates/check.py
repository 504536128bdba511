"""Chat templates: parsed to a Jinja AST (never rendered) and judged by what Jinja would do.

Template injection needs a reach from the template's values into Python objects: an attribute
or item the sandbox refuses (``__class__``, ``__globals__``, ``mro``, ``gi_frame``...), however its
name is spelled or built (``~``, ``join``, ``format``, ``{% set %}``, macro arguments, namespace
attributes, loops), or a lookup whose key may be any string and whose value is then used as an
object. The sandbox blocks these, but runtimes that render with a plain environment do not.
Keys that are numbers (``messages[loop.index0 - 1]``) or literal names (``message['role']``) are
what real templates use, and are not findings. ``rules`` lists the rules.

The template is parsed as Hugging Face parses it (``loopcontrols`` and ``{% generation %}``),
with the ``do`` statement too. Limits: 1 MiB of source, a token and a node budget; a template that
does not parse or exceeds a limit is an incomplete (medium) finding. Past the step budget of the
value analysis every name is taken to hold anything, which only widens the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from modelward.engine.facts import Severity
from modelward.engine.scan.templates.flow import Flow, TooComplex
from modelward.engine.scan.templates.rules import Issue, judge

MAX_TEMPLATE_BYTES: Final = 1 << 20
MAX_TOKENS: Final = 50_000  # the largest real chat templates have ~4,000
MAX_NODES: Final = 200_000
MAX_STEPS: Final = 200_000
MAX_ISSUES: Final = 12
GGUF_PREFIX: Final = "gguf.chat_template"


@dataclass(frozen=True)
class TemplateIssue:
    id: str
    severity: Severity
    reason: str
    incomplete: bool = False  # the template could not be analysed


class _Generation(Extension):
    """``{% generation %}…{% endgeneration %}``, which transformers accepts (parsed only)."""

    tags = {"generation"}

    def parse(self, parser: Parser) -> list[nodes.Node]:
        next(parser.stream)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do", _Generation]
    )


def template_issues(source: str, prefix: str = GGUF_PREFIX) -> list[TemplateIssue]:
    """Issues of one template, ids ``<prefix>.<kind>``; an unanalysable template is an issue."""

    def incomplete(kind: str, reason: str) -> list[TemplateIssue]:
        return [TemplateIssue(f"{prefix}.{kind}", "medium", reason, incomplete=True)]

    size = len(source.encode("utf-8", errors="replace"))
    if size > MAX_TEMPLATE_BYTES:
        return incomplete("too_large", f"template of {size} bytes exceeds 1 MiB; not analysed")
    try:
        if _tokens(source) > MAX_TOKENS:
            return incomplete("too_complex", f"more than {MAX_TOKENS} tokens; not analysed")
        tree = _environment().parse(source)
    except Exception as exc:  # any parser failure on hostile text: not analysed, never clean
        return incomplete("unparsable", f"does not parse as a Jinja template: {exc}")
    try:
        issues = judge(Flow(tree, MAX_NODES, MAX_STEPS))
    except (TooComplex, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, TooComplex) else "nested too deeply"
        return incomplete("too_complex", f"template too complex to analyse: {reason}")
    return [TemplateIssue(f"{prefix}.{i.kind}", i.severity, i.reason) for i in _summary(issues)]


def _tokens(source: str) -> int:
    """Lexer tokens, counted up to one past the budget (parsing costs far more than lexing)."""
    count = 0
    for count, _ in enumerate(_environment().lexer.tokeniter(source, None), start=1):
        if count > MAX_TOKENS:
            break
    return count


def _summary(issues: list[Issue]) -> list[Issue]:
    """Distinct issues, worst first, at most ``MAX_ISSUES`` (then a count of the rest)."""
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    distinct = sorted(dict.fromkeys(issues), key=lambda i: rank[i.severity])
    if len(distinct) <= MAX_ISSUES:
        return distinct
    kept, rest = distinct[:MAX_ISSUES], distinct[MAX_ISSUES:]
    worst = rest[0]
    more = f"{len(rest)} more issue(s) like: {worst.reason}"
    return [*kept, Issue(worst.kind, worst.severity, more)]

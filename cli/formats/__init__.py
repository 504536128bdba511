"""Output formats for ``scan`` and ``eval``: each renders facts and a decision to text."""

from __future__ import annotations

from collections.abc import Callable

from modelward.cli.formats.json_format import render_json
from modelward.cli.formats.sarif import render_sarif
from modelward.cli.formats.table import render_table
from modelward.engine.decision import Decision
from modelward.engine.facts import Facts

Renderer = Callable[[Facts, Decision], str]

RENDERERS: dict[str, Renderer] = {
    "table": render_table,
    "json": render_json,
    "sarif": render_sarif,
}

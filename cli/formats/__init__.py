"""Output formats for ``scan`` and ``eval``: each renders facts and a decision to text.

``write_report`` chooses what goes where: the report in the chosen format to ``--output`` or
stdout, or with ``--quiet``/``--summary`` only the decision (and summary) to stdout while a
report file, when given, still gets the full report. Colour only for a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import typer

from modelward.cli.formats.json_format import render_json
from modelward.cli.formats.sarif import render_sarif
from modelward.cli.formats.style import wants_colour
from modelward.cli.formats.summary import render_quiet, render_summary
from modelward.cli.formats.table import render_table
from modelward.engine.decision import Decision
from modelward.engine.facts import Facts

Renderer = Callable[[Facts, Decision], str]

RENDERERS: dict[str, Renderer] = {
    "table": render_table,
    "json": render_json,
    "sarif": render_sarif,
}


def write_report(
    facts: Facts,
    decision: Decision,
    output_format: str,
    output: Path | None,
    *,
    quiet: bool = False,
    summary: bool = False,
) -> None:
    """Write the report (see the module docstring); JSON and SARIF are never coloured."""
    if output is not None:
        output.write_text(RENDERERS[output_format](facts, decision), encoding="utf-8")
    colour = wants_colour(sys.stdout)
    if quiet:
        typer.echo(render_quiet(facts, decision, colour=colour), nl=False)
    elif summary:
        typer.echo(render_summary(facts, decision, colour=colour), nl=False)
    elif output is None:
        if output_format == "table":
            text = render_table(facts, decision, colour=colour)
        else:
            text = RENDERERS[output_format](facts, decision)
        typer.echo(text, nl=False)

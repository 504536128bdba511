"""``modelward scan`` and ``modelward facts``: a model on local disk, end to end."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from modelward.cli.exit import OUTCOME_EXIT
from modelward.cli.formats import RENDERERS
from modelward.cli.progress import hashing_progress
from modelward.engine.bundle import PolicyBundle
from modelward.engine.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.facts import Facts
from modelward.engine.pipeline import collect_facts, decide, total_bytes
from modelward.engine.refs import ModelRef


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


ModelArg = Annotated[str, typer.Argument(help="Model file or directory (or a model reference).")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report to FILE instead of stdout.")
]


def scan_command(
    model: ModelArg,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Report format.")
    ] = OutputFormat.table,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Policy bundle directory (default: built-in)."),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Collect facts about MODEL, evaluate the policies; exit 0 allow, 1 deny, 2 error."""
    bundle = PolicyBundle.load(policy)
    facts = _collect(model)
    decision = decide(facts, bundle, EmbeddedEvaluator())
    _write(RENDERERS[output_format.value](facts, decision), output)
    raise typer.Exit(OUTCOME_EXIT[decision.outcome])


def facts_command(model: ModelArg, output: OutputOpt = None) -> None:
    """Print the facts document of MODEL as JSON (no policy evaluation)."""
    facts = _collect(model)
    _write(json.dumps(facts.to_json_dict(), indent=2) + "\n", output)


def _collect(model: str) -> Facts:
    ref = ModelRef.parse(model)
    with hashing_progress(total_bytes(ref)) as progress:
        return collect_facts(ref, progress=progress)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")

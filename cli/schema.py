"""``modelward schema``: the published JSON Schemas."""

from __future__ import annotations

import json

import typer

from modelward.engine.facts import facts_json_schema

app = typer.Typer(help="Print JSON Schemas.", no_args_is_help=True)


@app.command("facts")
def facts_schema() -> None:
    """Print the JSON Schema of the facts document (modelward.dev/facts/v1)."""
    typer.echo(json.dumps(facts_json_schema(), indent=2))

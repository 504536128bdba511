"""``modelward schema``: the published JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Print JSON Schemas.", no_args_is_help=True)


@app.command("facts")
def facts_schema() -> None:
    """Print the JSON Schema of the facts document (modelward.dev/facts/v1)."""
    from modelward.engine.facts import facts_json_schema

    typer.echo(json.dumps(facts_json_schema(), indent=2))


@app.command("config")
def config_schema(
    policy: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Policy bundle directory (default: the built-in one)."),
    ] = None,
) -> None:
    """Print the JSON Schema of the policy configuration (--data, config.yaml) of a bundle.

    Every key a policy reads, with its type; any other key is an error, not ignored.
    """
    from modelward.engine.policy.bundle import PolicyBundle

    typer.echo(json.dumps(PolicyBundle.load(policy).config_schema(), indent=2))

"""The ``modelward`` command."""

from __future__ import annotations

import os
import sys
import traceback
from importlib.metadata import entry_points
from typing import Annotated

import typer

from modelward.cli import bom, policy, scan, schema, signing, verdicts
from modelward.cli import eval as eval_cmd
from modelward.cli.exit import EXIT_ERROR
from modelward.engine import __version__
from modelward.engine.errors import Error

app = typer.Typer(
    name="modelward",
    help="Policy-as-code gate for ML models: collect facts, evaluate Rego, allow or deny.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("scan")(scan.scan_command)
app.command("facts")(scan.facts_command)
app.command("eval")(eval_cmd.eval_command)
app.command("sign")(signing.sign_command)
app.command("verify")(signing.verify_command)
app.command("bom")(bom.bom_command)
app.command("vet")(verdicts.vet_command)
app.add_typer(policy.app, name="policy")
app.add_typer(schema.app, name="schema")
app.add_typer(verdicts.keys_app, name="keys")
app.add_typer(verdicts.registry_app, name="registry")


def _add_plugin_commands() -> None:
    """Command groups other packages register (``modelward.commands`` entry points)."""
    for entry in sorted(entry_points(group="modelward.commands"), key=lambda e: e.name):
        command = entry.load()
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=entry.name)
        else:
            app.command(entry.name)(command)


_add_plugin_commands()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"modelward {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Exit codes: 0 allow, 1 deny, 2 error."""


def main() -> None:
    try:
        app()
    except Error as exc:
        typer.echo(f"error: {exc.diagnostics()}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # a bug must still end as "error", never as a pass
        if os.environ.get("MODELWARD_DEBUG"):
            traceback.print_exc()
        typer.echo(f"error: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_ERROR)

"""The ``modelward`` command tree, whose commands are imported only when they are used.

Each command is named here by the module and attribute that implement it; that module (and what
it imports: the OPA client, HTTP libraries, signing, the Hub, admission) loads when the command
runs, or when help or a typo needs the whole list. Command groups that other packages register
(``modelward.commands`` entry points) load the same way.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_group_from_info

from modelward.engine import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typer import _click as click  # the click that typer vendors

#: Built-in commands, in help order: name -> "module:attribute" (a function or a Typer app).
COMMANDS: dict[str, str] = {
    "scan": "modelward.cli.scan:scan_command",
    "facts": "modelward.cli.scan:facts_command",
    "scan-files": "modelward.cli.scan_files:scan_files_command",
    "eval": "modelward.cli.eval:eval_command",
    "sign": "modelward.cli.signing:sign_command",
    "verify": "modelward.cli.signing:verify_command",
    "bom": "modelward.cli.bom:bom_command",
    "vet": "modelward.cli.verdicts:vet_command",
    "policy": "modelward.cli.policy:app",
    "schema": "modelward.cli.schema:app",
    "keys": "modelward.cli.verdicts:keys_app",
    "registry": "modelward.cli.registry:registry_app",
    "vetting": "modelward.cli.vetting:app",
}
PLUGIN_GROUP = "modelward.commands"


def plugin_commands() -> dict[str, str]:
    """Commands other packages register, by name (sorted): name -> "module:attribute"."""
    from importlib.metadata import entry_points

    found = sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name)
    return {entry.name: entry.value for entry in found}


def load_target(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)


class LazyGroup(TyperGroup):
    """A command group that builds each command from its module on first use."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            target = COMMANDS.get(cmd_name) or plugin_commands().get(cmd_name)
            if target is None:
                return None
            self.commands[cmd_name] = to_click(cmd_name, load_target(target))
        return self.commands[cmd_name]

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load_all(ctx)
        return list(self.commands)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in COMMANDS:
            self.load_all(ctx)  # a plugin, or a typo that needs every name for suggestions
        return super().resolve_command(ctx, args)

    def load_all(self, ctx: click.Context) -> None:
        """Load every command; plain commands first, then groups, each in registration order."""
        names: Sequence[str] = [*COMMANDS, *plugin_commands()]
        loaded = {name: self.get_command(ctx, name) for name in names}
        ordered = sorted(loaded.items(), key=lambda item: isinstance(item[1], TyperGroup))
        self.commands = {name: command for name, command in ordered if command is not None}


def to_click(name: str, target: Any) -> click.Command:
    """The click command for a command function or a Typer app, as ``app`` would build it."""
    holder = typer.Typer()
    short, markup = app.pretty_exceptions_short, app.rich_markup_mode
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
        return get_group_from_info(
            holder.registered_groups[0],
            pretty_exceptions_short=short,
            rich_markup_mode=markup,
            suggest_commands=app.suggest_commands,
        )
    holder.command(name)(target)
    return get_command_from_info(
        holder.registered_commands[0], pretty_exceptions_short=short, rich_markup_mode=markup
    )


app = typer.Typer(
    name="modelward",
    help="Policy-as-code gate for ML models: collect facts, evaluate Rego, allow or deny.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    cls=LazyGroup,
)


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

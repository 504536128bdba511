"""``modelward controller``: run the vetting controller."""

from __future__ import annotations

import typer

controller_app = typer.Typer(help="The in-cluster vetting controller.", no_args_is_help=True)

"""``modelward webhook serve``: the HTTPS admission webhook."""

from __future__ import annotations

import typer

webhook_app = typer.Typer(help="Run the Kubernetes admission webhook.", no_args_is_help=True)

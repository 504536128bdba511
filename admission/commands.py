"""``modelward admission review|check`` and ``modelward audit``."""

from __future__ import annotations

import typer

admission_app = typer.Typer(help="Run the admission core without a cluster.", no_args_is_help=True)


def audit_command() -> None:
    """Evaluate the workloads already running in a cluster and print a report."""
    raise NotImplementedError

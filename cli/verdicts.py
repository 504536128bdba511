"""``modelward keys generate``, ``modelward vet`` and ``modelward registry ...``."""

from __future__ import annotations

import typer

keys_app = typer.Typer(help="Verdict signing keys.", no_args_is_help=True)
registry_app = typer.Typer(help="The verdict registry.", no_args_is_help=True)


def vet_command() -> None:
    """Scan MODEL, decide, sign the verdict and (with --publish) store it in the registry."""
    raise NotImplementedError

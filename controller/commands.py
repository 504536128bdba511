"""``modelward controller``: run the vetting controller."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

controller_app = typer.Typer(help="The in-cluster vetting controller.", no_args_is_help=True)


@controller_app.command("run")
def run_command(
    config_path: Annotated[
        Path, typer.Option("--config", help="The controller configuration (controller.yaml).")
    ],
    identity: Annotated[
        str | None,
        typer.Option("--identity", help="Leader election identity (default: host name and pid)."),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Logging level.")] = "INFO",
) -> None:
    """Watch ModelVettings, vet each in an isolated Job, sign and publish the verdicts."""
    from modelward.controller.assemble import build_controller
    from modelward.controller.config import load_controller_config

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = load_controller_config(config_path)
    controller = build_controller(config, identity)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: controller.stop.set())
    typer.echo(
        f"modelward controller {controller.identity}: jobs in {config.namespace}, "
        f"verdicts to {config.registry}, key {controller.publisher.key_id}",
        err=True,
    )
    controller.run()

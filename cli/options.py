"""Options shared by the commands that evaluate policy."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from modelward.engine.bundle import PolicyBundle, load_config_text
from modelward.engine.errors import PolicyError


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


class Engine(StrEnum):
    embedded = "embedded"
    opa = "opa"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Report format.")]
PolicyOpt = Annotated[
    Path | None,
    typer.Option("--policy", "-p", help="Policy bundle directory (default: the built-in library)."),
]
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", "-d", help="YAML/JSON config; its top-level keys replace the bundle's."),
]
EngineOpt = Annotated[Engine, typer.Option("--engine", "-e", help="Rego engine.")]
OpaUrlOpt = Annotated[
    str | None, typer.Option("--opa-url", help="Use the OPA server at URL (with --engine opa).")
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report to FILE instead of stdout.")
]


def load_bundle(policy: Path | None, data: Path | None) -> PolicyBundle:
    bundle = PolicyBundle.load(policy)
    if data is not None:
        try:
            text = data.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"{data}: {exc.strerror or exc}") from None
        bundle.config = {**bundle.config, **load_config_text(text, str(data))}
    return bundle


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def dump_json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"

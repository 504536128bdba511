"""``modelward bom``: write a CycloneDX 1.6 ML-BOM for a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelward.cli.options import OutputOpt, dump_json, write_output
from modelward.cli.progress import hashing_progress
from modelward.engine.bom.build import BomRequest, generate_bom
from modelward.engine.bom.licenses import read_package_metadata
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve

ModelArg = Annotated[str, typer.Argument(help="Model file or directory (or a model reference).")]
PackageMetadataOpt = Annotated[
    Path | None,
    typer.Option(
        "--package-metadata",
        help="The *.dist-info/METADATA of the Python package that ships the model; its declared "
        "licence is recorded in the BOM.",
    ),
]
NameOpt = Annotated[
    str | None, typer.Option("--name", help="Model name (default: hub repository, card, folder).")
]
VersionOpt = Annotated[
    str | None, typer.Option("--version", help="Model version (default: the resolved revision).")
]


def bom_command(
    model: ModelArg,
    output: OutputOpt = None,
    package_metadata: PackageMetadataOpt = None,
    name: NameOpt = None,
    version: VersionOpt = None,
) -> None:
    """Write a CycloneDX 1.6 ML-BOM for MODEL (JSON) from the facts modelward collects."""
    package = read_package_metadata(package_metadata) if package_metadata is not None else None
    request = BomRequest(name=name, version=version, package=package)
    source = resolve(ModelRef.parse(model))
    with hashing_progress(sum(f.size for f in source.files)) as progress:
        bom, warnings = generate_bom(source, request, progress=progress)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    write_output(dump_json(bom), output)

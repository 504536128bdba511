"""The options of ``modelward vet`` that choose between one model and a list (``--from``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelward.cli.options import writable_output
from modelward.engine.errors import Error


class VetOptionError(Error):
    """Options of ``vet`` that do not go together."""


ModelOptArg = Annotated[
    str | None,
    typer.Argument(help="Model file or directory (or a model reference); or use --from."),
]
FromOpt = Annotated[
    Path | None,
    typer.Option(
        "--from",
        help="Vet every model listed in FILE (one reference per line, # comments; - reads "
        "standard input) in worker processes that never hold the signing key.",
    ),
]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs", "-j", min=1, help="Worker processes for --from (default: the usable CPUs)."
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="With --from: also write a JSON report (schema modelward.dev/vet-report/v1).",
        callback=writable_output,
    ),
]
#: Options that name one model's files or output: refused with --from.
ONE_MODEL_OPTIONS = {
    "signature": "--signature", "key": "--key", "certificate_chain": "--certificate-chain",
    "identity": "--identity", "issuer": "--issuer", "trust_root": "--trust-root", "bom": "--bom",
    "reference": "--reference", "to_oci": "--to-oci", "output": "--output",
    "output_format": "--format", "probe_inputs": "--probe-inputs",
}  # fmt: skip
LIST_OPTIONS = {"jobs": "--jobs", "report": "--report"}


def check_inputs(ctx: typer.Context, model: str | None, from_file: Path | None) -> None:
    """Exactly one of MODEL and --from; no per-model option with --from, no list option without."""
    if (model is None) == (from_file is None):
        raise VetOptionError("vet needs exactly one of MODEL and --from FILE")
    refused = ONE_MODEL_OPTIONS if from_file is not None else LIST_OPTIONS
    given = [flag for name, flag in refused.items() if _given(ctx, name)]
    if given and from_file is not None:
        raise VetOptionError(
            f"{', '.join(given)} cannot be used with --from: each names one model's files or "
            "output (--from prints a table; --report FILE writes JSON)"
        )
    if given:
        raise VetOptionError(f"{', '.join(given)} only apply to --from FILE")


def _given(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

"""``modelward registry list|show|delete|export|import``: the stored, signed verdicts."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from modelward.cli.options import dump_json, write_output
from modelward.engine.errors import Error, InvalidReference
from modelward.engine.refs import ModelRef
from modelward.engine.registry import Registry, open_registry
from modelward.engine.verdicts import SignedVerdict, VerdictCheck, VerdictError, VerdictKeys

REGISTRY_ENV = "MODELWARD_REGISTRY"

registry_app = typer.Typer(help="The verdict registry.", no_args_is_help=True)


class ListFormat(StrEnum):
    table = "table"
    json = "json"


RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar=REGISTRY_ENV,
        help="sqlite:///PATH, a file path, or kubernetes://NAMESPACE "
        "(default: $XDG_DATA_HOME/modelward/verdicts.db).",
    ),
]
ListFormatOpt = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")]
ReferenceArg = Annotated[str, typer.Argument(help="Model reference (as vetted).")]
TrustKeysOpt = Annotated[
    list[Path] | None,
    typer.Option("--key", help="Verdict public key(s) to check the signature against."),
]


def default_registry_url() -> str:
    """$MODELWARD_REGISTRY, else $XDG_DATA_HOME (or ~/.local/share)/modelward/verdicts.db."""
    if os.environ.get(REGISTRY_ENV):
        return os.environ[REGISTRY_ENV]
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "modelward" / "verdicts.db")


def registry_for(url: str | None) -> Registry:
    return open_registry(url or default_registry_url())


def canonical(reference: str) -> str:
    """The form verdicts are stored under; an unparsable reference is used as written."""
    try:
        return ModelRef.parse(reference).canonical
    except InvalidReference:
        return reference


@registry_app.command("list")
def list_command(
    registry: RegistryOpt = None, output_format: ListFormatOpt = ListFormat.table
) -> None:
    """The newest verdict of every reference (index fields; signatures are not checked)."""
    verdicts = registry_for(registry).list()
    if output_format is ListFormat.json:
        typer.echo(dump_json([_index(s) for s in verdicts]), nl=False)
        return
    rows = [("REFERENCE", "OUTCOME", "CREATED", "KEY")]
    rows += [(s.reference, s.outcome, s.created_at, s.key_id[:19]) for s in verdicts]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        typer.echo(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}")


@registry_app.command("show")
def show_command(
    reference: ReferenceArg,
    registry: RegistryOpt = None,
    output_format: ListFormatOpt = ListFormat.table,
    key: TrustKeysOpt = None,
) -> None:
    """The newest verdict for REFERENCE; with --key, whether admission would trust it."""
    ref = canonical(reference)
    signed = registry_for(registry).get(ref)
    if signed is None:
        raise Error(f"no verdict stored for {ref}")
    check = VerdictKeys.from_paths(key).check(signed, ref) if key else None
    if output_format is ListFormat.json:
        verdict = signed.unverified_verdict()
        doc = {**_index(signed), "envelope": signed.envelope}
        doc["verdict"] = None if verdict is None else verdict.model_dump(mode="json", by_alias=True)
        if check is not None:
            doc["check"] = {
                "trusted": check.trusted,
                "reason": check.reason,
                "key_id": check.key_id,
            }
        typer.echo(dump_json(doc), nl=False)
        return
    typer.echo("".join(_show_lines(signed, check)), nl=False)


@registry_app.command("delete")
def delete_command(reference: ReferenceArg, registry: RegistryOpt = None) -> None:
    """Remove every verdict stored for REFERENCE."""
    ref = canonical(reference)
    removed = registry_for(registry).delete(ref)
    typer.echo(f"deleted {removed} verdict(s) for {ref}")


@registry_app.command("export")
def export_command(
    registry: RegistryOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    """Every newest verdict with its signed envelope, as a JSON array (input of `import`)."""
    verdicts = registry_for(registry).list()
    write_output(dump_json([s.to_json_dict() for s in verdicts]), output)


@registry_app.command("import")
def import_command(
    source: Annotated[Path, typer.Argument(help="A file written by `registry export`.")],
    registry: RegistryOpt = None,
) -> None:
    """Store the verdicts of an export in this registry (e.g. from SQLite to Kubernetes)."""
    try:
        items = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VerdictError(f"{source}: cannot read the export: {exc}") from None
    if not isinstance(items, list):
        raise VerdictError(f"{source}: an export is a JSON array")
    target = registry_for(registry)
    for item in items:
        envelope = item.get("envelope") if isinstance(item, dict) else None
        if not isinstance(envelope, dict):
            raise VerdictError(f"{source}: every entry needs an envelope object")
        target.put(SignedVerdict.from_envelope(envelope))
    typer.echo(f"imported {len(items)} verdict(s)")


def _index(signed: SignedVerdict) -> dict[str, Any]:
    doc = signed.to_json_dict()
    doc.pop("envelope")
    return doc


def _show_lines(signed: SignedVerdict, check: VerdictCheck | None) -> list[str]:
    lines = [
        f"reference  {signed.reference}\n",
        f"outcome    {signed.outcome}\n",
        f"digest     {signed.digest or '-'}\n",
        f"created    {signed.created_at}\n",
        f"key        {signed.key_id}\n",
    ]
    if check is None:
        lines.append("signature  not checked (pass --key PUB to check it)\n")
    else:
        lines.append(
            "signature  trusted\n" if check.trusted else f"signature  UNTRUSTED: {check.reason}\n"
        )
    verdict = signed.unverified_verdict()
    if verdict is not None:
        for finding in verdict.decision.deny:
            lines.append(f"  deny [{finding.id}] {finding.msg}\n")
        for finding in verdict.decision.warn:
            lines.append(f"  warn [{finding.id}] {finding.msg}\n")
    return lines

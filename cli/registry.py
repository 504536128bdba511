"""``modelward registry list|show|delete|revoke|export|import``: the stored, signed verdicts.

``list`` and ``show`` print what the signed payloads say (marked unverified without ``--key``);
with ``--key``, ``show`` exits 0 only when admission would admit on the verdict (see
``registry_view.Standing``) and 1 otherwise, with the reason.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from modelward.cli.exit import EXIT_ALLOW, EXIT_DENY
from modelward.cli.options import dump_json, write_output
from modelward.cli.registry_log import (
    export_log_command,
    record_expiries_command,
    verify_log_command,
)
from modelward.cli.registry_view import (
    UNVERIFIED_NOTE,
    Standing,
    deployment_lines,
    show_lines,
    standing,
    table,
    to_json,
)
from modelward.engine.errors import Error, InvalidReference
from modelward.engine.refs import ModelRef
from modelward.engine.verdicts.registry import (
    REGISTRY_ENV,
    OlderThanStored,
    Registry,
    default_registry_url,
    open_registry,
)
from modelward.engine.verdicts.signed import SignedVerdict, VerdictError, VerdictKeys

registry_app = typer.Typer(help="The verdict registry.", no_args_is_help=True)
registry_app.command("export-log")(export_log_command)
registry_app.command("verify-log")(verify_log_command)
registry_app.command("record-expiries")(record_expiries_command)


class ListFormat(StrEnum):
    table = "table"
    json = "json"


RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar=REGISTRY_ENV,
        help="sqlite:////ABS/PATH, sqlite:///REL/PATH, a file path, or kubernetes://NAMESPACE "
        "(default: $MODELWARD_REGISTRY, else $XDG_DATA_HOME/modelward/verdicts.db).",
    ),
]
ListFormatOpt = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")]
ReferenceArg = Annotated[str, typer.Argument(help="Model reference (as vetted).")]
TrustKeysOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--key",
        envvar="MODELWARD_VERDICT_KEY",
        help="Verdict public key(s) admission trusts: check signatures and say whether admission "
        "would admit (without it, every field shown is unverified).",
    ),
]


def registry_for(url: str | None) -> Registry:
    """The registry at ``url``, else the default every command uses (``default_registry_url``)."""
    return open_registry(url or default_registry_url())


def canonical(reference: str) -> str:
    """The form verdicts are stored under; an unparsable reference is used as written."""
    try:
        return ModelRef.parse(reference).canonical
    except InvalidReference:
        return reference


@registry_app.command("list")
def list_command(
    registry: RegistryOpt = None,
    output_format: ListFormatOpt = ListFormat.table,
    key: TrustKeysOpt = None,
) -> None:
    """The verdict that counts for every reference, as its signed payload says.

    Without --key nothing is verified (STATUS unverified); with it, STATUS is what admission
    would do: admit, deny, revoked, expired, superseded or untrusted.
    """
    store = registry_for(registry)
    keys = VerdictKeys.from_paths(key) if key else None
    views = [_standing(store, s.reference, keys) for s in store.list()]
    found = [v for v in views if v is not None]
    if output_format is ListFormat.json:
        typer.echo(dump_json([to_json(v, full=False) for v in found]), nl=False)
    else:
        typer.echo("".join(table(found)), nl=False)
    if keys is None:
        typer.echo(f"note: {UNVERIFIED_NOTE}", err=True)


@registry_app.command("show")
def show_command(
    reference: ReferenceArg,
    registry: RegistryOpt = None,
    output_format: ListFormatOpt = ListFormat.table,
    key: TrustKeysOpt = None,
) -> None:
    """The verdict for REFERENCE. With --key: exit 0 only if admission would admit on it.

    Admission admits on the newest stored verdict by signed time whose signature verifies, if
    it has not expired and its outcome is allow; anything else exits 1 with the reason.
    """
    ref = canonical(reference)
    keys = VerdictKeys.from_paths(key) if key else None
    store = registry_for(registry)
    view = _standing(store, ref, keys)
    if view is None:
        raise Error(f"no verdict stored for {ref}")
    running = _deployments(store, ref)
    if output_format is ListFormat.json:
        typer.echo(dump_json({**to_json(view, full=True), "deployments": running}), nl=False)
    else:
        typer.echo("".join(show_lines(view) + deployment_lines(running)), nl=False)
    if keys is None:
        return
    if not view.admit:
        typer.echo(f"not admitted ({view.status}): {view.reason}", err=True)
    raise typer.Exit(EXIT_ALLOW if view.admit else EXIT_DENY)


@registry_app.command("delete")
def delete_command(reference: ReferenceArg, registry: RegistryOpt = None) -> None:
    """Remove every verdict stored for REFERENCE."""
    ref = canonical(reference)
    removed = registry_for(registry).delete(ref)
    typer.echo(f"deleted {removed} verdict(s) for {ref}")


@registry_app.command("revoke")
def revoke_command(
    reference: ReferenceArg,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the model may no longer be used (signed).")
    ],
    signing_key: Annotated[
        Path | None,
        typer.Option(
            "--signing-key",
            envvar="MODELWARD_SIGNING_KEY",
            help="The verdict signing key (as for `vet`); admission must trust its public half.",
        ),
    ] = None,
    revoked_by: Annotated[
        str | None,
        typer.Option("--by", help="Who revokes (signed; default: the current user name)."),
    ] = None,
    registry: RegistryOpt = None,
) -> None:
    """Revoke REFERENCE: sign a revocation newer than every stored verdict and store it.

    Admission denies the model from then on (the webhook within seconds, from its watch), and
    `modelward audit` lists the workloads still running it. Vetting it again lifts it.
    """
    import getpass

    from modelward.engine.verdicts.auditlog.entry import EntrySigner, default_actor
    from modelward.engine.verdicts.keys import read_private_key
    from modelward.engine.verdicts.registry.revoke import revoke
    from modelward.engine.verdicts.signed import VerdictSigner

    if signing_key is None:
        raise VerdictError(
            "revoke needs a signing key: --signing-key FILE or $MODELWARD_SIGNING_KEY"
        )
    if not reason.strip():
        raise VerdictError("--reason must say why the model is revoked")
    who = revoked_by or getpass.getuser()
    private_key = read_private_key(signing_key)
    signer = VerdictSigner(private_key)
    ref = canonical(reference)
    audit = EntrySigner(private_key, default_actor(), f"registry revoke: {reason.strip()}")
    store = open_registry(registry or default_registry_url(), audit=audit)
    signed = revoke(store, ref, reason=reason.strip(), revoked_by=who, signer=signer)
    typer.echo(f"revoked {ref} (by {who}, signed at {signed.created_at}, key {signed.key_id})")


@registry_app.command("attestation")
def attestation_command(
    reference: Annotated[str, typer.Argument(help="oci:// or kit:// reference of the model.")],
    key: Annotated[
        list[Path],
        typer.Option("--key", envvar="MODELWARD_VERDICT_KEY", help="Verdict public key(s)."),
    ],
) -> None:
    """Verify the verdict attested on an OCI model (``vet --to-oci``); exit 0 when it verifies
    with one of the keys and is about that model's manifest, 2 otherwise."""
    from modelward.cli.attach import verified_attestation

    digest, outcome = verified_attestation(reference, key)
    typer.echo(f"verified: the verdict on {digest} is {outcome}")


@registry_app.command("export")
def export_command(
    registry: RegistryOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    """Every newest verdict with its signed envelope, as a JSON array (input of `import`).

    The fields beside each envelope are decoded from its payload (unverified); `import` reads
    only the envelopes.
    """
    verdicts = registry_for(registry).list()
    write_output(dump_json([_from_payload(s).to_json_dict() for s in verdicts]), output)


@registry_app.command("import")
def import_command(
    source: Annotated[Path, typer.Argument(help="A file written by `registry export`.")],
    registry: RegistryOpt = None,
    signing_key: Annotated[
        Path | None,
        typer.Option(
            "--signing-key",
            envvar="MODELWARD_SIGNING_KEY",
            help="Verdict private key that signs the audit-log entries of the import.",
        ),
    ] = None,
) -> None:
    """Store the verdicts of an export in this registry (e.g. from SQLite to Kubernetes).

    With --signing-key each stored verdict is also recorded in the registry's audit log."""
    try:
        items = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VerdictError(f"{source}: cannot read the export: {exc}") from None
    if not isinstance(items, list):
        raise VerdictError(f"{source}: an export is a JSON array")
    target = _import_target(registry, signing_key)
    kept = 0
    for item in items:
        envelope = item.get("envelope") if isinstance(item, dict) else None
        if not isinstance(envelope, dict):
            raise VerdictError(f"{source}: every entry needs an envelope object")
        try:
            target.put(SignedVerdict.from_envelope(envelope))
        except OlderThanStored as exc:
            kept += 1
            typer.echo(f"skipped: {exc}", err=True)
    typer.echo(
        f"imported {len(items) - kept} verdict(s)"
        + (f", {kept} older one(s) skipped" if kept else "")
    )


def _import_target(url: str | None, signing_key: Path | None) -> Registry:
    if signing_key is None:
        typer.echo("note: not recorded in the audit log (no --signing-key)", err=True)
        return registry_for(url)
    from modelward.engine.verdicts.auditlog.entry import EntrySigner, default_actor
    from modelward.engine.verdicts.keys import read_private_key

    audit = EntrySigner(read_private_key(signing_key), default_actor(), "registry import")
    return open_registry(url or default_registry_url(), audit=audit)


def _deployments(store: Registry, reference: str) -> list[dict[str, Any]] | None:
    """Where ``reference`` runs, from the last recorded inventory; None when none was recorded
    (or it cannot be read: a note says why)."""
    from modelward.engine.verdicts.registry import recorded_deployments

    try:
        snapshot = recorded_deployments(store)
    except Error as exc:
        typer.echo(f"note: no deployments shown: {exc.diagnostics()}", err=True)
        return None
    if snapshot is None:
        return None
    return [{**row, "recorded_at": snapshot.recorded_at} for row in snapshot.of(reference)]


def _standing(store: Registry, reference: str, keys: VerdictKeys | None) -> Standing | None:
    return standing(store.candidates(reference), reference, keys)


def _from_payload(signed: SignedVerdict) -> SignedVerdict:
    """``signed`` with its index fields decoded from the payload (as written when signed)."""
    try:
        return SignedVerdict.from_envelope(signed.envelope)
    except VerdictError:
        return signed

"""``modelward keys generate``, ``modelward vet`` and ``modelward registry ...``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelward.cli.attach import is_oci
from modelward.cli.exit import EXIT_ERROR, OUTCOME_EXIT
from modelward.cli.formats import RENDERERS
from modelward.cli.options import (
    BehaviourBudgetOpt,
    BehaviourFlags,
    BehaviourOpt,
    BomOpt,
    ChainOpt,
    DataOpt,
    Engine,
    EngineOpt,
    FormatOpt,
    IdentityOpt,
    IssuerOpt,
    KeyOpt,
    OfflineOpt,
    OpaUrlOpt,
    OutputFormat,
    OutputOpt,
    PolicyOpt,
    ProbeInputsOpt,
    SignatureOpt,
    TrustRootOpt,
    VulnDbOpt,
    collect_options,
    engine_name,
    go_offline,
    signature_options,
    write_output,
)
from modelward.cli.registry import RegistryOpt, registry_app
from modelward.cli.scan import collect
from modelward.cli.vet_options import FromOpt, JobsOpt, ModelOptArg, ReportOpt, check_inputs
from modelward.engine.pipeline import decide
from modelward.engine.policy.bundle import load_bundle
from modelward.engine.policy.evaluators.factory import close_evaluator, make_evaluator
from modelward.engine.refs import ModelRef
from modelward.engine.verdicts.freshness import (
    DEFAULT_MAX_AGE,
    Expiry,
    parse_expiry,
    parse_max_age,
)
from modelward.engine.verdicts.keys import (
    PASSWORD_ENV,
    load_public_key,
    password_from_env,
    read_private_key,
    write_keypair,
)
from modelward.engine.verdicts.keys import key_id as public_key_id
from modelward.engine.verdicts.registry import (
    check_registry_url,
    default_registry_url,
    open_registry,
)
from modelward.engine.verdicts.scope import Scope, parse_scope
from modelward.engine.verdicts.signed import (
    SignedVerdict,
    Verdict,
    VerdictError,
    sign_with_key,
    utc_now,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from modelward.engine.policy.bundle import PolicyBundle
    from modelward.engine.verdicts.auditlog.entry import EntrySigner
    from modelward.engine.verdicts.registry import Registry

__all__ = ["keys_app", "registry_app", "vet_command"]

SIGNING_KEY_ENV = "MODELWARD_SIGNING_KEY"
MAX_AGE_ENV = "MODELWARD_VERDICT_MAX_AGE"
#: The policy bundle configuration key (``--data`` YAML) giving vet's default maximum age.
MAX_AGE_CONFIG = "verdict_max_age"

keys_app = typer.Typer(help="Verdict signing keys.", no_args_is_help=True)

SigningKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--signing-key",
        envvar=SIGNING_KEY_ENV,
        help=f"Verdict signing key (PEM, from `modelward keys generate`); ${PASSWORD_ENV} "
        "unlocks an encrypted one.",
    ),
]
PublishOpt = Annotated[
    bool, typer.Option("--publish", help="Store the signed verdict in the registry.")
]
ToOciOpt = Annotated[
    bool,
    typer.Option(
        "--to-oci",
        help="Also attach the signed verdict to the model in its OCI registry as an in-toto "
        "attestation (oci:// and kit:// models).",
    ),
]
ExpiresOpt = Annotated[
    str | None,
    typer.Option(
        "--expires",
        "--max-age",
        envvar=MAX_AGE_ENV,
        help="Until when admission trusts the verdict (signed as expires_at): a maximum age "
        "(30d, 12h, 90m, 3600s), a date (2027-03-31, through its end, UTC) or an RFC 3339 "
        f"time. Default: {MAX_AGE_CONFIG} in the policy configuration, else "
        f"{DEFAULT_MAX_AGE.days}d.",
    ),
]
ScopeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        help="Approve the model only here (signed; repeatable): namespace=NAME, "
        "namespace-selector='team=a,tier!=test', env=NAME (the namespace's environment label), "
        "use=TEXT (an approved use case). Namespaces and selectors are alternatives; "
        "environments must match too. Default: anywhere.",
    ),
]
ReferenceOpt = Annotated[
    str | None,
    typer.Option(
        "--reference",
        help="Record the verdict under this reference (the URI workloads use, e.g. the s3:// "
        "copy of the vetted files) instead of MODEL's own.",
    ),
]


@keys_app.command("generate")
def generate_command(
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Folder for NAME.key and NAME.pub.")
    ] = Path(),
    name: Annotated[str, typer.Option("--name", help="File name stem.")] = "verdict",
) -> None:
    """Create an ECDSA P-256 key pair for signing verdicts (NAME.key is written 0600)."""
    private, public, kid = write_keypair(out_dir, name, password_from_env())
    typer.echo(f"private key: {private} (keep it secret; it signs verdicts)")
    typer.echo(f"public key:  {public} (give it to admission: verdict_keys)")
    typer.echo(f"key id:      {kid}")


@keys_app.command("id")
def id_command(
    public_keys: Annotated[list[Path], typer.Argument(help="Verdict public key(s) (PEM).")],
) -> None:
    """Print the key id of each public key (the keyid its signatures carry)."""
    for path in public_keys:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise VerdictError(f"{path}: {exc.strerror}") from None
        typer.echo(f"{public_key_id(load_public_key(pem, str(path)))}  {path}")


def vet_command(
    ctx: typer.Context,
    model: ModelOptArg = None,
    from_file: FromOpt = None,
    jobs: JobsOpt = None,
    report: ReportOpt = None,
    publish: PublishOpt = False,
    to_oci: ToOciOpt = False,
    registry: RegistryOpt = None,
    signing_key: SigningKeyOpt = None,
    reference: ReferenceOpt = None,
    expires: ExpiresOpt = None,
    scope: ScopeOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    policy: PolicyOpt = None,
    data: DataOpt = None,
    engine: EngineOpt = Engine.embedded,
    opa_url: OpaUrlOpt = None,
    output: OutputOpt = None,
    signature: SignatureOpt = None,
    key: KeyOpt = None,
    certificate_chain: ChainOpt = None,
    identity: IdentityOpt = None,
    issuer: IssuerOpt = None,
    trust_root: TrustRootOpt = None,
    bom: BomOpt = None,
    vuln_db: VulnDbOpt = None,
    offline: OfflineOpt = False,
    behaviour: BehaviourOpt = False,
    probe_inputs: ProbeInputsOpt = None,
    behaviour_budget: BehaviourBudgetOpt = None,
) -> None:
    """Scan MODEL, decide, sign the verdict and (with --publish) store it in the registry.

    With --from FILE, vet every model FILE lists in --jobs worker processes and print a table;
    only this process holds the key: it re-evaluates each worker's facts before signing.
    Exit 0 allow, 1 deny, 2 error (with --from: 2 if any failed, else 1 if any denied).
    Denied verdicts are published too, so admission can say the model was denied at vetting.
    """
    go_offline(offline)
    check_inputs(ctx, model, from_file)
    if to_oci and not is_oci(str(model)):
        raise VerdictError("--to-oci needs an oci:// or kit:// model reference")
    if signing_key is None:
        raise VerdictError(
            f"vet needs a signing key: --signing-key FILE or ${SIGNING_KEY_ENV} "
            "(create one with `modelward keys generate`)"
        )
    if from_file is not None:
        from modelward.cli.vet_from import WorkerSetup, vet_list
        from modelward.engine.cpus import usable_cpus

        def prepare() -> Trusted:
            return _trusted(signing_key, publish, registry, policy, data, expires, scope)

        setup = WorkerSetup(policy, data, offline, behaviour, behaviour_budget)
        workers = jobs or usable_cpus()
        evaluation = (engine_name(engine, opa_url), opa_url)
        raise typer.Exit(vet_list(from_file, workers, report, setup, prepare, evaluation))
    trusted = _trusted(signing_key, publish, registry, policy, data, expires, scope)
    private_key, registry_url, target = trusted.private_key, trusted.registry_url, trusted.target
    bundle = trusted.bundle
    assert model is not None  # check_inputs: exactly one of MODEL and --from
    recorded = ModelRef.parse(reference or model)
    sig = signature_options(signature, key, certificate_chain, identity, issuer, trust_root)
    evaluator = make_evaluator(engine_name(engine, opa_url), opa_url)
    try:
        flags = BehaviourFlags(behaviour, probe_inputs, behaviour_budget)
        facts = collect(model, collect_options(bundle, sig, bom, vuln_db, flags))
        decision = decide(facts, bundle, evaluator)
    finally:
        close_evaluator(evaluator)
    write_output(RENDERERS[output_format.value](facts, decision), output)
    if decision.outcome == "error":
        _note("no verdict signed: the policy evaluation failed")
        raise typer.Exit(EXIT_ERROR)
    created_at = utc_now()
    verdict = Verdict(
        reference=recorded.canonical,
        digest=facts.subject.digest,
        created_at=created_at,
        decision=decision,
        facts=facts.to_json_dict(),
        expires_at=trusted.expires_at(created_at),
        scope=trusted.scope,
    )
    signed = sign_with_key(verdict, private_key)
    if to_oci:
        from modelward.cli.attach import attest_verdict

        origin = facts.origin
        if origin is None or origin.digest is None:
            raise VerdictError(f"{model}: the scan recorded no OCI digest to attach the verdict to")
        attached = attest_verdict(origin.location, origin.digest, signed, private_key)
        _note(f"attestation attached as {attached}")
    _report(signed, recorded, reference is not None, str(verdict.expires_at), trusted.scope)
    if target is not None:
        target.put(signed)
        _note(f"published to {registry_url}")
    else:
        _note("not published (pass --publish to store it in the registry)")
    raise typer.Exit(OUTCOME_EXIT[decision.outcome])


@dataclass(frozen=True)
class Trusted:
    """What only the signing process holds: the key, the registry, the bundle, the lifetime."""

    private_key: ec.EllipticCurvePrivateKey
    registry_url: str
    target: Registry | None  # when publishing
    bundle: PolicyBundle
    expiry: Expiry
    scope: Scope | None = None  # signed into every verdict

    @property
    def lifetime(self) -> timedelta:
        return self.expiry.lifetime()

    def expires_at(self, created_at: str) -> str:
        try:
            return self.expiry.after(created_at)
        except ValueError as exc:
            raise VerdictError(f"--expires: {exc}") from None


def _trusted(
    signing_key: Path,
    publish: bool,
    registry: str | None,
    policy: Path | None,
    data: Path | None,
    expires: str | None,
    scope: list[str] | None = None,
) -> Trusted:
    private_key = read_private_key(signing_key)
    registry_url = registry or default_registry_url()
    if publish:
        check_registry_url(registry_url, writing=True)
    target = open_registry(registry_url, audit=_log_signer(private_key)) if publish else None
    approved = parse_scope(scope or [])
    bundle = load_bundle(policy, data)
    expiry = _expiry(expires, bundle.config.get(MAX_AGE_CONFIG))
    return Trusted(private_key, registry_url, target, bundle, expiry, approved)


def _log_signer(private_key: ec.EllipticCurvePrivateKey) -> EntrySigner:
    """Signs the audit-log entry of each publication with the verdict key."""
    from modelward.engine.verdicts.auditlog.entry import EntrySigner, default_actor

    return EntrySigner(private_key, default_actor(), "vet --publish")


def _report(
    signed: SignedVerdict,
    recorded: ModelRef,
    overridden: bool,
    expires_at: str,
    scope: Scope | None,
) -> None:
    _note(f"verdict: {signed.outcome.upper()} for {signed.reference}")
    _note(f"signed by key {signed.key_id}")
    _note(f"admission trusts it until {expires_at} (--expires)")
    if scope is not None:
        _note(f"approved only for: {scope.describe()} (--scope)")
    if overridden:
        _note("the verdict is recorded under --reference: admission will trust it for that URI")
    if not recorded.pinned:
        _note(
            f"warning: {signed.reference} is not pinned (no commit or content digest); the "
            "verdict covers the files vetted now, not whatever the name points at later"
        )


def _expiry(option: str | None, configured: object) -> Expiry:
    """--expires/--max-age (or $MODELWARD_VERDICT_MAX_AGE), else the bundle's verdict_max_age,
    else 30d."""
    try:
        if option is not None:
            return parse_expiry(option)
    except ValueError as exc:
        raise VerdictError(f"--expires: {exc}") from None
    if configured is None:
        return Expiry(age=DEFAULT_MAX_AGE)
    try:
        value = configured if isinstance(configured, str | int | float) else str(configured)
        return Expiry(age=parse_max_age(value))
    except ValueError as exc:
        raise VerdictError(f"{MAX_AGE_CONFIG} (policy configuration): {exc}") from None


def _note(text: str) -> None:
    typer.echo(text, err=True)

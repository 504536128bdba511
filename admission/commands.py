"""``modelward admission review|check`` (``modelward audit`` is in ``audit``).

Exit codes: 0 nothing would be denied, 1 something would be denied, 2 error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from modelward.admission.config import AutoVettingConfig, WebhookConfig, load_webhook_config
from modelward.admission.env import Candidates, build_env
from modelward.admission.errors import InvalidReview
from modelward.admission.manifests import (
    ManifestError,
    load_manifest,
    object_namespace,
    review_for,
)
from modelward.admission.report import render_json, render_table, would_deny
from modelward.admission.review.core import (
    MAX_BODY_BYTES,
    AdmissionEnv,
    ReviewResult,
    parse_review,
    review,
)
from modelward.engine.errors import Error
from modelward.engine.verdicts.freshness import Freshness
from modelward.engine.verdicts.keys import read_private_key
from modelward.engine.verdicts.registry import check_registry_url, open_registry
from modelward.engine.verdicts.signed import VerdictError, VerdictKeys

admission_app = typer.Typer(help="Run the admission core without a cluster.", no_args_is_help=True)

EXIT_ALLOW, EXIT_DENY = 0, 1
#: The key ``vet`` signs with (as in ``modelward vet``) and the public key(s) checks trust.
SIGNING_KEY_ENV = "MODELWARD_SIGNING_KEY"
VERDICT_KEY_ENV = "MODELWARD_VERDICT_KEY"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Webhook configuration (YAML); default: built-in."),
]
RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help="Verdict registry: sqlite:////ABS/PATH, sqlite:///REL/PATH, a file path or "
        "kubernetes://NAMESPACE (default: the --config file's, else $MODELWARD_REGISTRY, else "
        "$XDG_DATA_HOME/modelward/verdicts.db, as for vet and registry).",
    ),
]
KeysOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--key",
        envvar=VERDICT_KEY_ENV,
        help="Verdict public key(s) to trust instead of the configured verdict_keys (default "
        "without either: the public half of $MODELWARD_SIGNING_KEY).",
    ),
]
FormatOpt = Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")]


@admission_app.command("review")
def review_command(
    review_file: Annotated[Path, typer.Argument(help="AdmissionReview JSON ('-': stdin).")],
    config: ConfigOpt = None,
    labels: Annotated[
        str | None,
        typer.Option("--namespace-labels", help="Labels of the request's namespace: k=v,k2=v2."),
    ] = None,
    registry: RegistryOpt = None,
    key: KeysOpt = None,
) -> None:
    """Answer one AdmissionReview as the webhook would; print the response review."""
    settings = _settings(config, registry, key)
    body = _read_bytes(review_file)
    parsed = parse_review(body)
    known = parse_labels(labels) if labels is not None else None
    labels_of = (lambda _namespace: known) if known is not None else None
    result = judge_with(
        settings, registry, lambda env: [review(parsed, env)], namespace_labels=labels_of
    )
    typer.echo(_dump(result[0].response))


@admission_app.command("check")
def check_command(
    manifest: Annotated[Path, typer.Argument(help="YAML manifest (several documents, Lists).")],
    config: ConfigOpt = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Namespace for objects that name none."),
    ] = None,
    output: FormatOpt = ReportFormat.table,
    registry: RegistryOpt = None,
    key: KeysOpt = None,
) -> None:
    """Review every workload of a manifest as a CREATE; exit 1 if any would be denied.

    The registry and keys resolve as for ``vet`` and ``registry show``: verdicts published with
    the defaults are found here with the defaults."""
    settings = _settings(config, registry, key)
    objects = load_manifest(manifest)

    def decide(env: AdmissionEnv) -> list[ReviewResult]:
        results = []
        for i, (number, obj) in enumerate(objects, start=1):
            where = object_namespace(obj, namespace or "default")
            request = review_for(obj, uid=f"modelward-check-{i}", namespace=where)
            try:
                results.append(review(request, env))
            except InvalidReview as exc:
                raise ManifestError(f"{manifest}: document {number}: {exc}") from None
        return results

    print_report(judge_with(settings, registry, decide), output)


def parse_labels(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` -> {"k": "v", "k2": "v2"}."""
    labels: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise Error(f"--namespace-labels: {item!r} is not key=value")
        labels[key.strip()] = value.strip()
    return labels


def judge_with(
    settings: WebhookConfig,
    registry: str | None,
    decide: Callable[[AdmissionEnv], list[ReviewResult]],
    *,
    candidates: Candidates | None = None,
    namespace_labels: Callable[[str], Mapping[str, str] | None] | None = None,
) -> list[ReviewResult]:
    # Only the webhook requests vetting; answers here must not claim a request was made.
    settings = settings.model_copy(update={"auto_vetting": AutoVettingConfig()})
    if candidates is None and registry is not None:
        candidates = open_registry(registry).candidates
    keys = None if settings.verdict_keys else _signing_key_trust(settings)
    env, close = build_env(
        settings, candidates=candidates, keys=keys, namespace_labels=namespace_labels
    )
    try:
        return decide(env)
    finally:
        close()


def _settings(config: Path | None, registry: str | None, keys: list[Path] | None) -> WebhookConfig:
    """The configuration with ``--key`` applied; a bad ``--registry`` fails here, first."""
    if registry is not None:
        check_registry_url(registry)
    settings = load_webhook_config(config)
    if keys:
        settings = settings.model_copy(update={"verdict_keys": list(keys)})
    return settings


def _signing_key_trust(settings: WebhookConfig) -> VerdictKeys | None:
    """With no key configured: trust the public half of $MODELWARD_SIGNING_KEY (the key
    ``vet`` signs with), so "vet --publish, then admission check" works with the defaults."""
    path = os.environ.get(SIGNING_KEY_ENV)
    if not path:
        return None
    try:
        public = read_private_key(Path(path)).public_key()
    except VerdictError as exc:
        typer.echo(f"note: no verdict key trusted ({exc}); pass --key PUB", err=True)
        return None
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    typer.echo(f"note: trusting the verdicts signed by ${SIGNING_KEY_ENV} ({path})", err=True)
    freshness = Freshness(settings.verdict_freshness.max_age)
    return VerdictKeys.from_pems([pem], freshness=freshness)


def print_report(results: list[ReviewResult], output: ReportFormat) -> None:
    render = render_json if output is ReportFormat.json else render_table
    typer.echo(render(results), nl=False)
    raise typer.Exit(EXIT_DENY if would_deny(results) else EXIT_ALLOW)


def _read_bytes(path: Path) -> bytes:
    """At most one byte more than a review may have (the parser then refuses it)."""
    if str(path) == "-":
        return sys.stdin.buffer.read(MAX_BODY_BYTES + 1)
    try:
        with path.open("rb") as stream:
            return stream.read(MAX_BODY_BYTES + 1)
    except OSError as exc:
        raise Error(f"{path}: cannot read: {exc.strerror}") from None


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2)

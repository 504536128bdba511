"""Options shared by the commands that evaluate policy."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

from modelward.engine.collectors import BehaviourOptions, CollectOptions, SignatureOptions
from modelward.engine.extras import MissingExtra
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.resolvers.fetch import OFFLINE_ENV


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
    str | None, typer.Option("--opa-url", help="Use the OPA server at URL (implies --engine opa).")
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the decision (the exit code says it too).")
]
SummaryOpt = Annotated[
    bool, typer.Option("--summary", help="Print only the decision and a one-line summary.")
]


def writable_output(output: Path | None) -> Path | None:
    """``--output`` is checked before any work: its folder must exist and it is no folder."""
    if output is None:
        return None
    folder = output.parent
    if not folder.is_dir():
        raise typer.BadParameter(f"{output}: the folder {folder} does not exist")
    if output.is_dir():
        raise typer.BadParameter(f"{output} is a folder; name a file")
    return output


OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the report to FILE instead of stdout.",
        callback=writable_output,
    ),
]


SignatureOpt = Annotated[
    Path | None,
    typer.Option("--signature", help="Signature bundle (default: model.sig in the model)."),
]
KeyOpt = Annotated[
    Path | None, typer.Option("--key", help="EC public key (PEM) the model was signed with.")
]
ChainOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--certificate-chain", help="Trust anchor certificate(s) (PEM) for certificate signatures."
    ),
]
IdentityOpt = Annotated[
    str | None, typer.Option("--identity", help="Expected sigstore signer identity.")
]
IssuerOpt = Annotated[str | None, typer.Option("--issuer", help="Expected sigstore OIDC issuer.")]
TrustRootOpt = Annotated[
    Path | None,
    typer.Option(
        "--trust-root", help="Sigstore trusted_root.json or client trust config (offline)."
    ),
]
OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Use only what is cached (remote references); no network. Also MODELWARD_OFFLINE=1.",
    ),
]
BomOpt = Annotated[Path | None, typer.Option("--bom", help="CycloneDX ML-BOM for the model.")]
VulnDbOpt = Annotated[
    Path | None,
    typer.Option(
        "--vuln-db",
        envvar="MODELWARD_VULN_DB",
        help="Offline OSV vulnerability database (a folder of OSV JSON files or a zip such as "
        "PyPI all.zip) to check the model's pinned dependencies against. Never downloaded.",
    ),
]


BehaviourOpt = Annotated[
    bool,
    typer.Option(
        "--behaviour",
        help="Also query the model's ONNX classifier for backdoor evidence, in a sandboxed "
        "process (also behaviour.enabled in the policy configuration).",
    ),
]
ProbeInputsOpt = Annotated[
    Path | None,
    typer.Option(
        "--probe-inputs",
        exists=True,
        dir_okay=False,
        help="Clean inputs for --behaviour (implies it): a .npy array shaped like the model "
        "input, or UTF-8 text with one sample per line for string-input models.",
    ),
]
BehaviourBudgetOpt = Annotated[
    float | None,
    typer.Option(
        "--behaviour-budget",
        min=5.0,
        max=3600.0,
        help="Wall-clock seconds the behaviour analysis may take (default: "
        "behaviour.budget_seconds in the policy configuration, else 60).",
    ),
]
#: The policy configuration key of the behaviour analysis settings.
BEHAVIOUR_CONFIG = "behaviour"
DEFAULT_BEHAVIOUR_BUDGET = 60.0


@dataclass(frozen=True)
class BehaviourFlags:
    """What the command line says about the behaviour analysis."""

    enabled: bool = False
    probe_inputs: Path | None = None
    budget_seconds: float | None = None


def behaviour_options(bundle: PolicyBundle, flags: BehaviourFlags) -> BehaviourOptions | None:
    """The analysis to run: asked for by a flag or by ``behaviour.enabled``; None otherwise."""
    config = bundle.config.get(BEHAVIOUR_CONFIG)
    settings = config if isinstance(config, dict) else {}
    wanted = flags.enabled or flags.probe_inputs is not None or settings.get("enabled") is True
    if not wanted:
        return None
    if find_spec("onnxruntime") is None:  # located, not imported: it loads in the sandbox only
        raise MissingExtra("behaviour", "--behaviour", "onnxruntime")
    budget = flags.budget_seconds or settings.get("budget_seconds") or DEFAULT_BEHAVIOUR_BUDGET
    try:
        seconds = float(budget)
    except (TypeError, ValueError):
        raise typer.BadParameter(f"behaviour.budget_seconds: not a number: {budget!r}") from None
    return BehaviourOptions(probe_inputs=flags.probe_inputs, budget_seconds=seconds)


def engine_name(engine: Engine, opa_url: str | None) -> str:
    """The engine to use: ``--opa-url`` implies ``--engine opa``."""
    return Engine.opa.value if opa_url else engine.value


def signature_options(
    signature: Path | None,
    key: Path | None,
    chain: list[Path] | None,
    identity: str | None,
    issuer: str | None,
    trust_root: Path | None,
) -> SignatureOptions:
    return SignatureOptions(
        signature=signature, key=key, certificate_chain=tuple(chain or ()),
        identity=identity, issuer=issuer, trust_root=trust_root,
    )  # fmt: skip


def go_offline(offline: bool) -> None:
    """``--offline``: every resolver (and the Hub client) reads its offline switch from here."""
    if offline:
        os.environ[OFFLINE_ENV] = "1"
        os.environ["HF_HUB_OFFLINE"] = "1"


def collect_options(
    bundle: PolicyBundle,
    signature: SignatureOptions,
    bom: Path | None,
    vuln_db: Path | None = None,
    behaviour: BehaviourFlags | None = None,
) -> CollectOptions:
    return CollectOptions(
        signature=signature,
        bom=bom,
        trusted_publishers=_names(bundle, "trusted_publishers"),
        vuln_db=vuln_db,
        well_known_packages=_names(bundle, "well_known_packages"),
        dependency_allowlist=_names(bundle, "dependency_allowlist"),
        behaviour=behaviour_options(bundle, behaviour or BehaviourFlags()),
    )


def _names(bundle: PolicyBundle, key: str) -> tuple[str, ...]:
    return tuple(map(str, bundle.config.get(key) or []))


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def dump_json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"

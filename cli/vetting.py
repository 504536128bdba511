"""``modelward vetting run|request|list``: the vetting worker, and requests to the controller."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from modelward.cli.exit import EXIT_ERROR, OUTCOME_EXIT
from modelward.cli.options import DataOpt, OfflineOpt, PolicyOpt, dump_json, go_offline

app = typer.Typer(
    help="Vet models at scale: the worker a vetting Job runs, and ModelVetting requests.",
    no_args_is_help=True,
)

RESULT_FILE_ENV = "MODELWARD_RESULT_FILE"
NamespaceOpt = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="Namespace (default: the kubeconfig's, else default)."),
]
KubeconfigOpt = Annotated[
    Path | None, typer.Option("--kubeconfig", help="Kubeconfig (default: $KUBECONFIG).")
]


@app.command("run")
def run_command(
    reference: Annotated[str, typer.Argument(help="The model reference to vet.")],
    result_file: Annotated[
        Path | None,
        typer.Option(
            "--result-file",
            envvar=RESULT_FILE_ENV,
            help="Also write the result here (a container's terminationMessagePath): the "
            "result itself when it fits in 4096 bytes, else a pointer to the log line.",
        ),
    ] = None,
    policy: PolicyOpt = None,
    data: DataOpt = None,
    policy_data: Annotated[
        str | None,
        typer.Option(
            "--policy-data",
            envvar="MODELWARD_POLICY_DATA",
            help="Policy configuration as JSON, applied after --data (the controller passes "
            "its own, so the facts are collected as its policies expect).",
        ),
    ] = None,
    offline: OfflineOpt = False,
) -> None:
    """Collect facts for REFERENCE and print the vetting result (no key, nothing signed).

    The last line of standard output is the result; the controller or `vet --from` validates
    it, evaluates the policies again and signs the verdict. Exit 0 whenever a result was
    written (a source error is a result too), 2 otherwise.
    """
    from modelward.engine.vetting.result import encode_result, termination_message
    from modelward.engine.vetting.worker import vet_reference

    go_offline(offline)
    result = _worker_result(reference, policy, data, policy_data, vet_reference)
    line = encode_result(result)
    typer.echo(_summary(result), err=True)
    typer.echo(line)
    if result_file is not None:
        result_file.write_text(termination_message(line), encoding="utf-8")


def _worker_result(
    reference: str, policy: Path | None, data: Path | None, policy_data: str | None, vet: Any
) -> Any:
    from modelward.cli.options import collect_options, signature_options
    from modelward.engine.policy.bundle import load_bundle
    from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator

    bundle = load_bundle(policy, data)
    if policy_data:
        _apply_policy_data(bundle, policy_data)
    options = collect_options(bundle, signature_options(None, None, None, None, None, None), None)
    return vet(reference, options, bundle, EmbeddedEvaluator())


def _apply_policy_data(bundle: Any, text: str) -> None:
    """The keys this bundle knows; others belong to the caller's own policies, which decide."""
    from modelward.engine.policy.bundle import load_config_text
    from modelward.engine.policy.config_schema import check_config

    values = load_config_text(text, "--policy-data")
    known = {k: v for k, v in values.items() if k in bundle.config_types}
    check_config(known, bundle.config_types, "--policy-data")
    bundle.config = {**bundle.config, **known}


def _summary(result: Any) -> str:
    if result.status == "source-error":
        kind = "transient source error" if result.transient else "source error"
        return f"{result.reference}: {kind}: {result.error}"
    seconds, outcome = f"{result.seconds:.1f}s", result.claimed_outcome
    return f"{result.reference}: scanned in {seconds}, policies say {outcome}"


@app.command("request")
def request_command(
    reference: Annotated[str, typer.Argument(help="The model reference to vet.")],
    namespace: NamespaceOpt = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="A policy bundle the controller knows.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the outcome (exit 0 allow, 1 deny, 2 failed).")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits.")] = 1800,
    kubeconfig: KubeconfigOpt = None,
) -> None:
    """Ask the in-cluster controller to vet REFERENCE (a ModelVetting; asking twice is one)."""
    from modelward.engine.refs import ModelRef
    from modelward.engine.vetting.requests import request_vetting

    canonical = ModelRef.parse(reference).canonical
    api, where = _cluster(namespace, kubeconfig)
    obj, created = request_vetting(api, where, canonical, policy=policy)
    name = obj["metadata"]["name"]
    verb = "requested" if created else "already requested"
    typer.echo(f"{verb}: ModelVetting {where}/{name} for {canonical}", err=True)
    typer.echo(f"follow it: kubectl get modelvetting -n {where} {name} -w", err=True)
    if wait:
        raise typer.Exit(_wait(api, where, canonical, timeout))


def _wait(api: Any, namespace: str, reference: str, timeout: float) -> int:
    from modelward.engine.vetting.requests import get_vetting

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = get_vetting(api, namespace, reference).get("status") or {}
        if status.get("phase") == "Succeeded":
            typer.echo(f"verdict: {str(status.get('outcome')).upper()}", err=True)
            return OUTCOME_EXIT.get(str(status.get("outcome")), EXIT_ERROR)
        if status.get("phase") == "Failed":
            typer.echo(f"failed: {status.get('reason')}: {status.get('message')}", err=True)
            return EXIT_ERROR
        time.sleep(2)
    typer.echo(f"no outcome after {timeout:.0f}s", err=True)
    return EXIT_ERROR


@app.command("list")
def list_command(
    namespace: NamespaceOpt = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    kubeconfig: KubeconfigOpt = None,
) -> None:
    """List ModelVetting requests with their phase and outcome."""
    from modelward.engine.vetting.requests import list_vettings

    api, where = _cluster(namespace, kubeconfig)
    items = list_vettings(api, None if all_namespaces else where)
    rows = [_row(item) for item in items]
    if as_json:
        typer.echo(dump_json(rows), nl=False)
        return
    header = ("NAMESPACE", "NAME", "PHASE", "OUTCOME", "ATTEMPTS", "REFERENCE")
    table = [header, *[tuple(str(r[k]) for k in _COLUMNS) for r in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


_COLUMNS = ("namespace", "name", "phase", "outcome", "attempts", "reference")


def _row(item: dict[str, Any]) -> dict[str, Any]:
    status = item.get("status") or {}
    meta = item.get("metadata") or {}
    return {
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "phase": status.get("phase") or "Pending",
        "outcome": status.get("outcome") or "",
        "attempts": status.get("attempts") or 0,
        "reference": (item.get("spec") or {}).get("reference", ""),
        "reason": status.get("reason") or "",
    }


def _cluster(namespace: str | None, kubeconfig: Path | None) -> tuple[Any, str]:
    from modelward.engine.errors import Error
    from modelward.engine.kubeclient import api_client, kubeconfig_location

    api = api_client("auto", kubeconfig)
    if api is None:
        raise Error("no Kubernetes credentials (not in a cluster, no kubeconfig found)")
    return api, namespace or _default_namespace(kubeconfig_location(kubeconfig))


def _default_namespace(location: str | None) -> str:
    in_cluster = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    if os.environ.get("KUBERNETES_SERVICE_HOST") and in_cluster.is_file():
        return in_cluster.read_text().strip()
    if location is None:
        return "default"
    from kubernetes import config

    try:
        _, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=location.split(os.pathsep)[0]
        )
    except (config.ConfigException, OSError):
        return "default"
    return str((active or {}).get("context", {}).get("namespace") or "default")

"""``modelward audit``: judge the workloads running in a cluster, as the webhook would.

Exit codes: 0 nothing would be denied, 1 something would be denied, 2 error. ``audit_pass`` is
shared with ``modelward inventory``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from modelward.admission.cluster import controlled_by_workload, list_workloads, namespace_labels
from modelward.admission.commands import (
    ConfigOpt,
    FormatOpt,
    RegistryOpt,
    ReportFormat,
    judge_with,
    print_report,
)
from modelward.admission.config import WebhookConfig, load_webhook_config
from modelward.admission.env import Candidates
from modelward.admission.manifests import object_namespace, review_for
from modelward.admission.review.core import AdmissionEnv, ReviewResult, review
from modelward.engine.errors import Error
from modelward.engine.verdicts.registry import check_registry_url, open_registry

KubeconfigOpt = Annotated[
    Path | None,
    typer.Option("--kubeconfig", help="kubeconfig (default: $KUBECONFIG, ~/.kube/config)."),
]
NamespaceOpt = Annotated[str | None, typer.Option("--namespace", "-n", help="Audit one namespace.")]


def audit_command(
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    namespace: NamespaceOpt = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Audit every namespace (the default).")
    ] = False,
    output: FormatOpt = ReportFormat.table,
    registry: RegistryOpt = None,
    include_owned: Annotated[
        bool,
        typer.Option("--include-owned", help="Also list objects a listed workload controls."),
    ] = False,
    policy_report: Annotated[
        bool,
        typer.Option(
            "--policy-report",
            help="Also write the results as wgpolicyk8s.io PolicyReports (one per namespace).",
        ),
    ] = False,
    exit_zero: Annotated[
        bool,
        typer.Option("--exit-zero", help="Exit 0 even when something would be denied (a job)."),
    ] = False,
    record_inventory: Annotated[
        bool,
        typer.Option(
            "--record-inventory",
            help="Also store the inventory with the registry's verdicts (as inventory --record).",
        ),
    ] = False,
) -> None:
    """Evaluate the workloads already running in a cluster and print a report."""
    if namespace is not None and all_namespaces:
        raise Error("--namespace and --all-namespaces exclude each other")
    audited = audit_pass(config, kubeconfig, namespace, registry, include_owned=include_owned)
    if policy_report:
        from modelward.admission.policyreport import build_reports, write_reports

        reports = build_reports(audited.objects, audited.results)
        for name in write_reports(audited.client, reports):
            typer.echo(f"policy report written: {name}", err=True)
    if record_inventory:
        from modelward.admission.inventory import deployments, record_snapshot

        where = record_snapshot(audited, registry, deployments(audited.objects, audited.results))
        typer.echo(f"inventory recorded in {where}", err=True)
    try:
        print_report(audited.results, output)
    except typer.Exit as exit_:
        raise typer.Exit(0 if exit_zero else exit_.exit_code) from None


@dataclass(frozen=True)
class Audited:
    """The workloads of one audit pass, their decisions (same order) and the API client."""

    client: Any
    objects: list[dict[str, Any]]
    results: list[ReviewResult]
    settings: WebhookConfig


def audit_pass(
    config: Path | None,
    kubeconfig: Path | None,
    namespace: str | None,
    registry: str | None,
    *,
    include_owned: bool = False,
) -> Audited:
    """Judge the workloads running in the cluster as UPDATEs (what ``audit`` reports)."""
    settings = load_webhook_config(config)
    if registry is not None:
        check_registry_url(registry)
    client = _cluster_client(settings, kubeconfig)
    objects = [
        obj
        for obj in list_workloads(client, namespace)
        if include_owned or not controlled_by_workload(obj)
    ]
    labels = namespace_labels(client)
    candidates = _kubernetes_candidates(settings, registry, client)

    def decide(env: AdmissionEnv) -> list[ReviewResult]:
        results = []
        for i, obj in enumerate(objects, start=1):
            where = object_namespace(obj, "")
            request = review_for(
                obj, uid=f"modelward-audit-{i}", operation="UPDATE", namespace=where
            )
            results.append(review(request, env))
        return results

    results = judge_with(
        settings, registry, decide, candidates=candidates, namespace_labels=labels.get
    )
    return Audited(client, objects, results, settings)


def _cluster_client(settings: WebhookConfig, kubeconfig: Path | None) -> Any:
    from modelward.engine.kubeclient import api_client

    access = settings.kubernetes.access
    if kubeconfig is not None:
        access = "kubeconfig"
    elif access == "off":
        access = "auto"
    client = api_client(access, kubeconfig or settings.kubernetes.kubeconfig)
    if client is None:
        raise Error("no Kubernetes credentials: pass --kubeconfig or set $KUBECONFIG")
    return client


def _kubernetes_candidates(
    settings: WebhookConfig, registry: str | None, client: Any
) -> Candidates | None:
    """A ModelVerdict registry reached with the audit's own credentials, when one is used."""
    if registry is not None and registry.startswith("kubernetes://"):
        return open_registry(registry, api_client=client).candidates
    if registry is None and settings.registry.type == "kubernetes":
        url = f"kubernetes://{settings.registry.namespace}"
        return open_registry(url, api_client=client).candidates
    return None

"""The chart with the controller and auto-vetting, installed on a real API server (RBAC on): the
ModelVetting CRD is accepted and shows phase and outcome; only the controller may write status;
each ServiceAccount may do what its work needs, in the namespaces it needs, and nothing else."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from modelward.engine.vetting.resource import GROUP, PLURAL, VERSION, new_vetting
from tests.chart import CHART, NAMESPACE, helm, helm_env
from tests.conftest import tool_binary
from tests.e2e.kube import cluster_fixture

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture("module")
CONTROLLER = f"system:serviceaccount:{NAMESPACE}:modelward-controller"
WEBHOOK = f"system:serviceaccount:{NAMESPACE}:modelward"
AUDIT = f"system:serviceaccount:{NAMESPACE}:modelward-audit"
INVENTORY = {"name": "modelward-inventory"}
REFERENCE = "hf://org/model@" + "a" * 40
STATUS = {
    "phase": "Succeeded",
    "attempts": 1,
    "jobName": "vet-job-1",
    "digest": "sha256:" + "b" * 64,
    "verdict": "verdict-1",
    "outcome": "allow",
    "reason": "VerdictPublished",
    "message": "allowed",
    "startedAt": "2026-01-01T00:00:00Z",
    "completedAt": "2026-01-01T00:01:00Z",
    "observedBundle": "builtin",
    "scanner": "modelward 0.1.0",
    "result": "c" * 64,
    "conditions": [
        {
            "type": "Complete",
            "status": "True",
            "reason": "VerdictPublished",
            "message": "allowed",
            "lastTransitionTime": "2026-01-01T00:01:00Z",
            "observedGeneration": 1,
        }
    ],
}


@pytest.fixture(scope="module")
def installed(kube_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    env = {
        **helm_env(tmp_path_factory.mktemp("helm")),
        "KUBECONFIG": str(kube_cluster.kubeconfig_path),
    }
    result = helm(
        "install", "modelward", str(CHART), "--namespace", NAMESPACE, "--create-namespace",
        "--set", "controller.enabled=true",
        "--set", "controller.signingKey.existingSecret=modelward-signing",
        "--set", "admission.autoVetting.enabled=true",
        "--set", "webhook.failurePolicy=Ignore",  # nothing serves the webhook here
        "--set", "policyReports.enabled=true",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    api = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "ml"}})
    yield api


def _kubectl(cluster: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool_binary("kubectl")), "--kubeconfig", str(cluster.kubeconfig_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _allowed(api: Any, user: str, verb: str, what: str, namespace: str, **extra: str) -> bool:
    """The API server's answer: may ``user`` ``verb`` ``what`` (plural[.group][/subresource])?"""
    resource, _, subresource = what.partition("/")
    plural, _, group = resource.partition(".")
    attributes = {"verb": verb, "group": group, "resource": plural, "namespace": namespace, **extra}
    if subresource:
        attributes["subresource"] = subresource
    review = client.AuthorizationV1Api(api).create_subject_access_review(
        {"spec": {"user": user, "resourceAttributes": attributes}}
    )
    return bool(review.status.allowed)


def test_status_is_the_controllers_and_kubectl_shows_it(kube_cluster: Any, installed: Any) -> None:
    objects = client.CustomObjectsApi(installed)
    body = new_vetting(REFERENCE, "ml", requested_by="webhook")
    created = objects.create_namespaced_custom_object(
        GROUP, VERSION, "ml", PLURAL, {**body, "status": STATUS}
    )
    assert "status" not in created  # the main resource cannot set it
    name = body["metadata"]["name"]
    patch = json.dumps({"status": STATUS})
    denied = _kubectl(kube_cluster, "patch", PLURAL, name, "-n", "ml", "--as", WEBHOOK,
                      "--subresource=status", "--type=merge", "-p", patch)  # fmt: skip
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    done = _kubectl(kube_cluster, "patch", PLURAL, name, "-n", "ml", "--as", CONTROLLER,
                    "--subresource=status", "--type=merge", "-p", patch)  # fmt: skip
    assert done.returncode == 0, done.stderr
    bad = json.dumps({"status": {"reason": "not a word"}})
    invalid = _kubectl(kube_cluster, "patch", PLURAL, name, "-n", "ml", "--as", CONTROLLER,
                       "--subresource=status", "--type=merge", "-p", bad)  # fmt: skip
    assert invalid.returncode != 0 and "status.reason" in invalid.stderr
    table = _kubectl(kube_cluster, "get", "mvet", "-n", "ml", "-o", "wide")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split() == ["NAME", "REFERENCE", "PHASE", "OUTCOME", "ATTEMPTS", "REASON", "AGE"]
    assert row.split()[:6] == [name, REFERENCE, "Succeeded", "allow", "1", "VerdictPublished"]


# (user, verb, resource, namespace, extra attributes, allowed)
ACCESS = [
    (CONTROLLER, "watch", "modelvettings.modelward.dev", "", {}, True),
    (CONTROLLER, "patch", "modelvettings.modelward.dev/status", "ml", {}, True),
    (CONTROLLER, "update", "modelvettings.modelward.dev", "ml", {}, False),
    (CONTROLLER, "create", "modelvettings.modelward.dev", NAMESPACE, {}, True),
    (CONTROLLER, "create", "modelvettings.modelward.dev", "ml", {}, False),
    (CONTROLLER, "create", "jobs.batch", NAMESPACE, {}, True),
    (CONTROLLER, "create", "jobs.batch", "ml", {}, False),
    (CONTROLLER, "get", "pods/log", NAMESPACE, {}, True),
    (CONTROLLER, "get", "pods/log", "ml", {}, False),
    (CONTROLLER, "create", "pods", NAMESPACE, {}, False),
    (CONTROLLER, "get", "secrets", NAMESPACE, {}, False),
    (
        CONTROLLER,
        "update",
        "leases.coordination.k8s.io",
        NAMESPACE,
        {"name": "modelward-controller"},
        True,
    ),
    (CONTROLLER, "update", "leases.coordination.k8s.io", NAMESPACE, {"name": "other"}, False),
    (CONTROLLER, "create", "modelverdicts.modelward.dev", NAMESPACE, {}, True),
    (CONTROLLER, "delete", "modelverdicts.modelward.dev", NAMESPACE, {}, False),
    (CONTROLLER, "create", "configmaps", NAMESPACE, {}, True),  # audit-log entries
    (CONTROLLER, "update", "configmaps", NAMESPACE, {}, False),  # ... never rewritten
    (CONTROLLER, "delete", "configmaps", NAMESPACE, {}, False),
    (CONTROLLER, "create", "configmaps", "ml", {}, False),
    (CONTROLLER, "create", "events", "ml", {}, True),
    (WEBHOOK, "create", "modelvettings.modelward.dev", "ml", {}, True),
    (WEBHOOK, "get", "modelvettings.modelward.dev", "ml", {}, True),
    (WEBHOOK, "list", "modelvettings.modelward.dev", "ml", {}, False),
    (WEBHOOK, "patch", "modelvettings.modelward.dev/status", "ml", {}, False),
    (WEBHOOK, "create", "modelverdicts.modelward.dev", NAMESPACE, {}, False),
    (WEBHOOK, "create", "configmaps", NAMESPACE, {}, False),
    (AUDIT, "list", "pods", "", {}, True),  # the PolicyReport CronJob
    (AUDIT, "list", "deployments.apps", "ml", {}, True),
    (AUDIT, "list", "modelverdicts.modelward.dev", NAMESPACE, {}, True),
    (AUDIT, "create", "policyreports.wgpolicyk8s.io", "ml", {}, True),
    (AUDIT, "delete", "policyreports.wgpolicyk8s.io", "ml", {}, False),
    (AUDIT, "update", "configmaps", NAMESPACE, INVENTORY, True),
    (AUDIT, "update", "configmaps", NAMESPACE, {"name": "modelward-log-0000000000"}, False),
    (AUDIT, "get", "secrets", "ml", {}, False),
    (AUDIT, "create", "pods", "ml", {}, False),
    (AUDIT, "create", "modelverdicts.modelward.dev", NAMESPACE, {}, False),
]


@pytest.mark.parametrize(("user", "verb", "resource", "namespace", "extra", "allowed"), ACCESS)
def test_service_accounts_have_exactly_their_access(
    installed: Any,
    user: str,
    verb: str,
    resource: str,
    namespace: str,
    extra: dict[str, str],
    allowed: bool,
) -> None:
    assert _allowed(installed, user, verb, resource, namespace, **extra) is allowed


def test_uninstall_keeps_the_crds(kube_cluster: Any, installed: Any, tmp_path: Path) -> None:
    env = {**helm_env(tmp_path / "helm"), "KUBECONFIG": str(kube_cluster.kubeconfig_path)}
    result = helm("uninstall", "modelward", "--namespace", NAMESPACE, env=env)
    assert result.returncode == 0, result.stderr
    crds = client.ApiextensionsV1Api(installed)
    assert crds.read_custom_resource_definition("modelvettings.modelward.dev")

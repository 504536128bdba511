"""Auto-vetting against a real kube-apiserver: the webhook asks for a ModelVetting when it denies
a model nobody vetted, in namespaces labelled ``modelward.dev/auto-vet=true`` only.

The webhook runs with the chart rendered with ``admission.autoVetting.enabled`` (its
``webhook.yaml`` has ``auto_vetting``, its webhook configuration ``sideEffects: NoneOnDryRun``).
The webhook uses the admin kubeconfig (``system:masters``), so no RBAC is created here.

The webhook performs requests in order, one at a time, after answering; so once a request made
later has appeared, an earlier one that was never made will not appear either.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client

from modelward.engine.vetting.requests import VettingRequestError, get_vetting, list_vettings
from modelward.engine.vetting.resource import vetting_name
from tests.e2e.admission_cluster import (
    ApiResult,
    Webhook,
    create,
    installed,
    make_namespace,
)
from tests.e2e.kube import Cluster, cluster_fixture

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture("module")

LABEL = "modelward.dev/auto-vet"
LABELLED = "ml-auto-vet"
UNLABELLED = "ml-no-auto-vet"
WAIT_SECONDS = 30.0
_revisions = itertools.count(1)


def unvetted() -> str:
    """A pinned reference no verdict exists for, new on every call."""
    return f"hf://example-org/unvetted-model@{next(_revisions):040x}"


#: The chart with auto-vetting (which renders ``auto_vetting`` and ``sideEffects: NoneOnDryRun``).
AUTO_VETTING = [
    "--set", "admission.autoVetting.enabled=true",
    "--set", "controller.enabled=true",
    "--set", "controller.signingKey.existingSecret=verdict-signing",
]  # fmt: skip


@dataclass
class Setup:
    cluster: Cluster
    api: client.ApiClient
    webhook: Webhook


@pytest.fixture(scope="module")
def setup(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with installed(kube_cluster, tmp_path_factory.mktemp("auto-vet"), AUTO_VETTING) as release:
        make_namespace(release.api, LABELLED, {LABEL: "true"})
        make_namespace(release.api, UNLABELLED)
        yield Setup(kube_cluster, release.api, release.webhook)


def pod(name: str, reference: str) -> dict[str, Any]:
    repo, _, revision = reference.removeprefix("hf://").partition("@")
    server = {
        "name": "server",
        "image": "registry.invalid/vllm-openai:v0.9",
        "command": ["/bin/sh", "-c"],
        "args": [f"vllm serve {repo} --revision {revision} --port 8000"],
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [server]}}  # fmt: skip


def apply(setup: Setup, namespace: str, name: str, reference: str, query: str = "") -> ApiResult:
    path = f"/api/v1/namespaces/{namespace}/pods{query}"
    result = create(setup.cluster, path, pod(name, reference))
    assert result.status == 403, (result.status, result.body)
    assert "model-unvetted" in result.message, result.message
    return result


def wait_for_vetting(setup: Setup, namespace: str, reference: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            return get_vetting(setup.api, namespace, reference)
        except VettingRequestError:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no ModelVetting for {reference} in {namespace}: "
                    f"{setup.webhook.stderr_path.read_text()[-3000:]}"
                ) from None
            time.sleep(0.2)


def requests_drained(setup: Setup) -> None:
    """Every request the webhook queued so far has been performed (see the module docstring)."""
    marker = unvetted()
    apply(setup, LABELLED, "marker", marker)
    wait_for_vetting(setup, LABELLED, marker)


def references(setup: Setup, namespace: str) -> list[str]:
    return [item["spec"]["reference"] for item in list_vettings(setup.api, namespace)]


def metric(setup: Setup, result: str) -> float:
    status, text = setup.webhook.get("/metrics")
    assert status == 200
    series = f'modelward_webhook_vetting_requests_total{{result="{result}"}} '
    [line] = [line for line in text.splitlines() if line.startswith(series)]
    return float(line.split()[-1])


def test_an_unvetted_model_is_denied_and_its_vetting_requested(setup: Setup) -> None:
    reference = unvetted()
    result = apply(setup, LABELLED, "unvetted", reference)
    command = f"kubectl get modelvetting -n {LABELLED} {vetting_name(reference)} -w"
    assert f"vetting requested: {command}; apply again once it has succeeded" in result.message
    assert f"vetting requested: {command}" in result.warnings
    vetting = wait_for_vetting(setup, LABELLED, reference)
    assert vetting["metadata"]["name"] == vetting_name(reference)
    assert vetting["spec"]["reference"] == reference
    assert vetting["spec"]["requestedBy"] == "webhook"
    assert f"Pod {LABELLED}/unvetted" in vetting["spec"]["reason"]
    assert metric(setup, "requested") >= 1 and metric(setup, "failed") == 0


def test_applying_twice_gives_one_modelvetting(setup: Setup) -> None:
    reference = unvetted()
    for _ in range(2):
        result = apply(setup, LABELLED, "twice", reference)
        assert "vetting requested" in result.message
    wait_for_vetting(setup, LABELLED, reference)
    requests_drained(setup)
    assert references(setup, LABELLED).count(reference) == 1
    log = setup.webhook.stderr_path.read_text()
    assert log.count(f"ModelVetting {LABELLED}/{vetting_name(reference)} created") == 1


def test_a_dry_run_create_requests_nothing(setup: Setup) -> None:
    reference = unvetted()
    result = apply(setup, LABELLED, "dry", reference, "?dryRun=All")
    assert "vetting requested" not in result.message
    assert not any("vetting" in line for line in result.warnings)
    requests_drained(setup)
    assert reference not in references(setup, LABELLED)


def test_an_unlabelled_namespace_requests_nothing(setup: Setup) -> None:
    reference = unvetted()
    result = apply(setup, UNLABELLED, "unlabelled", reference)
    assert "vetting requested" not in result.message
    requests_drained(setup)
    assert references(setup, UNLABELLED) == []
    assert reference not in references(setup, LABELLED)

"""The admission webhook against a real kube-apiserver, installed from the chart's manifests.

Scenarios (issue "Verdict registry and the Kubernetes admission webhook"): unvetted models are
denied with a message naming the model and the policy; a model with a signed, approved verdict
is admitted; a forged verdict is denied; warn mode admits with warnings; an exempt namespace is
admitted; kube-system is never sent to the webhook; a KServe InferenceService is judged by its
storageUri. The webhook runs with the ``webhook.yaml`` and keys the chart renders.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from modelward.engine.verdicts.keys import load_private_key, public_pem
from modelward.engine.verdicts.registry.kubernetes import KubernetesRegistry
from modelward.engine.verdicts.signed import SignedVerdict, Verdict, generate_keypair, sign_verdict
from tests.e2e.admission_cluster import (
    RELEASE_NAMESPACE,
    ApiResult,
    Webhook,
    create,
    installed,
    make_namespace,
    run_modelward,
)
from tests.e2e.kube import REPO, Cluster, cluster_fixture

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture("module")

MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"
VETTED = "hf://sentence-transformers/all-MiniLM-L6-v2@7dbbc90392e2f80f3d3c277d6e90027e55de9125"
UNVETTED = "hf://example-org/unvetted-model@" + "1" * 40
FORGED = "hf://example-org/forged-model@" + "2" * 40
TAMPERED = "hf://example-org/tampered-model@" + "3" * 40
EXEMPT = "ml-exempt"


@dataclass
class Setup:
    cluster: Cluster
    api: client.ApiClient
    webhook: Webhook
    enforce: str
    warn: str
    private_key: Path


@pytest.fixture(scope="module")
def setup(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("admission")
    exempt = ["--set", f"admission.exemptNamespaces={{{EXEMPT}}}"]
    with installed(kube_cluster, root, exempt) as release:
        api = release.api
        _publish_verdicts(kube_cluster, api, release.private_key)
        setup = Setup(
            kube_cluster, api, release.webhook,
            enforce=make_namespace(api, "ml-enforce"),
            warn=make_namespace(api, "ml-warn", {"modelward.dev/mode": "warn"}),
            private_key=release.private_key,
        )  # fmt: skip
        make_namespace(api, EXEMPT)
        _wait_for_verdict(setup)
        yield setup


def _publish_verdicts(cluster: Cluster, api: client.ApiClient, private: Path) -> None:
    vet = run_modelward(
        ["vet", str(MODEL), "--reference", VETTED, "--signing-key", str(private),
         "--publish", "--registry", f"kubernetes://{RELEASE_NAMESPACE}"],
        cluster,
    )  # fmt: skip
    assert vet.returncode == 0, vet.stdout + vet.stderr
    registry = KubernetesRegistry(RELEASE_NAMESPACE, api)
    stored = registry.get(VETTED)
    assert stored is not None
    genuine = stored.unverified_verdict()
    assert genuine is not None
    # A verdict for FORGED signed by a key the webhook does not trust.
    rogue_key, _ = generate_keypair()
    registry.put(sign_verdict(_for(genuine, FORGED), rogue_key))
    # A verdict for TAMPERED signed by the trusted key, then edited after signing.
    signed = sign_verdict(_for(genuine, TAMPERED), private.read_bytes())
    registry.put(_tampered(signed))


def _for(verdict: Verdict, reference: str) -> Verdict:
    return verdict.model_copy(update={"reference": reference})


def _tampered(signed: SignedVerdict) -> SignedVerdict:
    envelope = copy.deepcopy(signed.envelope)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["decision"]["outcome"] = "allow"
    payload["created_at"] = "2030-01-01T00:00:00Z"
    envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    return SignedVerdict.from_envelope(envelope)


def _wait_for_verdict(setup: Setup) -> None:
    """The webhook's watch-fed cache sees the published verdict (a dry-run create is admitted)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = create(setup.cluster, _pods(setup.enforce) + "?dryRun=All", _pod("probe", VETTED))
        if result.status == 201:
            return
        time.sleep(0.5)
    raise AssertionError(f"vetted model still refused: {result.status} {result.message}")


def _pods(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


def _deployments(namespace: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments"


def _isvcs(namespace: str) -> str:
    return f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices"


def _hf_args(reference: str) -> tuple[str, str]:
    repo, _, revision = reference.removeprefix("hf://").partition("@")
    return repo, revision


def _server(reference: str) -> dict[str, Any]:
    repo, revision = _hf_args(reference)
    return {
        "name": "server",
        "image": "registry.invalid/vllm-openai:v0.9",
        "command": ["/bin/sh", "-c"],
        "args": [f"vllm serve {repo} --revision {revision} --port 8000"],
    }


def _pod(name: str, reference: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [_server(reference)]},
    }


def _deployment(name: str, reference: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [_server(reference)]},
            },
        },
    }


def _isvc(name: str, reference: str) -> dict[str, Any]:
    repo, revision = _hf_args(reference)
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"},
                                         "storageUri": f"hf://{repo}:{revision}"}}},
    }  # fmt: skip


def _assert_denied(result: ApiResult, *needles: str) -> None:
    assert result.status == 403, (result.status, result.body)
    for needle in needles:
        assert needle in result.message, (needle, result.message)


def test_pod_with_unvetted_model_is_denied_naming_model_and_policy(setup: Setup) -> None:
    result = create(setup.cluster, _pods(setup.enforce), _pod("unvetted", UNVETTED))
    _assert_denied(result, "example-org/unvetted-model", "model-unvetted", "Pod", "server")


def test_deployment_with_unvetted_model_is_denied(setup: Setup) -> None:
    result = create(setup.cluster, _deployments(setup.enforce), _deployment("unvetted", UNVETTED))
    _assert_denied(result, "example-org/unvetted-model", "model-unvetted", "Deployment")


def test_pod_and_deployment_with_vetted_signed_approved_model_are_admitted(setup: Setup) -> None:
    pod = create(setup.cluster, _pods(setup.enforce), _pod("vetted", VETTED))
    assert pod.status == 201, pod.body
    deployment = create(setup.cluster, _deployments(setup.enforce), _deployment("vetted", VETTED))
    assert deployment.status == 201, deployment.body


def test_verdict_signed_by_an_untrusted_key_is_denied(setup: Setup) -> None:
    result = create(setup.cluster, _pods(setup.enforce), _pod("forged", FORGED))
    _assert_denied(result, "example-org/forged-model", "verdict-untrusted")


def test_verdict_edited_after_signing_is_denied(setup: Setup) -> None:
    result = create(setup.cluster, _pods(setup.enforce), _pod("tampered", TAMPERED))
    _assert_denied(result, "example-org/tampered-model", "verdict-untrusted")


def test_warn_mode_admits_with_warnings(setup: Setup) -> None:
    result = create(setup.cluster, _pods(setup.warn), _pod("warned", UNVETTED))
    assert result.status == 201, result.body
    assert any("model-unvetted" in w for w in result.warnings), result.warnings
    assert all(len(w) <= 120 for w in result.warnings)


def test_exempt_namespace_is_admitted_and_audited(setup: Setup) -> None:
    result = create(setup.cluster, _pods(EXEMPT), _pod("exempt", UNVETTED))
    assert result.status == 201, result.body
    records = [r for r in setup.webhook.audit_records() if r.get("namespace") == EXEMPT]
    assert records and all(r["allowed"] and r["exempt"] for r in records)


def test_kube_system_is_never_sent_to_the_webhook(setup: Setup) -> None:
    result = create(setup.cluster, _pods("kube-system"), _pod("system-model", UNVETTED))
    assert result.status == 201, result.body
    namespaces = {r.get("namespace") for r in setup.webhook.audit_records()}
    assert "kube-system" not in namespaces
    assert setup.enforce in namespaces  # the audit log does record the other namespaces


def test_inference_service_is_judged_by_its_storage_uri(setup: Setup) -> None:
    denied = create(setup.cluster, _isvcs(setup.enforce), _isvc("unvetted", UNVETTED))
    _assert_denied(denied, "example-org/unvetted-model", "model-unvetted", "InferenceService")
    admitted = create(setup.cluster, _isvcs(setup.enforce), _isvc("vetted", VETTED))
    assert admitted.status == 201, admitted.body


def test_decisions_are_in_the_audit_log(setup: Setup) -> None:
    denied = create(setup.cluster, _pods(setup.enforce), _pod("audited", UNVETTED))
    assert denied.status == 403
    admitted = create(setup.cluster, _pods(setup.enforce), _pod("audited", VETTED))
    assert admitted.status == 201
    records = [r for r in setup.webhook.audit_records() if r.get("name") == "audited"]
    assert [r["allowed"] for r in records] == [False, True]
    assert all(r.get("uid") for r in records)


def test_admitted_models_carry_their_verdict_digest(setup: Setup) -> None:
    admitted = create(setup.cluster, _pods(setup.enforce), _pod("digested", VETTED))
    assert admitted.status == 201, admitted.body
    [record] = [r for r in setup.webhook.audit_records() if r.get("name") == "digested"]
    assert record["models"][0]["verdict"]["digest"].startswith("sha256:")


def test_inventory_lists_every_admitted_workload_with_its_digest(setup: Setup) -> None:
    settings = setup.webhook.root / "config" / "webhook.yaml"
    proc = run_modelward(["inventory", "--config", str(settings), "--format", "json",
                          "-n", setup.enforce], setup.cluster)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = {(d["kind"], d["name"]): d for d in json.loads(proc.stdout)["deployments"]}
    # Everything the webhook admitted in the namespace (the pods of "vetted" fold into it).
    for workload in [("Pod", "vetted"), ("Deployment", "vetted"), ("InferenceService", "vetted"),
                     ("Pod", "audited"), ("Pod", "digested")]:  # fmt: skip
        row = rows[workload]
        assert row["reference"] == VETTED and row["digest"].startswith("sha256:"), row
    assert len({row["digest"] for row in rows.values()}) == 1


def test_the_publication_is_in_the_registry_audit_log(setup: Setup, tmp_path: Path) -> None:
    url = f"kubernetes://{RELEASE_NAMESPACE}"
    log = tmp_path / "log.jsonl"
    exported = run_modelward(["registry", "export-log", "--registry", url, "-o", str(log)],
                             setup.cluster)  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    [line] = log.read_text().splitlines()  # vet --publish; the other verdicts were put unlogged
    entry = json.loads(base64.b64decode(json.loads(line)["entry"]["payload"]))
    assert (entry["seq"], entry["kind"], entry["reference"]) == (0, "publication", VETTED)
    assert entry["actor"].startswith("cli:") and entry["reason"] == "vet --publish"
    public = tmp_path / "verdict.pub"
    public.write_bytes(public_pem(load_private_key(setup.private_key.read_bytes()).public_key()))
    proc = run_modelward(["registry", "verify-log", str(log), "--key", str(public)], setup.cluster)
    assert proc.returncode == 0 and proc.stdout.startswith("intact: 1 entries"), proc.stdout

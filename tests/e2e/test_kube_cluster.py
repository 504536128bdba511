"""The loopback control plane of tests/e2e/kube.py works, webhooks included.

Objects are created through the kubernetes client with the kubeconfig the helper writes. A
ValidatingWebhookConfiguration that points at a small HTTPS webhook served here proves the API
server calls webhooks on 127.0.0.1, honours a deny with its message, and admits otherwise.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.e2e.kube import CertAuthority, Cluster, ToolMissing, cluster_fixture, start_cluster

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture()

DENY_LABEL = "modelward.test/deny"
DENY_MESSAGE = "the test webhook denies pods labelled modelward.test/deny"


@dataclass
class Webhook:
    """A validating webhook on 127.0.0.1 that denies pods carrying DENY_LABEL.

    On /validate it echoes the request's uid; on /wrong-uid it answers with another uid,
    which the API server must refuse to take as an answer.
    """

    url: str
    ca: CertAuthority
    reviews: list[dict[str, Any]] = field(default_factory=list)


def _review_response(review: dict[str, Any], path: str) -> dict[str, Any]:
    request = review.get("request") or {}
    labels = ((request.get("object") or {}).get("metadata") or {}).get("labels") or {}
    response: dict[str, Any] = {"uid": request.get("uid", ""), "allowed": DENY_LABEL not in labels}
    if not response["allowed"]:
        response["status"] = {"code": 403, "message": DENY_MESSAGE}
    if path == "/wrong-uid":
        response["uid"] = str(uuid.uuid4())
    return {
        "apiVersion": review.get("apiVersion", "admission.k8s.io/v1"),
        "kind": "AdmissionReview",
        "response": response,
    }


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    ca = CertAuthority.create("webhook-test-ca")
    context = ca.server_context(tmp_path_factory.mktemp("webhook-tls"))
    reviews: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            review = json.loads(self.rfile.read(length))
            reviews.append(review)
            body = json.dumps(_review_response(review, self.path.split("?")[0])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Webhook(f"https://127.0.0.1:{server.server_address[1]}", ca, reviews)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def api(kube_cluster: Cluster) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
    try:
        yield api_client
    finally:
        api_client.close()


def _namespace(api: client.ApiClient, prefix: str, labels: dict[str, str] | None = None) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
    client.CoreV1Api(api).create_namespace(body)
    return name


def _pod(name: str, labels: dict[str, str] | None = None) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name="main", image="registry.invalid/none:1")]
        ),
    )


def _webhook_config(
    name: str, url: str, ca: CertAuthority, namespace_label: str
) -> client.V1ValidatingWebhookConfiguration:
    return client.V1ValidatingWebhookConfiguration(
        metadata=client.V1ObjectMeta(name=name),
        webhooks=[
            client.V1ValidatingWebhook(
                name=f"{name}.test.modelward.io",
                client_config=client.AdmissionregistrationV1WebhookClientConfig(
                    url=url, ca_bundle=ca.ca_bundle
                ),
                rules=[
                    client.V1RuleWithOperations(
                        api_groups=[""],
                        api_versions=["v1"],
                        operations=["CREATE"],
                        resources=["pods"],
                        scope="Namespaced",
                    )
                ],
                namespace_selector=client.V1LabelSelector(
                    match_labels={"modelward.test/webhook": namespace_label}
                ),
                side_effects="None",
                admission_review_versions=["v1"],
                failure_policy="Fail",
                timeout_seconds=5,
            )
        ],
    )


def _wait_for_webhook(core: client.CoreV1Api, namespace: str, expect: str) -> None:
    """A new webhook configuration takes effect shortly after it is stored: probe with dry runs."""
    deadline = time.monotonic() + 30
    last = "no answer"
    while time.monotonic() < deadline:
        probe = _pod(f"probe-{uuid.uuid4().hex[:6]}", {DENY_LABEL: "yes"})
        try:
            core.create_namespaced_pod(namespace, probe, dry_run="All")
            last = "the probe pod was admitted"
        except ApiException as exc:
            last = str(exc.body)
            if expect in last:
                return
        time.sleep(0.3)
    raise AssertionError(f"the webhook never took effect in {namespace}: {last}")


def test_objects_persist_and_list(api: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    namespace = _namespace(api, "objects")
    core.create_namespaced_pod(namespace, _pod("plain"))
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="web", image="registry.invalid/web:1")]
                ),
            ),
        ),
    )
    apps.create_namespaced_deployment(namespace, deployment)

    assert namespace in [n.metadata.name for n in core.list_namespace().items]
    pods = core.list_namespaced_pod(namespace).items
    assert [p.metadata.name for p in pods] == ["plain"]
    assert pods[0].metadata.uid and pods[0].status.phase == "Pending"  # nothing schedules it
    deployments = apps.list_namespaced_deployment(namespace).items
    assert [d.metadata.name for d in deployments] == ["web"]
    stored = apps.read_namespaced_deployment("web", namespace)
    assert stored.spec.replicas == 2
    assert stored.spec.template.spec.containers[0].image == "registry.invalid/web:1"


def test_namespace_lifecycle_rejects_pods_in_missing_namespace(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).create_namespaced_pod("no-such-namespace", _pod("orphan"))
    assert caught.value.status == 404


def test_validating_webhook_denies_and_allows(api: client.ApiClient, webhook: Webhook) -> None:
    core = client.CoreV1Api(api)
    admission = client.AdmissionregistrationV1Api(api)
    namespace = _namespace(api, "webhook", {"modelward.test/webhook": "deny-labelled"})
    name = "deny-labelled"
    admission.create_validating_webhook_configuration(
        _webhook_config(name, f"{webhook.url}/validate", webhook.ca, "deny-labelled")
    )
    try:
        _wait_for_webhook(core, namespace, DENY_MESSAGE)
        with pytest.raises(ApiException) as caught:
            core.create_namespaced_pod(namespace, _pod("denied", {DENY_LABEL: "yes"}))
        assert caught.value.status == 403
        body = json.loads(caught.value.body)
        assert body["message"] == (
            f'admission webhook "{name}.test.modelward.io" denied the request: {DENY_MESSAGE}'
        )
        with pytest.raises(ApiException) as missing:
            core.read_namespaced_pod("denied", namespace)
        assert missing.value.status == 404

        created = core.create_namespaced_pod(namespace, _pod("allowed", {"app": "ok"}))
        assert created.metadata.uid
        assert core.read_namespaced_pod("allowed", namespace).metadata.labels == {"app": "ok"}
    finally:
        admission.delete_validating_webhook_configuration(name)

    seen = [r for r in webhook.reviews if (r.get("request") or {}).get("namespace") == namespace]
    requests = {r["request"]["name"]: r["request"] for r in seen}
    assert {"denied", "allowed"} <= set(requests)
    for request in requests.values():
        assert request["uid"] and request["operation"] == "CREATE"
        assert request["kind"] == {"group": "", "version": "v1", "kind": "Pod"}
        assert request["userInfo"]["username"] == "admin"
    assert all(r["apiVersion"] == "admission.k8s.io/v1" for r in seen)
    assert requests["allowed"]["dryRun"] is False


def test_webhook_reply_with_another_uid_is_rejected(
    api: client.ApiClient, webhook: Webhook
) -> None:
    core = client.CoreV1Api(api)
    admission = client.AdmissionregistrationV1Api(api)
    namespace = _namespace(api, "wrong-uid", {"modelward.test/webhook": "wrong-uid"})
    name = "wrong-uid"
    admission.create_validating_webhook_configuration(
        _webhook_config(name, f"{webhook.url}/wrong-uid", webhook.ca, "wrong-uid")
    )
    try:
        _wait_for_webhook(core, namespace, "expected response.uid")
        with pytest.raises(ApiException) as caught:
            core.create_namespaced_pod(namespace, _pod("unlabelled"))
        assert "expected response.uid" in caught.value.body
    finally:
        admission.delete_validating_webhook_configuration(name)


def test_stop_kills_processes_and_removes_files(tmp_path: Path) -> None:
    try:
        cluster = start_cluster(tmp_path)
    except ToolMissing as exc:
        pytest.fail(str(exc))
    pids = cluster.pids
    assert len(pids) == 2 and cluster.kubeconfig_path.is_file() and cluster.ca_path.is_file()
    cluster.stop()
    cluster.stop()  # a second stop does nothing
    assert not cluster.workdir.exists()
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []

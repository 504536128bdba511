"""A real admission setup for end-to-end tests: the chart rendered by Helm, applied to the real
kube-apiserver, and the webhook process run with the configuration the chart would mount.

``install(cluster, folder, ...)`` renders ``charts/modelward`` with ``tls.source=secret`` (the
serving certificate comes from a test CA for 127.0.0.1, since nothing routes the chart's Service
here), applies the rendered CRD and ValidatingWebhookConfiguration (its ``clientConfig.service``
replaced by the loopback URL), lays the ConfigMap's ``webhook.yaml`` and the Secret's public keys
out as the Deployment mounts them (``config/``, ``keys/``, ``tls/``) and starts
``modelward webhook serve`` on it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

from tests.e2e.kube import REPO, CertAuthority, Cluster, free_port, tool_path

CHART = REPO / "charts" / "modelward"
RELEASE_NAMESPACE = "modelward"
MODELWARD = Path(sys.executable).parent / "modelward"


@dataclass
class Webhook:
    """The running webhook process and what it was started with."""

    url: str
    root: Path
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    context: ssl.SSLContext

    def audit_records(self) -> list[dict[str, Any]]:
        """The JSON-lines audit log (the chart writes it to standard output)."""
        lines = self.stdout_path.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5, context=self.context) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def render_chart(extra: list[str]) -> list[dict[str, Any]]:
    """``helm template`` of the chart with ``extra`` arguments, as parsed documents."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp/modelward-e2e-helm"}
    result = subprocess.run(
        [str(tool_path("helm")), "template", "modelward", str(CHART), "--namespace",
         RELEASE_NAMESPACE, "--include-crds", *extra],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def api_client(cluster: Cluster) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(cluster.kubeconfig_path))


def inference_service_crd() -> dict[str, Any]:
    """Enough of KServe's CRD for the API server to store InferenceServices."""
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "inferenceservices.serving.kserve.io"},
        "spec": {
            "group": "serving.kserve.io",
            "scope": "Namespaced",
            "names": {"plural": "inferenceservices", "singular": "inferenceservice",
                      "kind": "InferenceService", "shortNames": ["isvc"]},
            "versions": [{"name": "v1beta1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": schema}}],
        },
    }  # fmt: skip


def apply_crd(api: client.ApiClient, crd: dict[str, Any]) -> None:
    """Create ``crd`` and wait until the API server serves it."""
    extensions = client.ApiextensionsV1Api(api)
    extensions.create_custom_resource_definition(crd)
    name = crd["metadata"]["name"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = extensions.read_custom_resource_definition(name).status
        conditions = (status.conditions if status else None) or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return
        time.sleep(0.2)
    raise AssertionError(f"CRD {name} not established")


def apply_webhook_configuration(api: client.ApiClient, vwc: dict[str, Any], url: str) -> None:
    """Point every webhook at ``url`` (the API server cannot reach the chart's Service here)."""
    for hook in vwc["webhooks"]:
        hook["clientConfig"] = {"url": url, "caBundle": hook["clientConfig"]["caBundle"]}
    client.AdmissionregistrationV1Api(api).create_validating_webhook_configuration(vwc)


def lay_out_mounts(docs: list[dict[str, Any]], root: Path, ca: CertAuthority) -> None:
    """Write config/, keys/ and tls/ as the chart's Deployment mounts them."""
    configmap = next(d for d in docs if d["kind"] == "ConfigMap" and "webhook.yaml" in d["data"])
    (root / "config").mkdir(parents=True)
    (root / "config" / "webhook.yaml").write_text(configmap["data"]["webhook.yaml"])
    keys = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"].endswith("keys"))
    (root / "keys").mkdir()
    for name, value in keys["data"].items():
        (root / "keys" / name).write_bytes(base64.b64decode(value))
    cert, key = ca.issue("modelward-webhook")
    (root / "tls").mkdir()
    (root / "tls" / "tls.crt").write_bytes(cert)
    (root / "tls" / "tls.key").write_bytes(key)


def start_webhook(root: Path, cluster: Cluster, ca: CertAuthority) -> Webhook:
    port = free_port()
    argv = [str(MODELWARD), "webhook", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--tls-cert", str(root / "tls" / "tls.crt"), "--tls-key", str(root / "tls" / "tls.key"),
            "--config", str(root / "config" / "webhook.yaml")]  # fmt: skip
    return wait_ready(argv, root, ca, port, kubeconfig=cluster.kubeconfig_path)


def wait_ready(
    argv: list[str], root: Path, ca: CertAuthority, port: int, kubeconfig: Path | None = None
) -> Webhook:
    """Start ``argv`` (a ``webhook serve`` command) in ``root`` and wait until /readyz is 200."""
    stdout_path, stderr_path = root / "webhook.out", root / "webhook.err"
    env = dict(os.environ)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            argv, stdout=out, stderr=err, env=env, cwd=root, start_new_session=True
        )
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    webhook = Webhook(f"https://127.0.0.1:{port}", root, process, stdout_path, stderr_path, context)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"webhook exited: {stderr_path.read_text()[-3000:]}")
        try:
            if webhook.get("/readyz")[0] == 200:
                return webhook
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    webhook.stop()
    raise AssertionError(f"webhook not ready: {stderr_path.read_text()[-3000:]}")


def run_modelward(args: list[str], cluster: Cluster) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig_path))
    env.pop("KUBERNETES_SERVICE_HOST", None)
    return subprocess.run(
        [str(MODELWARD), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@dataclass
class ApiResult:
    status: int
    body: dict[str, Any]
    warnings: list[str]

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


def create(cluster: Cluster, path: str, obj: dict[str, Any]) -> ApiResult:
    """POST ``obj`` to the API server at ``path``; the answer with its Warning headers."""
    request = urllib.request.Request(
        cluster.server_url + path,
        data=json.dumps(obj).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=str(cluster.ca_path))
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return ApiResult(response.status, json.load(response), _warnings(response.headers))
    except urllib.error.HTTPError as exc:
        return ApiResult(exc.code, json.loads(exc.read() or b"{}"), _warnings(exc.headers))


def _warnings(headers: Any) -> list[str]:
    # Warning: 299 - "text"
    values = headers.get_all("Warning") or []
    return [v.split(" ", 2)[2].strip().strip('"') for v in values if v.count(" ") >= 2]


def make_namespace(api: client.ApiClient, name: str, labels: dict[str, str] | None = None) -> str:
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
    client.CoreV1Api(api).create_namespace(body)
    return name


@dataclass
class Installed:
    """The chart's webhook running against ``cluster``, and the verdict key pair it trusts."""

    api: client.ApiClient
    webhook: Webhook
    private_key: Path
    replicas: list[Webhook] = field(default_factory=list)  # every process, ``webhook`` first


@contextmanager
def installed(
    cluster: Cluster, root: Path, extra: Sequence[str] = (), *, replicas: int = 1
) -> Iterator[Installed]:
    """Render the chart (TLS from a Secret, a fresh verdict key), install its CRDs, the KServe
    CRD and the webhook configuration, and run the webhook with the rendered mounts.

    With ``replicas`` > 1, that many webhook processes run on copies of the mounts, each with
    its own caches (as the Deployment's pods); the API server calls the first one.
    """
    from modelward.engine.verdicts.keys import write_keypair

    private, public, _ = write_keypair(root / "signing")
    ca = CertAuthority.create("modelward-webhook-ca")
    (root / "ca.pem").write_bytes(ca.cert_pem)
    docs = render_chart(
        ["--set", "tls.source=secret", "--set", "tls.existingSecret.name=modelward-tls",
         "--set-file", f"tls.existingSecret.caBundle={root / 'ca.pem'}",
         "--set-file", f"verdicts.publicKeys.verdict\\.pub={public}", *extra]
    )  # fmt: skip
    api = api_client(cluster)
    make_namespace(api, RELEASE_NAMESPACE)
    for crd in (d for d in docs if d["kind"] == "CustomResourceDefinition"):
        apply_crd(api, crd)
    apply_crd(api, inference_service_crd())
    lay_out_mounts(docs, root / "mounts", ca)
    for index in range(1, replicas):
        shutil.copytree(root / "mounts", root / f"mounts-{index}")
    running: list[Webhook] = []
    try:
        for index in range(replicas):
            folder = root / ("mounts" if index == 0 else f"mounts-{index}")
            running.append(start_webhook(folder, cluster, ca))
        webhook = running[0]
        vwc = one(docs, "ValidatingWebhookConfiguration")
        apply_webhook_configuration(api, vwc, webhook.url + "/validate")
        yield Installed(api, webhook, private, running)
    finally:
        for process in running:
            process.stop()
        api.close()

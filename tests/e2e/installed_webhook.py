"""Run the webhook of an installed release the way its pod would, without the container image.

``python -m tests.e2e.installed_webhook ROOT`` reads the release's Deployment from the API
server (``KUBECONFIG``), writes every ConfigMap and Secret volume of the webhook container into
``ROOT`` at its mount path (``/etc/modelward/config`` -> ``ROOT/config``, ...), starts the
container's own ``args`` with ``modelward`` on 127.0.0.1, and points the release's
ValidatingWebhookConfiguration at it. Two things differ from a pod, because nothing routes the
chart's Service to this machine: the serving certificate is issued for 127.0.0.1 by a CA made
here (the CA bundle is patched to match), and the webhook is called by URL. The process id is
written to ``ROOT/webhook.pid``; its audit log and messages go to ``ROOT/webhook.out|err``.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config

from tests.e2e.admission_cluster import MODELWARD, Webhook, wait_ready
from tests.e2e.kube import CertAuthority, free_port

PREFIX = "/etc/modelward/"


def _volume_files(api: client.ApiClient, namespace: str, volume: Any) -> dict[str, bytes]:
    core = client.CoreV1Api(api)
    if volume.config_map is not None:
        data = core.read_namespaced_config_map(volume.config_map.name, namespace).data or {}
        return {k: v.encode() for k, v in data.items()}
    if volume.secret is not None:
        data = core.read_namespaced_secret(volume.secret.secret_name, namespace).data or {}
        return {k: base64.b64decode(v) for k, v in data.items()}
    return {}


def mount_volumes(api: client.ApiClient, namespace: str, name: str, root: Path) -> list[str]:
    """Write the webhook container's /etc/modelward volumes under ``root``; return its args."""
    deployment = client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
    spec = deployment.spec.template.spec
    container = next(c for c in spec.containers if c.args and c.args[:2] == ["webhook", "serve"])
    volumes = {v.name: v for v in spec.volumes}
    for mount in container.volume_mounts:
        if not mount.mount_path.startswith(PREFIX):
            continue
        folder = root / mount.mount_path.removeprefix(PREFIX)
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, content in _volume_files(api, namespace, volumes[mount.name]).items():
            (folder / file_name).write_bytes(content)
    return [a.replace(PREFIX, f"{root}/") for a in container.args]


def start(root: Path, namespace: str = "modelward", release: str = "modelward") -> Webhook:
    api = config.new_client_from_config()
    args = mount_volumes(api, namespace, release, root)
    ca = CertAuthority.create("walkthrough-webhook-ca")
    cert, key = ca.issue("modelward-webhook")
    (root / "tls" / "tls.crt").write_bytes(cert)  # for 127.0.0.1 instead of the Service name
    (root / "tls" / "tls.key").write_bytes(key)
    port = free_port()
    args = [a if a != "8443" else str(port) for a in args] + ["--host", "127.0.0.1"]
    webhook = wait_ready([str(MODELWARD), *args], root, ca, port)
    (root / "webhook.pid").write_text(str(webhook.process.pid))
    registration = client.AdmissionregistrationV1Api(api)
    vwc = registration.read_validating_webhook_configuration(release)
    for hook in vwc.webhooks:
        hook.client_config = client.AdmissionregistrationV1WebhookClientConfig(
            url=f"{webhook.url}/validate", ca_bundle=ca.ca_bundle
        )
    registration.replace_validating_webhook_configuration(release, vwc)
    time.sleep(1)  # the API server picks up webhook configuration changes asynchronously
    return webhook


if __name__ == "__main__":
    start(Path(sys.argv[1]).resolve())

"""A real API server holding ModelVerdicts, for the webhook's Kubernetes registry tests."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import yaml
from kubernetes import client

from modelward.engine.verdicts.registry.kubernetes import KubernetesRegistry
from tests.admission.core_helpers import signed_verdict
from tests.e2e.kube import Cluster

CRD_FILE = Path(__file__).resolve().parents[2] / "charts/modelward/crds/modelverdicts.yaml"
VERDICTS_NAMESPACE = "modelward"


def kubeconfig_for(cluster: Cluster, path: Path) -> Path:
    """A kubeconfig that embeds the CA, so it outlives the cluster's folder."""
    document = {
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {
            "server": cluster.server_url,
            "certificate-authority-data": base64.b64encode(cluster.ca.cert_pem).decode()}}],
        "users": [{"name": "u", "user": {"token": cluster.token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }  # fmt: skip
    path.write_text(json.dumps(document))
    return path


def install_verdicts(api: client.ApiClient) -> None:
    """The ModelVerdict CRD, its namespace, and a trusted verdict for ``REFERENCE``."""
    client.ApiextensionsV1Api(api).create_custom_resource_definition(
        yaml.safe_load(CRD_FILE.read_text())
    )
    client.CoreV1Api(api).create_namespace({"metadata": {"name": VERDICTS_NAMESPACE}})
    registry = KubernetesRegistry(VERDICTS_NAMESPACE, api)
    deadline = time.monotonic() + 60
    while True:  # the CRD takes a moment to be served
        try:
            registry.put(signed_verdict())
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

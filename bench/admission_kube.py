"""Phase 2 of bench/admission.py: the webhook behind a real kube-apiserver (tests/e2e/kube.py).

The webhook is registered with a ValidatingWebhookConfiguration (url https://127.0.0.1:PORT/validate,
the CA bundle, every namespace but kube-system); pods are then created with dryRun=All, which
still calls the webhook because its sideEffects are None. The latency is the API server's, from
the client's side: authentication, admission (the webhook call included) and the dry-run write.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.e2e.kube import start_cluster

NAMESPACE = "bench"
WEBHOOK = "models.bench.modelward.dev"


def pod(model: str, name: str) -> dict[str, Any]:
    container = {
        "name": "server",
        "image": "ghcr.io/example/text-embeddings:1.0",
        "env": [{"name": "MODEL_ID", "value": model}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "embedder"}},
        "spec": {"containers": [container]},
    }


def register(api: client.ApiClient, url: str, ca_bundle: str) -> None:
    webhook = {
        "name": WEBHOOK,
        "clientConfig": {"url": url, "caBundle": ca_bundle},
        "rules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": ["pods"],
                "scope": "Namespaced",
            }
        ],
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "NotIn",
                    "values": ["kube-system"],
                }
            ]
        },
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "failurePolicy": "Fail",
        "timeoutSeconds": 5,
    }
    body = {"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "modelward-bench"}, "webhooks": [webhook]}  # fmt: skip
    client.AdmissionregistrationV1Api(api).create_validating_webhook_configuration(body)


def wait_effective(core: client.CoreV1Api, model: str, timeout: float = 60.0) -> None:
    """Dry-run an unvetted pod until the webhook denies it (configuration takes a moment)."""
    deadline, last = time.monotonic() + timeout, "no answer"
    while time.monotonic() < deadline:
        try:
            core.create_namespaced_pod(NAMESPACE, pod(model, "probe"), dry_run="All")
            last = "admitted"
        except ApiException as exc:
            last = str(exc.body)
            if WEBHOOK in last and "denied" in last:
                return
        time.sleep(0.3)
    raise RuntimeError(f"the webhook never took effect: {last}")


def phase_cluster(
    workdir: Path,
    start_webhook: Callable[[Path], Any],
    load: Callable[[dict[str, Any]], dict[str, Any]],
    vetted: str,
    unvetted: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Start a cluster and the webhook (with API access), register it, create pods; print."""
    cluster = start_cluster(workdir)
    try:
        webhook = start_webhook(cluster.kubeconfig_path)
        try:
            api = config.new_client_from_config(config_file=str(cluster.kubeconfig_path))
            core = client.CoreV1Api(api)
            core.create_namespace({"metadata": {"name": NAMESPACE}})
            register(api, f"https://127.0.0.1:{webhook.port}/validate", webhook.ca.ca_bundle)
            wait_effective(core, unvetted)
            models = [vetted, unvetted]
            bodies = [json.dumps(pod(models[i % 2], f"p-{uuid.uuid4().hex[:10]}"))
                      for i in range(64)]  # fmt: skip
            host_port = cluster.server_url.removeprefix("https://")
            job = {
                "host": host_port.split(":")[0], "port": int(host_port.split(":")[1]),
                "ca_pem": cluster.ca.cert_pem.decode(),
                "path": f"/api/v1/namespaces/{NAMESPACE}/pods?dryRun=All",
                "headers": {"Authorization": f"Bearer {cluster.token}"},
                "bodies": bodies, "concurrency": 8,
                "expect": {"201": [["", "allowed"]], "403": [[WEBHOOK, "denied"]]},
            }  # fmt: skip
            load({**job, "total": 200, "rate": None})  # warm up
            result = load({**job, "total": args.pods, "rate": args.pod_rate})
            api.close()
        finally:
            webhook.stop()
    finally:
        cluster.stop()
    print(f"\nphase 2: kube-apiserver -> webhook, {args.pods} pod creates with dryRun=All")
    print(f"{'target/s':>8} {'achieved/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>8} "
          f"{'errors':>6} {'allowed':>7} {'denied':>6}")  # fmt: skip
    print(f"{args.pod_rate:>8g} {result['rps']:>10.1f} {result['p50']:>7.2f} "
          f"{result['p99']:>7.2f} {result['max']:>8.2f} {result['errors']:>6} "
          f"{result.get('allowed', 0):>7} {result.get('denied', 0):>6}")  # fmt: skip
    if result["errors"]:
        print(f"first errors: {result['first_errors']}")
    return result

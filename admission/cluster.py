"""The workloads running in a cluster, read through the Kubernetes API for ``modelward audit``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from modelward.engine.errors import Error

PAGE_SIZE = 250
REQUEST_TIMEOUT = 30
NOT_FOUND = 404
KSERVE = ("serving.kserve.io", "v1beta1", "inferenceservices")


class ClusterError(Error):
    """The API server could not be read."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Resource:
    """One listable workload kind: its list calls (typed API, method names)."""

    kind: str
    api_version: str
    api: str  # CoreV1Api, AppsV1Api, BatchV1Api
    namespaced: str
    everywhere: str


RESOURCES = (
    Resource("Pod", "v1", "CoreV1Api", "list_namespaced_pod", "list_pod_for_all_namespaces"),
    Resource("Deployment", "apps/v1", "AppsV1Api", "list_namespaced_deployment",
             "list_deployment_for_all_namespaces"),
    Resource("StatefulSet", "apps/v1", "AppsV1Api", "list_namespaced_stateful_set",
             "list_stateful_set_for_all_namespaces"),
    Resource("DaemonSet", "apps/v1", "AppsV1Api", "list_namespaced_daemon_set",
             "list_daemon_set_for_all_namespaces"),
    Resource("ReplicaSet", "apps/v1", "AppsV1Api", "list_namespaced_replica_set",
             "list_replica_set_for_all_namespaces"),
    Resource("Job", "batch/v1", "BatchV1Api", "list_namespaced_job",
             "list_job_for_all_namespaces"),
    Resource("CronJob", "batch/v1", "BatchV1Api", "list_namespaced_cron_job",
             "list_cron_job_for_all_namespaces"),
)  # fmt: skip
WORKLOAD_KINDS = frozenset({r.kind for r in RESOURCES} | {"InferenceService"})


def list_workloads(api_client: Any, namespace: str | None) -> list[dict[str, Any]]:
    """Every workload object in ``namespace`` (None: all namespaces), with kind and apiVersion."""
    from kubernetes import client

    objects: list[dict[str, Any]] = []
    for resource in RESOURCES:
        api = getattr(client, resource.api)(api_client)
        if namespace is None:
            call = _bound(getattr(api, resource.everywhere))
        else:
            call = _bound(getattr(api, resource.namespaced), namespace)
        objects.extend(_typed(resource.kind, resource.api_version, _pages(call, resource.kind)))
    objects.extend(_inference_services(client.CustomObjectsApi(api_client), namespace))
    return objects


def namespace_labels(api_client: Any) -> dict[str, dict[str, str]]:
    """The labels of every namespace; empty when namespaces may not be listed."""
    from kubernetes import client

    api = client.CoreV1Api(api_client)
    try:
        items = list(_pages(_bound(api.list_namespace), "Namespace"))
    except ClusterError:
        return {}
    found: dict[str, dict[str, str]] = {}
    for item in items:
        metadata = item.get("metadata") or {}
        found[str(metadata.get("name"))] = dict(metadata.get("labels") or {})
    return found


def controlled_by_workload(obj: dict[str, Any]) -> bool:
    """True when a workload this audit also lists controls ``obj`` (a Deployment's ReplicaSet)."""
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(
        isinstance(o, dict) and o.get("controller") and o.get("kind") in WORKLOAD_KINDS
        for o in owners
    )


def _bound(method: Callable[..., Any], *args: Any) -> Callable[..., Any]:
    def call(**kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return call


def _pages(call: Callable[..., Any], what: str) -> Iterator[dict[str, Any]]:
    """Every item of a paginated list call, decoded from the raw JSON."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"limit": PAGE_SIZE, "_preload_content": False,
                                  "_request_timeout": REQUEST_TIMEOUT}  # fmt: skip
        if token:
            kwargs["_continue"] = token
        listing = _get(call, kwargs, what)
        yield from (i for i in listing.get("items") or [] if isinstance(i, dict))
        token = (listing.get("metadata") or {}).get("continue")
        if not token:
            return


def _get(call: Callable[..., Any], kwargs: dict[str, Any], what: str) -> dict[str, Any]:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        answer = call(**kwargs)
        listing = json.loads(answer.data)
    except ApiException as exc:
        raise ClusterError(f"listing {what}: HTTP {exc.status} {exc.reason}", exc.status) from None
    except (HTTPError, OSError, ValueError) as exc:
        raise ClusterError(f"listing {what}: {exc}") from None
    return listing if isinstance(listing, dict) else {}


def _inference_services(api: Any, namespace: str | None) -> list[dict[str, Any]]:
    """KServe InferenceServices; none when the CRD is not installed."""
    group, version, plural = KSERVE
    if namespace is None:
        call = _bound(api.list_cluster_custom_object, group, version, plural)
    else:
        call = _bound(api.list_namespaced_custom_object, group, version, namespace, plural)
    try:
        items = list(_pages(call, "InferenceService"))
    except ClusterError as exc:
        if exc.status == NOT_FOUND:
            return []
        raise
    return list(_typed("InferenceService", f"{group}/{version}", iter(items)))


def _typed(
    kind: str, api_version: str, items: Iterator[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """List items carry no kind or apiVersion; put them back as a single GET would give them."""
    for item in items:
        yield {"apiVersion": api_version, "kind": kind, **item}

"""What the controller reads and writes through the Kubernetes API, as plain dicts.

Every write that moves a ModelVetting on carries the resourceVersion it was read at, so two
replicas (or a replica and its restarted self) never both move the same request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from modelward.controller.jobs import COMPONENT, COMPONENT_LABEL
from modelward.engine.vetting.resource import GROUP, PLURAL, VERSION

log = logging.getLogger("modelward.controller")
#: At most this much of a pod log is read (a result larger than this is refused).
MAX_LOG_BYTES = 32 * 1024 * 1024


class Conflict(Exception):
    """Someone else changed the object since it was read."""


class ClusterApi:
    """The calls the controller makes, on one ``ApiClient``."""

    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self._custom: Any = client.CustomObjectsApi(api_client)
        self._batch: Any = client.BatchV1Api(api_client)
        self._core: Any = client.CoreV1Api(api_client)

    def list_vettings(self) -> list[dict[str, Any]]:
        listed = self._custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
        return [dict(item) for item in listed.get("items", [])]

    def create_vetting(self, body: dict[str, Any]) -> bool:
        """Create a request; False when one with that name exists."""
        namespace = body["metadata"]["namespace"]
        try:
            self._custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def write_status(self, vetting: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        """Replace the status, conditional on the resourceVersion ``vetting`` was read at."""
        meta = vetting["metadata"]
        body = {
            "apiVersion": vetting.get("apiVersion"),
            "kind": vetting.get("kind"),
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "resourceVersion": meta["resourceVersion"],
            },
            "spec": vetting.get("spec"),
            "status": status,
        }
        try:
            written = self._custom.replace_namespaced_custom_object_status(
                GROUP, VERSION, meta["namespace"], PLURAL, meta["name"], body
            )
        except ApiException as exc:
            if exc.status in (404, 409):
                raise Conflict(f"{meta['namespace']}/{meta['name']}: {exc.reason}") from None
            raise
        return dict(written)

    def list_jobs(self) -> dict[str, dict[str, Any]]:
        """The vetting Jobs in the controller's namespace, by name."""
        listed = self._batch.list_namespaced_job(
            self.namespace, label_selector=f"{COMPONENT_LABEL}={COMPONENT}"
        )
        jobs = self._plain(listed).get("items", [])
        return {job["metadata"]["name"]: job for job in jobs}

    def create_job(self, body: dict[str, Any]) -> bool:
        """Create a Job; False when it exists already (a retried or repeated tick)."""
        try:
            self._batch.create_namespaced_job(self.namespace, body)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def delete_job(self, name: str) -> None:
        try:
            self._batch.delete_namespaced_job(name, self.namespace, propagation_policy="Background")
        except ApiException as exc:
            if exc.status != 404:
                raise

    def job_pods(self, job: str) -> list[dict[str, Any]]:
        listed = self._core.list_namespaced_pod(self.namespace, label_selector=f"job-name={job}")
        pods: list[dict[str, Any]] = self._plain(listed).get("items", [])
        return pods

    def _plain(self, obj: Any) -> dict[str, Any]:
        """A client model as the JSON the API server sent (camelCase keys)."""
        serialise: Any = self.api_client.sanitize_for_serialization
        plain: dict[str, Any] = serialise(obj)
        return plain

    def pod_log(self, pod: str, container: str) -> str:
        text: str = self._core.read_namespaced_pod_log(
            pod, self.namespace, container=container, limit_bytes=MAX_LOG_BYTES
        )
        return text

    def event(self, vetting: dict[str, Any], kind: str, reason: str, message: str) -> None:
        """Record an Event on the ModelVetting (and log it); failures are logged, never raised."""
        meta = vetting["metadata"]
        log.info("%s/%s: %s: %s", meta["namespace"], meta["name"], reason, message)
        now = datetime.now(UTC)
        body = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                generate_name=f"{meta['name']}.", namespace=meta["namespace"]
            ),
            involved_object=client.V1ObjectReference(
                api_version=f"{GROUP}/{VERSION}",
                kind="ModelVetting",
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta.get("uid"),
            ),
            type=kind,
            reason=reason,
            message=message[:1024],
            source=client.V1EventSource(component="modelward-controller"),
            first_timestamp=now,
            last_timestamp=now,
            count=1,
        )
        try:
            self._core.create_namespaced_event(meta["namespace"], body)
        except ApiException as exc:
            log.warning(
                "event %s on %s/%s not recorded: %s",
                reason,
                meta["namespace"],
                meta["name"],
                exc.reason,
            )

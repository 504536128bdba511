"""Where each vetted model runs: the last inventory recorded beside a registry's verdicts.

``modelward inventory --record`` computes the inventory from the cluster and stores it as one
snapshot (it replaces the previous one); ``registry show`` lists a verdict's deployments from
it. SQLite keeps it in the table ``deployments``, Kubernetes in the ConfigMap
``modelward-inventory`` of the registry's namespace (needs ``get``, ``create``, ``update`` on
it). Nothing here is signed or trusted: it says where a model was seen running, and when.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

FIELDS = ("namespace", "kind", "name", "container", "reference", "digest", "since")
CONFIGMAP = "modelward-inventory"
REQUEST_TIMEOUT = (5.0, 30.0)


@dataclass(frozen=True)
class Snapshot:
    recorded_at: str
    rows: list[dict[str, Any]]

    def of(self, reference: str) -> list[dict[str, Any]]:
        """The rows running ``reference``."""
        return [row for row in self.rows if row.get("reference") == reference]

    def to_json(self) -> str:
        return json.dumps({"recorded_at": self.recorded_at, "deployments": self.rows},
                          sort_keys=True, separators=(",", ":"))  # fmt: skip


def parse_snapshot(text: str | None) -> Snapshot | None:
    """A stored snapshot; None when there is none or it is unreadable."""
    try:
        doc = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("deployments"), list):
        return None
    rows = [{f: row.get(f) for f in FIELDS} for row in doc["deployments"] if isinstance(row, dict)]
    return Snapshot(str(doc.get("recorded_at") or ""), rows)


class ConfigMapDeployments:
    """The snapshot of a ``kubernetes://`` registry, in one ConfigMap."""

    def __init__(self, namespace: str, api_client: Any) -> None:
        from kubernetes import client

        self.namespace = namespace
        self._core: Any = client.CoreV1Api(api_client)

    def record(self, snapshot: Snapshot) -> None:
        from kubernetes.client.exceptions import ApiException

        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": CONFIGMAP,
                "labels": {"app.kubernetes.io/managed-by": "modelward"},
            },
            "data": {"inventory.json": snapshot.to_json()},
        }
        try:
            self._core.replace_namespaced_config_map(
                CONFIGMAP, self.namespace, body, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
            self._core.create_namespaced_config_map(
                self.namespace, body, _request_timeout=REQUEST_TIMEOUT
            )

    def load(self) -> Snapshot | None:
        from kubernetes.client.exceptions import ApiException

        try:
            obj = self._core.read_namespaced_config_map(
                CONFIGMAP, self.namespace, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return parse_snapshot((obj.data or {}).get("inventory.json"))

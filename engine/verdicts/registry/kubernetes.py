"""``KubernetesRegistry``: verdicts as ``ModelVerdict`` custom resources in one namespace.

Every call goes to the API server; the admission webhook reads through ``VerdictCache``
(a watch-fed copy in memory) instead. API errors become ``RegistryUnavailable``. One object per
reference: ``put`` replaces it, but never with a verdict whose payload claims an older
``created_at`` than the stored one (storing an old verdict again cannot roll a reference back).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from modelward.engine.verdicts.auditlog.entry import EntrySigner, Kind
from modelward.engine.verdicts.registry import OlderThanStored, RegistryUnavailable
from modelward.engine.verdicts.registry.deployments import ConfigMapDeployments, Snapshot
from modelward.engine.verdicts.registry.kubernetes_cache import VerdictCache
from modelward.engine.verdicts.registry.kubernetes_log import ConfigMapLog
from modelward.engine.verdicts.registry.modelverdict import (
    GROUP,
    PLURAL,
    VERSION,
    MalformedResource,
    from_resource,
    resource_name,
    to_resource,
)
from modelward.engine.verdicts.registry.newest import claimed_created_at
from modelward.engine.verdicts.signed import SignedVerdict

__all__ = ["NAMESPACE_NAME", "KubernetesRegistry", "VerdictCache"]

NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
#: (connect, read) timeout of every API call, in seconds.
REQUEST_TIMEOUT = (5.0, 30.0)
PUT_ATTEMPTS = 3

log = logging.getLogger(__name__)
T = TypeVar("T")


class KubernetesRegistry:
    """A ``Registry`` of ``ModelVerdict`` resources in ``namespace``."""

    def __init__(
        self, namespace: str, api_client: client.ApiClient, *, audit: EntrySigner | None = None
    ) -> None:
        self.namespace = namespace
        self._api = client.CustomObjectsApi(api_client)
        self.audit = audit  # when set, every put is first appended to the audit log
        self.log = ConfigMapLog(namespace, api_client)
        self._deployments = ConfigMapDeployments(namespace, api_client)

    def __repr__(self) -> str:
        return f"KubernetesRegistry(namespace={self.namespace!r})"

    def put(self, signed: SignedVerdict) -> None:
        """Create the reference's resource, or replace it when it exists.

        With ``audit`` the log entry is appended first (after the older-verdict check): a
        publication that fails after it is visible in the log, never one that is missing."""
        name = resource_name(signed.reference)
        logged = self.audit is None
        for _ in range(PUT_ATTEMPTS):
            existing = self._read(name)
            if existing is not None:
                _refuse_older(signed, existing)
            if not logged:
                self.record([(signed, None)])
                logged = True
            if existing is None:
                stored = self._write("create", partial(self._create, signed))
            else:
                version = existing["metadata"]["resourceVersion"]
                stored = self._write("replace", partial(self._replace, signed, version))
            if stored:
                return
        raise RegistryUnavailable(
            f"{self}: the verdict for {signed.reference!r} kept changing while it was stored"
        )

    def record(self, events: list[tuple[SignedVerdict, Kind | None]]) -> None:
        """Append log entries only (e.g. ``expiry``); needs ``audit``."""
        if self.audit is None:
            raise RegistryUnavailable(f"{self}: no signing key to append to the audit log")
        self.log.append(self.audit, events)

    def record_deployments(self, snapshot: Snapshot) -> None:
        self._call("record the inventory", lambda: self._deployments.record(snapshot))

    def deployments(self) -> Snapshot | None:
        return self._call("read the inventory", self._deployments.load)

    def log_entries(self) -> list[tuple[int, dict[str, Any]]]:
        return list(self.log.entries())

    def get(self, reference: str) -> SignedVerdict | None:
        obj = self._read(resource_name(reference))
        if obj is None:
            return None
        try:
            signed = from_resource(obj)
        except MalformedResource as exc:
            raise RegistryUnavailable(f"{self}: malformed ModelVerdict {exc}") from None
        return signed if signed.reference == reference else None

    def candidates(self, reference: str) -> list[SignedVerdict]:
        signed = self.get(reference)
        return [] if signed is None else [signed]

    def list(self) -> list[SignedVerdict]:
        """Every well-formed verdict, ordered by reference (malformed resources are logged)."""
        listing = self._call("list", self._list_objects)
        found: list[SignedVerdict] = []
        for obj in listing.get("items") or []:
            try:
                found.append(from_resource(obj))
            except MalformedResource as exc:
                log.warning("ignoring a malformed ModelVerdict: %s", exc)
        return sorted(found, key=lambda s: s.reference)

    def delete(self, reference: str) -> int:
        name = resource_name(reference)
        try:
            self._api.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404 and _object_status(exc):
                return 0
            raise self._unavailable("delete", exc) from None
        except HTTPError as exc:
            raise self._unavailable("delete", exc) from None
        return 1

    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            obj = self._api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404 and _object_status(exc):
                return None
            raise self._unavailable("get", exc) from None
        except HTTPError as exc:
            raise self._unavailable("get", exc) from None
        return obj if isinstance(obj, dict) else None

    def _list_objects(self) -> dict[str, Any]:
        result = self._api.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, _request_timeout=REQUEST_TIMEOUT
        )
        return result if isinstance(result, dict) else {}

    def _create(self, signed: SignedVerdict) -> None:
        self._api.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, to_resource(signed),
            _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip

    def _replace(self, signed: SignedVerdict, version: str) -> None:
        self._api.replace_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, resource_name(signed.reference),
            to_resource(signed, version), _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except (ApiException, HTTPError) as exc:
            raise self._unavailable(what, exc) from None

    def _write(self, what: str, call: Callable[[], None]) -> bool:
        """Run a create/replace; False when it lost a race with another writer."""
        try:
            call()
        except ApiException as exc:
            if exc.status in (404, 409) and _object_status(exc):
                return False
            raise self._unavailable(what, exc) from None
        except HTTPError as exc:
            raise self._unavailable(what, exc) from None
        return True

    def _unavailable(self, what: str, exc: Exception) -> RegistryUnavailable:
        if isinstance(exc, ApiException):
            detail = f"HTTP {exc.status} {exc.reason}".strip()
            if exc.status == 404:
                detail += " (is the ModelVerdict CRD installed?)"
        else:
            detail = f"API server unreachable: {type(exc).__name__}: {exc}"[:300]
        return RegistryUnavailable(f"{self}: {what} failed: {detail}")


def _refuse_older(signed: SignedVerdict, existing: dict[str, Any]) -> None:
    """Raise ``OlderThanStored`` when the stored verdict claims a newer ``created_at``."""
    try:
        stored = from_resource(existing)
    except MalformedResource:
        return  # nothing readable to protect
    new, old = claimed_created_at(signed), claimed_created_at(stored)
    if new is not None and old is not None and new < old:
        raise OlderThanStored(
            f"not stored: the ModelVerdict for {signed.reference!r} holds a newer verdict "
            f"(created_at {stored.created_at}) than this one ({signed.created_at}); delete it "
            "first if it is not genuine"
        )


def _object_status(exc: ApiException) -> bool:
    """Whether an error is about one ModelVerdict object (not a missing CRD or route)."""
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return False
    details = body.get("details") if isinstance(body, dict) else None
    return isinstance(details, dict) and details.get("group") == GROUP

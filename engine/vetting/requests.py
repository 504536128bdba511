"""Ask the cluster to vet a reference: create its ``ModelVetting`` unless one exists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.engine.errors import Error
from modelward.engine.vetting.resource import (
    GROUP,
    PLURAL,
    VERSION,
    new_vetting,
    vetting_name,
)

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


class VettingRequestError(Error):
    """The API server refused or could not take the request."""


def request_vetting(
    api_client: ApiClient,
    namespace: str,
    reference: str,
    *,
    requested_by: str = "cli",
    policy: str | None = None,
    reason: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """The ModelVetting for ``reference`` in ``namespace`` and whether this call created it.

    A request that already exists is returned as it is (deduplicated by reference).
    """
    from kubernetes.client import CustomObjectsApi
    from kubernetes.client.exceptions import ApiException

    api: Any = CustomObjectsApi(api_client)
    body = new_vetting(
        reference, namespace, requested_by=requested_by, policy=policy, reason=reason
    )
    try:
        created = api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
        return dict(created), True
    except ApiException as exc:
        if exc.status != 409:
            raise VettingRequestError(_why(exc, namespace)) from None
    return get_vetting(api_client, namespace, reference), False


def get_vetting(api_client: ApiClient, namespace: str, reference: str) -> dict[str, Any]:
    """The ModelVetting for ``reference`` in ``namespace``."""
    from kubernetes.client import CustomObjectsApi
    from kubernetes.client.exceptions import ApiException

    api: Any = CustomObjectsApi(api_client)
    try:
        found = api.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, vetting_name(reference)
        )
    except ApiException as exc:
        raise VettingRequestError(_why(exc, namespace)) from None
    return dict(found)


def list_vettings(api_client: ApiClient, namespace: str | None) -> list[dict[str, Any]]:
    """Every ModelVetting in ``namespace`` (None: all namespaces)."""
    from kubernetes.client import CustomObjectsApi
    from kubernetes.client.exceptions import ApiException

    api: Any = CustomObjectsApi(api_client)
    try:
        if namespace is None:
            listed = api.list_cluster_custom_object(GROUP, VERSION, PLURAL)
        else:
            listed = api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    except ApiException as exc:
        raise VettingRequestError(_why(exc, namespace or "(all namespaces)")) from None
    return [dict(item) for item in listed.get("items", [])]


def _why(exc: Any, namespace: str) -> str:
    if exc.status == 404:
        return (
            f"{namespace}: ModelVetting is not known to this cluster (install the modelward "
            "chart with the controller enabled) or the namespace does not exist"
        )
    if exc.status == 403:
        return f"{namespace}: not allowed to create or read ModelVettings here ({exc.reason})"
    return f"{namespace}: the API server answered {exc.status} {exc.reason}"

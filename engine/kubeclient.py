"""How modelward reaches a Kubernetes API server: in-cluster credentials or a kubeconfig."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from modelward.engine.errors import Error
from modelward.engine.extras import requires

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

Access = Literal["auto", "in-cluster", "kubeconfig", "off"]
IN_CLUSTER_ENV = "KUBERNETES_SERVICE_HOST"
DEFAULT_KUBECONFIG = Path("~/.kube/config")


class KubeAccessError(Error):
    """Kubernetes credentials that were asked for cannot be loaded."""


def api_client(access: Access = "auto", kubeconfig: Path | None = None) -> ApiClient | None:
    """A ``kubernetes.client.ApiClient``, or None when ``access`` is off or ``auto`` finds nothing.

    ``auto``: in-cluster when $KUBERNETES_SERVICE_HOST is set, else the kubeconfig from
    ``kubeconfig``, $KUBECONFIG or ~/.kube/config when one exists, else None.
    """
    if access == "off":
        return None
    if access == "in-cluster" or (access == "auto" and os.environ.get(IN_CLUSTER_ENV)):
        return _in_cluster()
    location = kubeconfig_location(kubeconfig)
    if location is None:
        if access == "kubeconfig":
            raise KubeAccessError(
                "no kubeconfig found (pass one, set $KUBECONFIG, or create ~/.kube/config)"
            )
        return None
    return _from_kubeconfig(location)


def kubeconfig_location(kubeconfig: Path | None = None) -> str | None:
    """The kubeconfig to use (``$KUBECONFIG`` may list several files), or None."""
    if kubeconfig is not None:
        return str(kubeconfig)
    listed = os.environ.get("KUBECONFIG", "")
    existing = [p for p in listed.split(os.pathsep) if p and Path(p).expanduser().is_file()]
    if existing:
        return os.pathsep.join(existing)
    default = DEFAULT_KUBECONFIG.expanduser()
    return str(default) if default.is_file() else None


def _in_cluster() -> ApiClient:
    with requires("kubernetes", "Kubernetes access"):
        from kubernetes import client, config

    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except config.ConfigException as exc:
        raise KubeAccessError(f"in-cluster Kubernetes credentials: {exc}") from None
    return client.ApiClient(configuration)


def _from_kubeconfig(location: str) -> ApiClient:
    with requires("kubernetes", "Kubernetes access"):
        from kubernetes import config

    try:
        api: ApiClient = config.new_client_from_config(config_file=location)  # type: ignore[no-untyped-call]
        return api
    except (config.ConfigException, OSError, ValueError, TypeError) as exc:
        raise KubeAccessError(f"kubeconfig {location}: {exc}") from None

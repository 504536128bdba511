"""Verdict registries: where signed verdicts are stored and looked up by model reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from modelward.engine.errors import Error
from modelward.engine.verdicts.signed import SignedVerdict, VerdictError

SQLITE_PREFIX = "sqlite://"
KUBERNETES_PREFIX = "kubernetes://"


class RegistryUnavailable(Error):
    """The registry cannot answer (file unreadable, API server unreachable, cache not synced)."""


class OlderThanStored(VerdictError):
    """A put refused because the registry holds a verdict claiming a newer ``created_at``."""


class Registry(Protocol):
    def put(self, signed: SignedVerdict) -> None: ...

    def get(self, reference: str) -> SignedVerdict | None:
        """The verdict for ``reference`` (a ``ModelRef.canonical``) whose payload claims the
        newest ``created_at`` (signatures not checked: for display), or None."""
        ...

    def candidates(self, reference: str) -> list[SignedVerdict]:
        """Every verdict stored for ``reference``, unverified: the caller picks the one that
        counts (``newest.newest_verified``)."""
        ...

    def list(self) -> list[SignedVerdict]:
        """Per reference, the verdict ``get`` returns; ordered by reference."""
        ...

    def delete(self, reference: str) -> int:
        """Remove every verdict for ``reference``; return how many were removed."""
        ...


def open_registry(url: str, *, api_client: Any = None) -> Registry:
    """``sqlite:///path/verdicts.db`` or a plain path (SQLite), or ``kubernetes://NAMESPACE``.

    ``sqlite://`` is followed by the path as written: ``sqlite:///var/lib/v.db`` is absolute,
    ``sqlite://v.db`` relative. For ``kubernetes://`` the API client comes from ``api_client``
    or, when None, from in-cluster credentials or the kubeconfig (``kubeclient.api_client``).
    """
    if url.startswith(KUBERNETES_PREFIX):
        return _kubernetes(url, url[len(KUBERNETES_PREFIX) :], api_client)
    if url.startswith(SQLITE_PREFIX):
        path = url[len(SQLITE_PREFIX) :]
    elif "://" in url:
        raise RegistryUnavailable(
            f"{url}: unsupported registry URL; use sqlite:///PATH, a file path or "
            "kubernetes://NAMESPACE"
        )
    else:
        path = url
    if not path:
        raise RegistryUnavailable(f"{url}: the registry URL names no file")
    from modelward.engine.verdicts.registry.sqlite import SqliteRegistry

    return SqliteRegistry(Path(path).expanduser())


def _kubernetes(url: str, namespace: str, api_client: Any) -> Registry:
    from modelward.engine.kubeclient import KubeAccessError
    from modelward.engine.kubeclient import api_client as make_client
    from modelward.engine.verdicts.registry.kubernetes import NAMESPACE_NAME, KubernetesRegistry

    if not NAMESPACE_NAME.fullmatch(namespace):
        raise RegistryUnavailable(f"{url}: {namespace!r} is not a namespace name")
    if api_client is None:
        try:
            api_client = make_client("auto")
        except KubeAccessError as exc:
            raise RegistryUnavailable(f"{url}: {exc}") from None
    if api_client is None:
        raise RegistryUnavailable(
            f"{url}: no Kubernetes credentials (not in a cluster, no kubeconfig found)"
        )
    return KubernetesRegistry(namespace, api_client)

"""Verdict registries: where signed verdicts are stored and looked up by model reference."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modelward.engine.errors import Error
from modelward.engine.extras import requires
from modelward.engine.verdicts.signed import SignedVerdict, VerdictError

if TYPE_CHECKING:
    from modelward.engine.verdicts.auditlog.entry import EntrySigner

SQLITE_PREFIX = "sqlite://"
KUBERNETES_PREFIX = "kubernetes://"
REGISTRY_ENV = "MODELWARD_REGISTRY"
#: A Kubernetes namespace name (RFC 1123 label).
NAMESPACE_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


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


def default_registry_url() -> str:
    """The one default of every command: $MODELWARD_REGISTRY, else
    $XDG_DATA_HOME (or ~/.local/share)/modelward/verdicts.db."""
    if os.environ.get(REGISTRY_ENV):
        return os.environ[REGISTRY_ENV]
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "modelward" / "verdicts.db")


def sqlite_path(url: str) -> Path | None:
    """The SQLite file ``url`` names, None for a ``kubernetes://`` URL; ``RegistryUnavailable``
    for anything else.

    SQLAlchemy's rules: ``sqlite:////var/lib/v.db`` is absolute, ``sqlite:///v.db`` relative to
    the working folder; a plain path (``~`` expanded) is a file too.
    """
    if url.startswith(KUBERNETES_PREFIX):
        return None
    if url.startswith(SQLITE_PREFIX):
        rest = url[len(SQLITE_PREFIX) :]
        if rest and not rest.startswith("/"):
            raise RegistryUnavailable(
                f"{url}: a SQLite URL has no host part; write sqlite:///relative/path or "
                "sqlite:////absolute/path"
            )
        path, query = rest[1:], ""
        if "?" in path:
            path, _, query = path.partition("?")
        if query:
            raise RegistryUnavailable(f"{url}: SQLite URL parameters (?{query}) are not supported")
        if path in ("", ":memory:"):
            raise RegistryUnavailable(f"{url}: the registry URL names no file")
    elif "://" in url:
        raise RegistryUnavailable(
            f"{url}: unsupported registry URL; use sqlite:////ABSOLUTE/PATH, "
            "sqlite:///RELATIVE/PATH, a file path or kubernetes://NAMESPACE"
        )
    else:
        path = url
    if not path.strip():
        raise RegistryUnavailable(f"{url!r}: the registry URL names no file")
    return Path(path).expanduser()


def check_registry_url(url: str, *, writing: bool = False) -> None:
    """Refuse a registry URL that cannot work, before any scan: a malformed URL, a path that is
    a folder, or (``writing``) a folder above it that is a file."""
    path = sqlite_path(url)
    if path is None:
        namespace = url[len(KUBERNETES_PREFIX) :]
        if not NAMESPACE_PATTERN.fullmatch(namespace):
            raise RegistryUnavailable(f"{url}: {namespace!r} is not a namespace name")
        return
    if path.is_dir():
        raise RegistryUnavailable(f"{url}: {path} is a folder, not a SQLite file")
    if writing:
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise RegistryUnavailable(f"{url}: {parent} is not a folder")
                break


def open_registry(
    url: str, *, api_client: Any = None, audit: EntrySigner | None = None
) -> Registry:
    """A SQLite registry (``sqlite:///`` URL or a plain path, see ``sqlite_path``) or
    ``kubernetes://NAMESPACE``.

    For ``kubernetes://`` the API client comes from ``api_client`` or, when None, from
    in-cluster credentials or the kubeconfig (``kubeclient.api_client``). With ``audit``, every
    ``put`` also appends a signed entry to the registry's audit log.
    """
    path = sqlite_path(url)
    if path is None:
        return _kubernetes(url, url[len(KUBERNETES_PREFIX) :], api_client, audit)
    from modelward.engine.verdicts.registry.sqlite import SqliteRegistry

    return SqliteRegistry(path, audit=audit)


def audit_log(registry: Registry) -> list[tuple[int, dict[str, Any]]]:
    """The stored audit log of ``registry`` ((seq, entry envelope), stored order)."""
    entries = getattr(registry, "log_entries", None)
    if entries is None:
        raise RegistryUnavailable(f"{registry!r} keeps no audit log")
    return list(entries())


def recorded_deployments(registry: Registry) -> Any:
    """The inventory snapshot stored with ``registry`` (``deployments.Snapshot``), or None."""
    load = getattr(registry, "deployments", None)
    return None if load is None else load()


def _kubernetes(url: str, namespace: str, api_client: Any, audit: EntrySigner | None) -> Registry:
    from modelward.engine.kubeclient import KubeAccessError
    from modelward.engine.kubeclient import api_client as make_client

    with requires("kubernetes", "a kubernetes:// registry"):
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
    return KubernetesRegistry(namespace, api_client, audit=audit)

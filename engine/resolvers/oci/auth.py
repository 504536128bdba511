"""Registry credentials as Docker and Podman store them, and which registries may use plain HTTP.

The auth file is the first that exists of ``$REGISTRY_AUTH_FILE``,
``$XDG_RUNTIME_DIR/containers/auth.json``, ``$DOCKER_CONFIG/config.json`` and
``~/.docker/config.json``. Looking up an entry (inline ``auth``, ``credHelpers``, ``credsStore``
through ``docker-credential-NAME get``) and the token exchange are oras-py's.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from modelward.engine.errors import ResolveError

INSECURE_ENV: Final = "MODELWARD_INSECURE_REGISTRIES"
#: Where ``docker.io`` is served from (the name users write is not the API host).
API_HOSTS: Final = {"docker.io": "registry-1.docker.io"}
_DOCKER_HUB_KEYS: Final = ("index.docker.io", "registry-1.docker.io", "docker.io")


def auth_file(env: Mapping[str, str] | None = None) -> Path | None:
    """The credentials file a container runtime would read, or None."""
    env = os.environ if env is None else env
    candidates = []
    if env.get("REGISTRY_AUTH_FILE"):
        candidates.append(Path(env["REGISTRY_AUTH_FILE"]))
    if env.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    if env.get("DOCKER_CONFIG"):
        candidates.append(Path(env["DOCKER_CONFIG"]) / "config.json")
    candidates.append(Path("~/.docker/config.json").expanduser())
    return next((p for p in candidates if p.is_file()), None)


def auth_config(registry: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """oras-py's view of the auth file: ``auths`` keyed by host, ``credsStore``, ``credHelpers``."""
    path = auth_file(env)
    if path is None:
        return {"auths": {}, "credsStore": None, "credHelpers": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResolveError(str(path), f"cannot read registry credentials: {exc}") from None
    if not isinstance(data, dict):
        raise ResolveError(str(path), "registry credentials file is not a JSON object")
    auths = {_host_key(k): v for k, v in (data.get("auths") or {}).items() if isinstance(v, dict)}
    helpers = dict(data.get("credHelpers") or {})
    if registry == "docker.io":  # Docker Hub's entries are keyed by its legacy index URL
        for key in _DOCKER_HUB_KEYS:
            if key in auths:
                auths.setdefault(registry, auths[key])
            if key in helpers:
                helpers.setdefault(registry, helpers[key])
    return {"auths": auths, "credsStore": data.get("credsStore"), "credHelpers": helpers}


def _host_key(key: str) -> str:
    """``https://index.docker.io/v1/`` → ``index.docker.io``, as Docker normalises its keys."""
    return key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]


def plain_http(registry: str, env: Mapping[str, str] | None = None) -> bool:
    """Plain HTTP for loopback registries and those listed in ``MODELWARD_INSECURE_REGISTRIES``."""
    env = os.environ if env is None else env
    listed = {r.strip() for r in (env.get(INSECURE_ENV) or "").split(",") if r.strip()}
    if registry in listed:
        return True
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(registry: str, env: Mapping[str, str] | None = None) -> str:
    scheme = "http" if plain_http(registry, env) else "https"
    return f"{scheme}://{API_HOSTS.get(registry, registry)}"

"""Registries that fail: each is a ResolveError naming the registry, repository and what failed."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from modelward.engine.errors import ResolveError
from tests.sources.oci.artifacts import MODELPACK_CONFIG, MODELPACK_RAW, safetensors
from tests.sources.oci.helpers import resolve
from tests.sources.registry import Pusher, RegistryServer, free_port


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home: no Docker or Podman auth file is read but the one a test writes."""
    for name in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "DOCKER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def _docker_config(home: Path, host: str, user: str, password: str) -> None:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path = home / ".docker/config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}))


def test_unreachable_registry(tmp_path: Path) -> None:
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(ResolveError) as info:
        resolve(f"oci://{host}/org/model:1", tmp_path / "cache")
    assert f"{host}/org/model" in info.value.reason
    assert "cannot connect: connection refused" in info.value.reason


@pytest.mark.parametrize("ref", ["nobody/here:v1", "models/present:missing-tag"])
def test_not_found(registry: RegistryServer, tmp_path: Path, ref: str) -> None:
    push = Pusher(registry, "models/present")
    layer = push.blob(safetensors(2), MODELPACK_RAW, {"org.cncf.model.filepath": "w.safetensors"})
    push.artifact("v1", (b"{}", MODELPACK_CONFIG), [layer])
    with pytest.raises(ResolveError) as info:
        resolve(f"oci://{registry.host}/{ref}", tmp_path / "cache")
    assert "not found (HTTP 404)" in info.value.reason
    assert f"{registry.host}/{ref.split(':')[0]}" in info.value.reason
    assert "manifest " + ref.split(":")[1] in info.value.reason
    assert "UNKNOWN" in info.value.reason  # the registry's own error code


def test_bad_credentials(
    auth_registry: RegistryServer, no_credentials: Path, tmp_path: Path
) -> None:
    _docker_config(no_credentials, auth_registry.host, "alice", "wrong password")
    with pytest.raises(ResolveError) as info:
        resolve(f"oci://{auth_registry.host}/private/model:v1", tmp_path / "cache")
    assert "authentication failed (HTTP 401)" in info.value.reason
    assert f"{auth_registry.host}/private/model" in info.value.reason


def test_no_credentials(
    auth_registry: RegistryServer, no_credentials: Path, tmp_path: Path
) -> None:
    with pytest.raises(ResolveError) as info:
        resolve(f"oci://{auth_registry.host}/private/model:v1", tmp_path / "cache")
    assert "requires credentials and none are configured" in info.value.reason


def test_good_credentials_from_docker_config(
    auth_registry: RegistryServer, no_credentials: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    push = Pusher(auth_registry, "private/model")
    layer = push.blob(safetensors(3), MODELPACK_RAW, {"org.cncf.model.filepath": "w.safetensors"})
    push.artifact("v1", (b"{}", MODELPACK_CONFIG), [layer])
    config_dir = tmp_path / "docker-config"
    _docker_config(config_dir.parent / "x", auth_registry.host, "nobody", "nothing")  # ignored
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    config_dir.mkdir()
    token = base64.b64encode(f"alice:{auth_registry.password}".encode()).decode()
    (config_dir / "config.json").write_text(
        json.dumps({"auths": {auth_registry.host: {"auth": token}}})
    )
    source = resolve(f"oci://{auth_registry.host}/private/model:v1", tmp_path / "cache")
    assert [f.path for f in source.files] == ["w.safetensors"]


def test_credential_helper(
    auth_registry: RegistryServer, no_credentials: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    push = Pusher(auth_registry, "private/helper")
    layer = push.blob(safetensors(3), MODELPACK_RAW, {"org.cncf.model.filepath": "w.safetensors"})
    push.artifact("v1", (b"{}", MODELPACK_CONFIG), [layer])
    helpers = tmp_path / "bin"
    helpers.mkdir()
    helper = helpers / "docker-credential-testpass"
    secret = json.dumps({"Username": "alice", "Secret": auth_registry.password})
    helper.write_text(f"#!/bin/sh\nread host\necho '{secret}'\n")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{helpers}:/usr/bin:/bin")
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"credHelpers": {auth_registry.host: "testpass"}}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    source = resolve(f"oci://{auth_registry.host}/private/helper:v1", tmp_path / "cache")
    assert [f.path for f in source.files] == ["w.safetensors"]


def test_only_sha256_digests_are_accepted(registry: RegistryServer, tmp_path: Path) -> None:
    push = Pusher(registry, "models/sha512")
    data = safetensors(2)
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    started = push.session.post(f"{registry.url}/v2/models/sha512/blobs/uploads/", timeout=10)
    location = started.headers["Location"]
    location = registry.url + location if location.startswith("/") else location
    sep = "&" if "?" in location else "?"
    assert push.session.put(f"{location}{sep}digest={digest}", data=data, timeout=10).ok
    doc = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": push.blob(b"{}", MODELPACK_CONFIG),
        "layers": [{"mediaType": MODELPACK_RAW, "digest": digest, "size": len(data)}],
    }  # fmt: skip
    push.manifest("v1", doc, "application/vnd.oci.image.manifest.v1+json")
    with pytest.raises(ResolveError, match="only sha256 digests are supported"):
        resolve(f"oci://{registry.host}/models/sha512:v1", tmp_path / "cache")

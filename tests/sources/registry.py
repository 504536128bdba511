"""A real OCI registry (CNCF Distribution, built by scripts/tools.sh) for the source tests.

``start_registry`` runs it on 127.0.0.1 with filesystem storage (optionally with htpasswd basic
auth); ``Pusher`` uploads blobs and manifests the tests build themselves, through the registry's
HTTP API.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import requests

from tests.conftest import tool_binary

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass(frozen=True)
class RegistryServer:
    host: str  # 127.0.0.1:PORT
    url: str
    username: str | None = None
    password: str | None = None
    storage: Path | None = None

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username and self.password else None

    def blob_data(self, digest: str) -> Path:
        """Where the registry keeps a blob's bytes (for tampering tests)."""
        hex_ = digest.removeprefix("sha256:")
        assert self.storage is not None
        return self.storage / "docker/registry/v2/blobs/sha256" / hex_[:2] / hex_ / "data"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def start_registry(workdir: Path, *, user: str | None = None) -> Iterator[RegistryServer]:
    """Run the registry until the block ends; with ``user``, behind htpasswd basic auth."""
    storage = workdir / "storage"
    storage.mkdir(parents=True)
    port = free_port()
    password = "s3cret-" + user if user else None
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": "modelward-tests"},
    }
    if user and password:
        htpasswd = workdir / "htpasswd"
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
        htpasswd.write_text(f"{user}:{hashed}\n")
        config["auth"] = {"htpasswd": {"realm": "modelward-tests", "path": str(htpasswd)}}
    config_path = workdir / "config.yml"
    config_path.write_text(json.dumps(config))  # JSON is YAML
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(workdir),
        "OTEL_TRACES_EXPORTER": "none", "OTEL_SDK_DISABLED": "true",
    }  # fmt: skip
    log = (workdir / "registry.log").open("wb")
    proc = subprocess.Popen(
        [str(tool_binary("registry")), "serve", str(config_path)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    server = RegistryServer(
        f"127.0.0.1:{port}", f"http://127.0.0.1:{port}", user, password, storage
    )
    try:
        _wait(server, proc, workdir / "registry.log")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait(server: RegistryServer, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"registry exited: {log.read_text()[-2000:]}")
        try:
            status = requests.get(server.url + "/v2/", timeout=1).status_code
        except requests.ConnectionError:
            time.sleep(0.1)
            continue
        if status in (200, 401):
            return
    raise RuntimeError(f"registry did not answer /v2/ within 30 s: {log.read_text()[-2000:]}")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Pusher:
    """Uploads to one repository of a test registry."""

    def __init__(self, server: RegistryServer, repository: str) -> None:
        self.server = server
        self.repository = repository
        self.session = requests.Session()
        if server.auth:
            self.session.auth = server.auth

    def blob(
        self, data: bytes, media_type: str, annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Upload ``data``; return its descriptor."""
        digest = digest_of(data)
        base = f"{self.server.url}/v2/{self.repository}/blobs/uploads/"
        started = self.session.post(base, timeout=10)
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.server.url + location
        sep = "&" if "?" in location else "?"
        done = self.session.put(
            f"{location}{sep}digest={digest}", data=data, timeout=30,
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip
        assert done.status_code == 201, done.text
        descriptor: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": len(data)}
        if annotations:
            descriptor["annotations"] = annotations
        return descriptor

    def manifest(self, reference: str, doc: dict[str, Any] | bytes, media_type: str) -> str:
        """Upload a manifest (or index) under ``reference``; return its digest."""
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        url = f"{self.server.url}/v2/{self.repository}/manifests/{reference}"
        done = self.session.put(url, data=body, headers={"Content-Type": media_type}, timeout=10)
        assert done.status_code == 201, done.text
        return digest_of(body)

    def artifact(
        self, tag: str, config: tuple[bytes, str], layers: list[dict[str, Any]], *,
        artifact_type: str | None = None, media_type: str = OCI_MANIFEST,
        subject: dict[str, Any] | None = None,
    ) -> str:  # fmt: skip
        """A manifest with ``config`` (bytes, media type) and already uploaded ``layers``."""
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": self.blob(*config),
            "layers": layers,
        }
        if artifact_type:
            doc["artifactType"] = artifact_type
        if subject:
            doc["subject"] = subject
        return self.manifest(tag, doc, media_type)

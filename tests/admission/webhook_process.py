"""`modelward webhook serve` as a real process on 127.0.0.1, and an HTTPS client for it.

``WebhookProcess`` writes the configuration, starts the installed ``modelward`` command with fresh
certificates, and talks to it over TLS (trusting only the test CA). The log and the audit log are
files in the test's folder, so failures can show them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.kube import CertAuthority, free_port

MODELWARD = Path(sys.executable).parent / "modelward"
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Tls:
    """A CA and the serving certificate it issued, written as files."""

    ca: CertAuthority
    cert: Path
    key: Path

    @classmethod
    def issue(cls, folder: Path, ca: CertAuthority | None = None) -> Tls:
        ca = ca or CertAuthority.create(f"webhook-ca-{uuid.uuid4().hex[:6]}")
        cert_pem, key_pem = ca.issue("localhost")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tls.crt").write_bytes(cert_pem)
        (folder / "tls.key").write_bytes(key_pem)
        return cls(ca, folder / "tls.crt", folder / "tls.key")

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca.cert_pem.decode())


class WebhookProcess:
    """One ``modelward webhook serve`` process; ``restart()`` starts it again on the same port."""

    def __init__(
        self,
        folder: Path,
        config: dict[str, Any],
        *,
        tls: Tls | None = None,
        port: int | None = None,
        args: tuple[str, ...] = ("--eval-workers", "1"),
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.tls = tls or Tls.issue(folder / "tls")
        self.port = port or free_port()
        self.config_path = folder / "webhook.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.args = args
        self.log_path = folder / "webhook.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        argv = [str(MODELWARD), "webhook", "serve", "--tls-cert", str(self.tls.cert),
                "--tls-key", str(self.tls.key), "--host", "127.0.0.1", "--port", str(self.port),
                "--config", str(self.config_path), *self.args]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, cwd=self.folder)
        self.wait_for(lambda: self.get("/healthz").status == 200, "/healthz")

    def restart(self) -> None:
        self.stop()
        self.start()

    # --- HTTPS ---------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> Reply:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self.tls.client_context(), timeout=timeout
        )
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return Reply(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            connection.close()

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def review(self, document: Any, path: str = "/validate", timeout: float = 60.0) -> Reply:
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json"}
        return self.request("POST", path, body, headers, timeout)

    def metrics(self) -> dict[str, float]:
        """``name{labels}`` -> value of every sample in /metrics."""
        samples = {}
        for line in self.get("/metrics").body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def peer_certificate(self, context: ssl.SSLContext | None = None) -> bytes:
        """The DER certificate a new TLS handshake presents."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            context = context or self.tls.client_context()
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.getpeercert(binary_form=True) or b""

    # --- process -------------------------------------------------------------------------------

    def wait_for(self, probe: Any, what: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"the webhook exited with code {self.proc.returncode} while waiting for "
                    f"{what}:\n{self.log()}"
                )
            with contextlib.suppress(OSError, http.client.HTTPException):
                if probe():
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.log()}")
            time.sleep(0.1)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        self.wait_for(lambda: self.get("/readyz").status == 200, "/readyz", timeout)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def audit(self) -> list[dict[str, Any]]:
        path = self.folder / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


def slow_bundle(folder: Path, iterations: int) -> Path:
    """A policy bundle whose one deny rule counts ``iterations``² pairs (seconds of work)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "slow.rego").write_text(
        f"""package modelward.main

import rego.v1

# METADATA
# title: Slow rule
# custom:
#   id: test-slow
#   severity: high
#   remediation: Make the rule faster.
deny contains {{"id": "test-slow", "msg": "slow rule finished", "severity": "high"}} if {{
\tn := {iterations}
\tpairs := count({{(i % 2) | some i in numbers.range(1, n); some j in numbers.range(1, n)}})
\tpairs > 0
}}
"""
    )
    return folder


def registry_config(folder: Path, **overrides: Any) -> dict[str, Any]:
    """A configuration with a SQLite registry holding a trusted verdict for ``REFERENCE``."""
    from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
    from tests.admission.core_helpers import signed_verdict, vetting_keys

    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "verdicts.db"
    if not database.exists():
        SqliteRegistry(database).put(signed_verdict())
    key = folder / "verdict-key.pub"
    key.write_bytes(vetting_keys()[1])
    config: dict[str, Any] = {
        "registry": {"type": "sqlite", "path": str(database)},
        "verdict_keys": [str(key)],
        "audit_log": str(folder / "audit.jsonl"),
        "deadline_seconds": 10,
        "kubernetes": {"access": "off"},
    }
    config.update(overrides)
    return config


def sample(samples: dict[str, float], name: str, **labels: str) -> float:
    """The value of metric ``name`` with exactly ``labels`` (0 when absent)."""
    for key, value in samples.items():
        base, _, rest = key.partition("{")
        found = dict(part.split("=", 1) for part in rest.rstrip("}").split(",") if "=" in part)
        if base == name and {k: v.strip('"') for k, v in found.items()} == labels:
            return value
    return 0.0

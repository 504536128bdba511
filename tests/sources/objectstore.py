"""A real S3-compatible object store for the tests: versitygw (posix backend, versioning).

``running_s3(folder)`` starts the binary ``scripts/tools.sh versitygw`` builds on a free port of
127.0.0.1, with its data in ``folder``, and stops it on exit. ``S3Server.env()`` is the
environment that points boto3 (in the tests and in the resolver) at it and nowhere else: fixed
keys, no instance metadata lookups, no user AWS config.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.conftest import tool_binary
from tests.e2e.kube import free_port

ACCESS_KEY = "MWTESTACCESSKEY"
SECRET_KEY = "mw-test-secret-key-0123456789"
REGION = "us-east-1"
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    region: str
    home: Path

    def env(self) -> dict[str, str]:
        """Variables that make boto3 use this server and only it."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(self.home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "aws-credentials"),
        }

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(retries={"max_attempts": 1}),
        )


@contextmanager
def running_s3(folder: Path) -> Iterator[S3Server]:
    binary = tool_binary("versitygw")
    data, versions, home = folder / "data", folder / "versions", folder / "home"
    for path in (data, versions, home):
        path.mkdir(parents=True, exist_ok=True)
    (home / "aws-config").write_text("")
    (home / "aws-credentials").write_text("")
    port = free_port()
    argv = [
        str(binary), "--access", ACCESS_KEY, "--secret", SECRET_KEY, "--region", REGION,
        "--port", f"127.0.0.1:{port}", "--quiet",
        "posix", "--versioning-dir", str(versions), str(data),
    ]  # fmt: skip
    log_path = folder / "versitygw.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, popen, log_path)
        yield S3Server(f"http://127.0.0.1:{port}", ACCESS_KEY, SECRET_KEY, REGION, home)
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=10)


def _wait_for_port(port: int, popen: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"versitygw exited: {log_path.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"versitygw did not listen within {START_TIMEOUT} s")

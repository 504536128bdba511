"""Signature tests: fixtures from ``shared/fixtures/signing`` (read in place or copied to tmp),
keys and certificates generated per test, and no network at all."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.collectors import CollectOptions, SignatureOptions
from modelward.engine.facts import Facts
from modelward.engine.pipeline import collect_facts

IDENTITY = "stefanb@us.ibm.com"
ISSUER = "https://sigstore.verify.ibm.com/oauth2"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any connection attempt (a TUF refresh, a Rekor lookup) fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    # Child processes (the CLI) get a proxy that refuses every connection.
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    yield


@pytest.fixture(scope="session")
def signing(shared: Path) -> Path:
    return shared / "fixtures" / "signing"


@pytest.fixture(scope="session")
def mt(signing: Path) -> Path:
    """The model-transparency fixtures (toy models signed by every release)."""
    return signing / "model-transparency"


@pytest.fixture(scope="session")
def certs(mt: Path) -> Path:
    return mt / "keys" / "certificate"


@pytest.fixture(scope="session")
def trust(signing: Path) -> Path:
    return signing / "trust"


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def facts_for(model: Path, **options: Any) -> Facts:
    return collect_facts(str(model), options=CollectOptions(signature=SignatureOptions(**options)))

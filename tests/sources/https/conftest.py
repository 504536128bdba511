"""Fixtures for the ``https://`` tests: a local HTTPS server whose CA the client trusts."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelward.engine.resolvers.fetch import FetchSettings
from tests.sources.webserver import WebServer


@pytest.fixture
def web(https_server: WebServer, monkeypatch: pytest.MonkeyPatch) -> WebServer:
    """The server with fresh content, trusted through ``SSL_CERT_FILE``."""
    https_server.files.clear()
    https_server.redirects.clear()
    https_server.requests.clear()
    monkeypatch.setenv("SSL_CERT_FILE", str(https_server.ca_file))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    return https_server


@pytest.fixture
def settings(tmp_path: Path) -> FetchSettings:
    return FetchSettings(cache_dir=tmp_path / "cache", timeout=10.0)

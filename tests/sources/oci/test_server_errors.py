"""Registries that answer badly or not at all, played by a small loopback server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from modelward.engine.errors import ResolveError
from tests.sources.oci.helpers import resolve


def _serving(status_for: dict[str, int]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = next((s for p, s in status_for.items() if self.path.startswith(p)), 200)
            body = b'{"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def fake_registry(request: pytest.FixtureRequest) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _serving(request.param))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("fake_registry", "expected"),
    [
        ({"/v2/org/m/manifests/": 429}, "rate limited by the registry (HTTP 429)"),
        ({"/v2/org/m/manifests/": 503}, "registry error (HTTP 503)"),
        ({"/v2/": 500}, "registry API check: registry error (HTTP 500)"),
        ({"/v2/org/m/manifests/": 403}, "access denied (HTTP 403)"),
    ],
    indirect=["fake_registry"],
)
def test_http_errors(fake_registry: str, tmp_path: Path, expected: str) -> None:
    with pytest.raises(ResolveError) as info:
        resolve(f"oci://{fake_registry}/org/m:1", tmp_path / "cache")
    assert expected in info.value.reason
    assert f"{fake_registry}/org/m" in info.value.reason


def test_timeout_is_bounded(tmp_path: Path) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        host = f"127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ResolveError) as info:
            resolve(f"oci://{host}/org/m:1", tmp_path / "cache", timeout=0.5)
        assert time.monotonic() - started < 5
    assert "timed out after 0.5 s" in info.value.reason

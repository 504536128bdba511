"""A small HTTPS file server on 127.0.0.1 for the ``https://`` resolver tests.

It serves ``files`` (path -> bytes) with ``Range: bytes=N-`` support, answers ``redirects``
(path -> Location) with 302, everything else with 404, and records each request's path and
range. Its certificate comes from a test CA; clients trust it through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.e2e.kube import CertAuthority

RANGE = re.compile(r"^bytes=(\d+)-$")


@dataclass
class WebServer:
    base: str
    ca_file: Path
    files: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def _handler(server: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            wanted = self.headers.get("Range")
            server.requests.append((self.path, wanted))
            if self.path in server.redirects:
                self.send_response(302)
                self.send_header("Location", server.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = server.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            match = RANGE.match(wanted or "")
            start = int(match.group(1)) if match else 0
            if start > len(body) or (match and start == len(body)):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206 if match else 200)
            if match:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            self.wfile.write(body[start:])

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_https(folder: Path) -> Iterator[WebServer]:
    ca = CertAuthority.create("modelward-https-test-ca")
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    context: ssl.SSLContext = ca.server_context(folder / "server")
    state = WebServer("", ca_file)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    state.base = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)

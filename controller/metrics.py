"""Prometheus metrics of the controller (``/metrics``) and its health (``/healthz``)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "modelward_controller"
OUTCOMES = ("allow", "deny", "failed")
BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600)


class ControllerMetrics:
    """Queue depth, running Jobs, vetting duration and outcomes, leadership."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.queue_depth = Gauge(f"{PREFIX}_queue_depth", "Pending ModelVettings.", registry=r)
        self.running = Gauge(f"{PREFIX}_running", "ModelVettings with a Job running.", registry=r)
        self.leader = Gauge(f"{PREFIX}_leader", "1 while this replica leads.", registry=r)
        self.duration = Histogram(
            f"{PREFIX}_vet_duration_seconds",
            "From Job creation to the published verdict.",
            buckets=BUCKETS,
            registry=r,
        )
        self.outcomes = Counter(
            f"{PREFIX}_outcomes", "Finished vettings by outcome.", ["outcome"], registry=r
        )
        self.claim_mismatches = Counter(
            f"{PREFIX}_claim_mismatches",
            "Worker results whose claimed outcome differed from the controller's evaluation.",
            registry=r,
        )
        self.revets = Counter(
            f"{PREFIX}_revets", "Models re-queued for vetting, by reason.", ["reason"], registry=r
        )
        for outcome in OUTCOMES:
            self.outcomes.labels(outcome)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def serve_metrics(
    metrics: ControllerMetrics, address: str, port: int, healthy: Any
) -> ThreadingHTTPServer:
    """Serve ``/metrics`` and ``/healthz`` (``healthy()`` -> bool) in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                ok = bool(healthy())
                self._send(200 if ok else 503, b"ok\n" if ok else b"stalled\n", "text/plain")
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer((address, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return server

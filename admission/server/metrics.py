"""Prometheus metrics of the webhook, in a registry of their own (``/metrics``).

The evaluation pool and the vetting requester live below the application (in
``AdmissionService``), so their metrics are process-wide collectors (``WORKER_RESTARTS``,
``WORKERS``, ``VETTING_REQUESTS``) that each ``WebhookMetrics`` registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "modelward_webhook"
# Fine buckets where the latency target lies (1-10 ms), coarse ones up to the longest deadline.
BUCKETS = (
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01,
    0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
RESULTS = ("allowed", "denied", "warned", "exempt", "error")
MODES = ("enforce", "warn", "dry-run")
CONTENT_TYPE = CONTENT_TYPE_LATEST
CLOSE_REASONS = (
    "limit", "handshake_timeout", "handshake_failed", "header_timeout", "body_timeout",
    "headers_too_large",
)  # fmt: skip
RESTART_REASONS = ("exited", "unresponsive", "failed", "overran")
VETTING_RESULTS = ("requested", "failed", "dropped")

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
WORKER_RESTARTS = Counter(
    f"{PREFIX}_eval_worker_restarts",
    "Evaluation workers replaced: found dead or unresponsive while idle (exited, unresponsive),"
    " died during an evaluation (failed), killed at the deadline (overran).",
    ["reason"],
    registry=None,
)
WORKERS = Gauge(
    f"{PREFIX}_eval_workers", "Evaluation worker processes started and not found dead.",
    registry=None,
)  # fmt: skip
VETTING_REQUESTS = Counter(
    f"{PREFIX}_vetting_requests",
    "ModelVettings the webhook asked for (auto_vetting): requested (created, or found already"
    " there), failed (the API server refused or did not answer), dropped (the queue was full).",
    ["result"],
    registry=None,
)
for _reason in RESTART_REASONS:
    WORKER_RESTARTS.labels(_reason)
for _result in VETTING_RESULTS:
    VETTING_REQUESTS.labels(_result)


class WebhookMetrics:
    """The webhook's counters, gauges and the request latency histogram."""

    def __init__(self, synced: Callable[[], Mapping[str, bool]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        r.register(WORKER_RESTARTS)
        r.register(WORKERS)
        r.register(VETTING_REQUESTS)
        self.duration = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Time from receiving an admission review to sending its answer.",
            buckets=BUCKETS,
            registry=r,
        )
        self._decisions = Counter(
            f"{PREFIX}_decisions",
            "Admission decisions by result and mode.",
            ["result", "mode"],
            registry=r,
        )
        self.bad_requests = Counter(
            f"{PREFIX}_bad_requests", "Requests answered with HTTP 4xx.", ["code"], registry=r
        )
        self.deadline_exceeded = Counter(
            f"{PREFIX}_deadline_exceeded",
            "Reviews denied because they did not finish before the deadline.",
            registry=r,
        )
        self.internal_errors = Counter(
            f"{PREFIX}_internal_errors",
            "Reviews denied because of an unexpected error.",
            registry=r,
        )
        self.audit_failures = Counter(
            f"{PREFIX}_audit_write_failures",
            "Decisions not sent because their audit line could not be written.",
            registry=r,
        )
        self.in_flight = Gauge(
            f"{PREFIX}_in_flight_requests", "Admission reviews being decided.", registry=r
        )
        self.overloaded = Counter(
            f"{PREFIX}_overloaded",
            "Reviews answered 503 because no in-flight slot freed up before the deadline.",
            registry=r,
        )
        self.connections = Gauge(
            f"{PREFIX}_connections",
            "Open connections (TLS handshakes included), per listener.",
            ["listener"],
            registry=r,
        )
        self.connections_closed = Counter(
            f"{PREFIX}_connections_closed",
            "Connections the server closed on its own: over the connection limit, TLS handshake"
            " timed out or failed, headers or body too slow, headers too large.",
            ["reason"],
            registry=r,
        )
        for reason in CLOSE_REASONS:
            self.connections_closed.labels(reason)
        cache_synced = Gauge(
            f"{PREFIX}_cache_synced", "1 when the cache has synced.", ["cache"], registry=r
        )
        for cache in ("verdicts", "namespaces"):
            cache_synced.labels(cache).set_function(_reader(synced, cache))
        self._children: dict[tuple[str, str], Any] = {}
        for result in RESULTS:
            for mode in MODES:
                self._children[result, mode] = self._decisions.labels(result, mode)

    def decision(self, result: str, mode: str) -> None:
        child = self._children.get((result, mode))
        if child is None:  # an unexpected label value: still counted
            child = self._children[result, mode] = self._decisions.labels(result, mode)
        child.inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _reader(synced: Callable[[], Mapping[str, bool]], cache: str) -> Callable[[], float]:
    return lambda: float(synced()[cache])

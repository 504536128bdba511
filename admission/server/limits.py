"""The webhook server's connection and request limits, and the memory they bound.

Every number the server enforces per connection and per request lives in ``ServerLimits``; the
``webhook serve`` flags and the chart values set them. ``memory_bound`` is the arithmetic of
docs/admission.md ("Server limits"): what connections and reviews in flight can occupy at most.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
# Measured worst cases (docs/admission.md, "Server limits"): resident memory of a connection
# whose client streams a maximal body that waits for an in-flight slot (TLS state and read
# buffers, the parser's body buffer), and of a review body once parsed (JSON of empty objects:
# about 24 bytes per byte), plus the raw body held twice while it is joined.
CONNECTION_BYTES = 600 * 1024
PARSE_FACTOR = 26
RAW_COPIES = 2
METRICS_CONNECTIONS = 16  # connections on the separate metrics port, beside max_connections
SHUTDOWN_TIMEOUT = 2.0  # seconds a closing TLS connection waits for the peer's close_notify


@dataclass(frozen=True)
class ServerLimits:
    """Timeouts (seconds) and caps of the HTTPS server."""

    header_timeout: float = 10.0  # TLS handshake and request headers, from accept or first byte
    body_timeout: float = 10.0  # the request body, from the end of the headers
    keep_alive_timeout: float = 30.0  # an idle connection between requests
    max_connections: int = 320  # open connections, TLS handshakes included
    max_in_flight: int = 32  # reviews being read or decided
    max_in_flight_bytes: int = 6 * MIB  # their declared body sizes together
    max_header_bytes: int = 16 * 1024  # request line and headers of one request
    ready_timeout: float = 60.0  # /healthz fails when not ready for longer


def memory_bound(limits: ServerLimits) -> int:
    """Bytes that connections and review bodies in flight can hold at most, beyond the baseline
    of the server and its evaluation workers."""
    connections = (limits.max_connections + METRICS_CONNECTIONS) * CONNECTION_BYTES
    return connections + limits.max_in_flight_bytes * (PARSE_FACTOR + RAW_COPIES)

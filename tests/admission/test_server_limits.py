"""Connection hygiene of a real `modelward webhook serve` on 127.0.0.1.

Slow clients (no TLS handshake, nothing after it, headers or a body a byte at a time, an idle
keep-alive connection) are closed within the configured timeouts; oversized headers get a 431;
connections beyond the cap are closed at once; a review that cannot get body bytes in flight
before its deadline gets a 503 naming the limit. The last test holds 5,000 idle TLS connections:
each is closed within the header timeout, the resident memory of the server and its workers stays
under the chart's memory limit, and the p99 latency of legitimate reviews stays where it was.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import ssl
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.admission.core_helpers import REFERENCE, container, pod, review_of
from tests.admission.webhook_process import WebhookProcess, registry_config, sample
from tests.chart import CHART

pytestmark = pytest.mark.slow

HEADER, BODY, KEEP_ALIVE = 1.5, 3.0, 1.5  # seconds, as passed to the server below
MARGIN = 1.5  # scheduling slack on a loaded 2-core machine
MAX_CONNECTIONS = 8
MAX_BODY_BYTES_IN_FLIGHT = 4096
FLOOD = 5000


def _flags(**values: Any) -> tuple[str, ...]:
    return tuple(a for k, v in values.items() for a in (f"--{k.replace('_', '-')}", str(v)))


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookProcess]:
    folder = tmp_path_factory.mktemp("limits")
    args = _flags(
        eval_workers=1,
        header_timeout=HEADER,
        body_timeout=BODY,
        keep_alive_timeout=KEEP_ALIVE,
        max_connections=MAX_CONNECTIONS,
        max_in_flight_bytes=MAX_BODY_BYTES_IN_FLIGHT,
        max_header_bytes=4096,
    )
    process = WebhookProcess(folder, registry_config(folder, deadline_seconds=1.0), args=args)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _tls(process: WebhookProcess) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", process.port), timeout=30)
    return process.tls.client_context().wrap_socket(raw, server_hostname="localhost")


def _until_closed(sock: socket.socket, dribble: bytes = b"", every: float = 0.25) -> bytes:
    """Send ``dribble`` a byte every ``every`` seconds; all the server sent until it closed."""
    received, sent = b"", 0
    sock.settimeout(every if dribble else 30)
    while True:
        if sent < len(dribble) and not received:
            try:
                sock.sendall(dribble[sent : sent + 1])
            except OSError:
                return received
            sent += 1
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:  # reset after the answer
            return received
        if not chunk:
            return received
        received += chunk


def _closed_after(expected: float, sock: socket.socket, dribble: bytes = b"") -> bytes:
    started = time.monotonic()
    received = _until_closed(sock, dribble)
    elapsed = time.monotonic() - started
    assert expected - 0.2 <= elapsed <= expected + MARGIN, f"closed after {elapsed:.2f} s"
    return received


def _review_body() -> bytes:
    return json.dumps(
        review_of(pod(container("main", model=REFERENCE)), uid=str(uuid.uuid4()))
    ).encode()


def _post_head(length: int) -> bytes:
    return (
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_no_tls_handshake_is_closed_at_the_header_timeout(webhook: WebhookProcess) -> None:
    closed = "modelward_webhook_connections_closed_total"
    before = sample(webhook.metrics(), closed, reason="handshake_timeout")
    with socket.create_connection(("127.0.0.1", webhook.port), timeout=30) as raw:
        assert _closed_after(HEADER, raw) == b""
    assert sample(webhook.metrics(), closed, reason="handshake_timeout") == before + 1


def test_nothing_after_the_handshake_is_closed_at_the_header_timeout(
    webhook: WebhookProcess,
) -> None:
    with _tls(webhook) as tls:
        assert _closed_after(HEADER, tls).startswith(b"HTTP/1.1 408 ")


def test_slow_headers_are_closed_at_the_header_timeout(webhook: WebhookProcess) -> None:
    head = b"POST /validate HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
    with _tls(webhook) as tls:
        assert _closed_after(HEADER, tls, head).startswith(b"HTTP/1.1 408 ")


def test_a_slow_body_is_closed_at_the_body_timeout(webhook: WebhookProcess) -> None:
    body = _review_body()
    with _tls(webhook) as tls:
        tls.sendall(_post_head(len(body)))
        assert _closed_after(BODY, tls, body).startswith(b"HTTP/1.1 408 ")


def test_an_idle_keep_alive_connection_is_closed(webhook: WebhookProcess) -> None:
    with _tls(webhook) as tls:
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = b""
        while not first.endswith(b"ok\n"):
            first += tls.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        assert _closed_after(KEEP_ALIVE, tls) == b""


def test_oversized_headers_get_431(webhook: WebhookProcess) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n"
    with _tls(webhook) as tls:
        tls.sendall(head)
        assert _until_closed(tls).startswith(b"HTTP/1.1 431 ")


def test_connections_beyond_the_cap_are_closed_at_once(webhook: WebhookProcess) -> None:
    before = webhook.metrics()
    held = [_tls(webhook) for _ in range(MAX_CONNECTIONS)]
    try:
        started = time.monotonic()
        with pytest.raises(OSError):  # closed before the handshake could complete
            _tls(webhook).recv(1)
        assert time.monotonic() - started < 1.0
    finally:
        for sock in held:
            sock.close()
    webhook.wait_for(lambda: webhook.get("/healthz").status == 200, "a free connection")
    closed = "modelward_webhook_connections_closed_total"
    assert sample(webhook.metrics(), closed, reason="limit") > sample(
        before, closed, reason="limit"
    )
    assert "the limit (--max-connections) is 8" in webhook.log()


def test_a_review_beyond_the_body_bytes_in_flight_gets_503_then_passes(
    webhook: WebhookProcess,
) -> None:
    body = _review_body()
    assert 300 < len(body) < MAX_BODY_BYTES_IN_FLIGHT
    with _tls(webhook) as hog:  # declares 4000 bytes, sends 3800, then stalls
        hog.sendall(_post_head(4000) + b" " * 3800)
        time.sleep(0.3)
        reply = webhook.review(json.loads(body))
        assert reply.status == 503, reply.body
        message = reply.json()["error"]
        assert f"{MAX_BODY_BYTES_IN_FLIGHT} body bytes (--max-in-flight-bytes)" in message
        assert _until_closed(hog).startswith(b"HTTP/1.1 408 ")  # at the body timeout
    answer = webhook.review(json.loads(body)).json()["response"]
    assert answer["allowed"] is True
    assert sample(webhook.metrics(), "modelward_webhook_overloaded_total") >= 1


# --- 5,000 idle TLS connections ----------------------------------------------------------------


def _chart_memory_limit() -> int:
    text = yaml.safe_load((CHART / "values.yaml").read_text())["resources"]["limits"]["memory"]
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
    return int(text[:-2]) * units[text[-2:]] if text[-2:] in units else int(text)


def _resident(pid: int) -> int:
    """Resident bytes of ``pid`` and its children (the webhook and its evaluation workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0
    for each in (pid, *map(int, children)):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def _p99(process: WebhookProcess, count: int = 300) -> float:
    """p99 seconds of ``count`` reviews on one keep-alive connection."""
    import http.client

    connection = http.client.HTTPSConnection(
        "127.0.0.1", process.port, context=process.tls.client_context(), timeout=30
    )
    times = []
    try:
        for _ in range(count):
            body = _review_body()
            started = time.perf_counter()
            connection.request("POST", "/validate", body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            assert json.loads(answer.read())["response"]["allowed"] is True
            times.append(time.perf_counter() - started)
    finally:
        connection.close()
    return statistics.quantiles(times, n=100)[98]


async def _hold_idle(port: int, context: ssl.SSLContext, count: int) -> list[Any]:
    """Open ``count`` TLS connections that send nothing: (reader, opened-at) pairs."""
    gate = asyncio.Semaphore(64)

    async def one() -> Any:
        async with gate:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname="localhost"
            )
            return reader, writer, time.monotonic()

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _close_times(held: list[Any]) -> list[float]:
    """Seconds from opening to the server closing, per connection."""

    async def one(reader: asyncio.StreamReader, writer: Any, opened: float) -> float:
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass
        closed = time.monotonic() - opened
        writer.close()
        return closed

    return list(await asyncio.gather(*(one(*each) for each in held)))


def test_5000_idle_tls_connections(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * FLOOD + 512  # the server inherits the limit; both ends live on this machine
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    count = min(FLOOD, (min(needed, hard) - 512) // 2)
    idle_timeout = 45.0  # long enough to open every connection before the first is closed
    args = _flags(
        eval_workers=1,
        header_timeout=idle_timeout,
        max_connections=FLOOD + 100,
        keep_alive_timeout=60,
    )
    process = WebhookProcess(tmp_path, registry_config(tmp_path), args=args)
    try:
        process.wait_ready()
        _p99(process, 50)  # warm up
        baseline = _p99(process)
        resident_before = _resident(process.proc.pid)  # type: ignore[union-attr]

        async def flood() -> tuple[list[float], float, int, float]:
            held = await _hold_idle(process.port, process.tls.client_context(), count)
            resident = _resident(process.proc.pid)  # type: ignore[union-attr]
            open_now = sample(
                process.metrics(), "modelward_webhook_connections", listener="webhook"
            )
            during = await asyncio.to_thread(_p99, process)
            return await _close_times(held), during, resident, open_now

        closed, during, resident, open_now = asyncio.run(flood())
    finally:
        process.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert count == FLOOD, f"only {count} connections: raise the open-files limit ({hard})"
    assert open_now >= count
    assert resident < _chart_memory_limit(), f"{resident / 2**20:.0f} MiB resident"
    per_connection = (resident - resident_before) / count
    assert per_connection < 64 * 1024, f"{per_connection / 1024:.0f} KiB per idle connection"
    assert min(closed) >= idle_timeout - 1.5  # "opened" is stamped late on a busy client loop
    assert max(closed) <= idle_timeout + 5.0, f"closed after up to {max(closed):.1f} s"
    assert during <= 3 * baseline + 0.010, f"p99 {during * 1e3:.1f} ms vs {baseline * 1e3:.1f} ms"
    print(  # the figures docs/admission.md quotes
        f"\n{count} idle TLS connections: {resident / 2**20:.0f} MiB resident "
        f"({per_connection / 1024:.1f} KiB each), closed after {min(closed):.1f}-"
        f"{max(closed):.1f} s; review p99 {baseline * 1e3:.2f} ms before, "
        f"{during * 1e3:.2f} ms with them open"
    )

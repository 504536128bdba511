"""HTTPS load generator for the admission benchmark (run as its own process).

Keep-alive HTTP/1.1 connections over asyncio TLS streams; requests are serialised once up front
and responses are parsed only as far as the status line, Content-Length and one marker in the
body. With ``rate`` the load is open loop: request i is due at ``start + i / rate`` whatever
happened to earlier ones, and its latency counts from when it was due (so a stalled server
shows up as latency, not as a lower request rate). Without ``rate`` every connection sends as
fast as answers come back.

    python bench/admission_load.py < job.json    # prints one JSON result line
"""

from __future__ import annotations

import asyncio
import json
import ssl
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    host: str
    port: int
    ca_pem: str
    path: str
    bodies: list[str]  # request bodies, sent in turn
    total: int
    concurrency: int
    rate: float | None  # requests per second; None: as fast as possible
    headers: dict[str, str] = field(default_factory=dict)
    expect: dict[str, list[list[str]]] = field(default_factory=dict)  # see classify


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def requests_of(job: Job) -> list[bytes]:
    head = f"POST {job.path} HTTP/1.1\r\nHost: {job.host}:{job.port}\r\n"
    head += "Content-Type: application/json\r\nAccept: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in job.headers.items())
    out = []
    for body in job.bodies:
        data = body.encode()
        out.append(f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return out


def classify(job: Job, status: int, body: bytes) -> str | None:
    """The outcome of an answer, or None for an error.

    ``job.expect`` maps a status code to ``[marker, outcome]`` pairs: the first marker found in
    the body gives the outcome. A status not listed, or no marker found, is an error.
    """
    for marker, outcome in job.expect.get(str(status), ()):
        if marker.encode() in body:
            return outcome
    return None


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    return status, await reader.readexactly(length)


async def run(job: Job) -> dict[str, Any]:
    context = ssl.create_default_context(cadata=job.ca_pem)
    payloads = requests_of(job)
    tally = Tally()
    next_index = iter(range(job.total))
    connections = [
        await asyncio.open_connection(job.host, job.port, ssl=context)
        for _ in range(job.concurrency)
    ]
    started, cpu = time.perf_counter(), time.process_time()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in next_index:
            due = started + i / job.rate if job.rate else time.perf_counter()
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                writer.write(payloads[i % len(payloads)])
                status, body = await read_answer(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                tally.errors.append(f"{type(exc).__name__}: {exc}")
                writer.close()
                reader, writer = await asyncio.open_connection(job.host, job.port, ssl=context)
                continue
            tally.latencies.append(time.perf_counter() - due)
            outcome = classify(job, status, body)
            if outcome is None:
                tally.errors.append(f"HTTP {status}: {body[:200]!r}")
            else:
                tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + 1
        writer.close()

    await asyncio.gather(*(connection(r, w) for r, w in connections))
    result = summary(tally, time.perf_counter() - started)
    result["cpu_seconds"] = time.process_time() - cpu
    return result


def summary(tally: Tally, seconds: float) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in tally.latencies) or [0.0]
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return {
        "requests": len(tally.latencies) + len(tally.errors),
        "seconds": seconds,
        "rps": len(tally.latencies) / seconds if seconds else 0.0,
        "p50": cuts[49],
        "p90": cuts[89],
        "p99": cuts[98],
        "max": ms[-1],
        "errors": len(tally.errors),
        "first_errors": tally.errors[:5],
        **tally.outcomes,
    }


def main() -> int:
    import uvloop

    job = Job(**json.load(sys.stdin))
    print(json.dumps(uvloop.run(run(job))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

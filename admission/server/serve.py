"""``modelward webhook serve``: the HTTPS admission webhook.

uvicorn runs the ASGI application (``server.WebhookApp``); ``listener.GuardedServer`` accepts
the connections (a cap, a TLS handshake deadline) and ``httpguard.GuardedProtocol`` bounds each
one (header, body and keep-alive timeouts, header size). docs/admission.md, "Server limits",
explains the defaults and the memory they bound.
"""

from __future__ import annotations

import logging
import os
import ssl
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from modelward.admission.errors import ConfigError
from modelward.admission.server.limits import ServerLimits
from modelward.engine.extras import requires

webhook_app = typer.Typer(help="Run the Kubernetes admission webhook.", no_args_is_help=True)

DRAIN_MARGIN = 5.0  # seconds past the review deadline that shutdown waits for in-flight requests
DEFAULTS = ServerLimits()


def _seconds(help_text: str) -> Any:
    return typer.Option(min=0.001, help=help_text)


@webhook_app.callback()
def _group() -> None:
    """Run the Kubernetes admission webhook."""


@webhook_app.command("serve")
def serve_command(
    tls_cert: Annotated[Path, typer.Option("--tls-cert", help="Serving certificate (PEM).")],
    tls_key: Annotated[Path, typer.Option("--tls-key", help="Its private key (PEM).")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="HTTPS port.")] = 8443,
    config: Annotated[
        Path | None, typer.Option("--config", help="Webhook configuration (YAML).")
    ] = None,
    threads: Annotated[int, typer.Option(min=1, help="Threads that wait on OPA (engine opa).")] = 8,
    eval_workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Policy evaluation processes (embedded engine); by default the usable CPUs "
            "less one for the server, from 1 to 2.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve /metrics (HTTPS, and the probes) on this port only; by default /metrics "
            "is on the main port.",
        ),
    ] = None,
    header_timeout: Annotated[
        float, _seconds("Seconds for the TLS handshake and a request's headers.")
    ] = DEFAULTS.header_timeout,
    body_timeout: Annotated[
        float, _seconds("Seconds for a request's body, from the end of its headers.")
    ] = DEFAULTS.body_timeout,
    keep_alive_timeout: Annotated[
        float, _seconds("Seconds an idle connection is kept between requests.")
    ] = DEFAULTS.keep_alive_timeout,
    max_connections: Annotated[
        int, typer.Option(min=1, help="Open connections at most; more are closed at once.")
    ] = DEFAULTS.max_connections,
    max_in_flight: Annotated[
        int,
        typer.Option(
            min=1, help="Reviews read or decided at once; more wait (503 at the deadline)."
        ),
    ] = DEFAULTS.max_in_flight,
    max_in_flight_bytes: Annotated[
        int, typer.Option(min=1, help="Declared body bytes of the reviews in flight, together.")
    ] = DEFAULTS.max_in_flight_bytes,
    max_header_bytes: Annotated[
        int, typer.Option(min=1024, help="Bytes of one request's line and headers (431 beyond).")
    ] = DEFAULTS.max_header_bytes,
    ready_timeout: Annotated[
        float, _seconds("/healthz fails once the webhook has not been ready this many seconds.")
    ] = DEFAULTS.ready_timeout,
) -> None:
    """Serve AdmissionReviews over HTTPS on /validate; /healthz, /readyz and /metrics beside.

    The certificate and key are reloaded when their files change. SIGTERM or SIGINT stops
    accepting connections and lets the reviews in flight finish.
    """
    with requires("webhook", "modelward webhook serve"):
        from modelward.admission.config import load_webhook_config
        from modelward.admission.server.app import WebhookApp
        from modelward.admission.server.audit_log import open_audit_log
        from modelward.admission.server.certreload import CertReloader
        from modelward.admission.server.service import AdmissionService

    _logging()
    settings = load_webhook_config(config)
    limits = ServerLimits(
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        keep_alive_timeout=keep_alive_timeout,
        max_connections=max_connections,
        max_in_flight=max_in_flight,
        max_in_flight_bytes=max_in_flight_bytes,
        max_header_bytes=max_header_bytes,
        ready_timeout=ready_timeout,
    )
    if metrics_port == port:
        raise ConfigError(f"--metrics-port must differ from --port ({port})")
    context = _tls(tls_cert, tls_key)
    reloader = CertReloader(context, tls_cert, tls_key)
    eval_workers = eval_workers or default_eval_workers()
    service = AdmissionService(settings, eval_workers=eval_workers, threads=threads)
    audit = open_audit_log(settings.audit_log)
    app = WebhookApp(
        service, audit, background=[reloader.run], limits=limits, metrics_port=metrics_port
    )
    server = _server(app, context, host, (port, metrics_port), settings.deadline_seconds)
    server.run()
    if not server.started:
        raise ConfigError(f"the webhook could not listen on {host}:{port} (see the log above)")


def _server(
    app: Any, context: ssl.SSLContext, host: str, ports: tuple[int, int | None], deadline: float
) -> Any:
    """uvicorn with the guarded listeners and protocol on ``ports`` (webhook, metrics)."""
    with requires("webhook", "modelward webhook serve"):
        import uvicorn

        from modelward.admission.server.httpguard import GuardedProtocol
        from modelward.admission.server.listener import GuardedServer, Listener, Slot, bind
    from modelward.admission.server.limits import METRICS_CONNECTIONS

    limits: ServerLimits = app.limits
    config = uvicorn.Config(
        app,
        host=host,
        port=ports[0],
        loop="uvloop",
        http=GuardedProtocol,
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]  # float works
        timeout_graceful_shutdown=int(deadline + DRAIN_MARGIN),
    )

    def listeners(server: GuardedServer) -> list[Listener]:
        def protocol(slot: Slot) -> Any:
            return server.protocol(
                slot,
                header_timeout=limits.header_timeout,
                body_timeout=limits.body_timeout,
                max_header_bytes=limits.max_header_bytes,
                metrics=app.metrics,
            )

        named = [("webhook", ports[0], limits.max_connections)]
        if ports[1] is not None:
            named.append(("metrics", ports[1], METRICS_CONNECTIONS))
        return [
            Listener(
                bind(host, number, config.backlog),
                name=name,
                limit=limit,
                factory=protocol,
                context=context,
                handshake_timeout=limits.header_timeout,
                metrics=app.metrics,
            )
            for name, number, limit in named
        ]

    return GuardedServer(config, listeners)


def default_eval_workers() -> int:
    """One core for the server's event loop, the others (at most 2) for evaluations."""
    return max(1, min(2, len(os.sched_getaffinity(0)) - 1))


def _tls(cert: Path, key: Path) -> ssl.SSLContext:
    from modelward.admission.server.certreload import server_context

    for path in (cert, key):
        if not path.is_file():
            raise ConfigError(f"{path}: no such file; the webhook serves HTTPS only")
    try:
        return server_context(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate {cert} and key {key}: {exc}") from exc


def _logging() -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

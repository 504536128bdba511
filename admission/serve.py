"""``modelward webhook serve``: the HTTPS admission webhook."""

from __future__ import annotations

import logging
import os
import ssl
import sys
from pathlib import Path
from typing import Annotated

import typer

from modelward.admission.errors import ConfigError

webhook_app = typer.Typer(help="Run the Kubernetes admission webhook.", no_args_is_help=True)

DRAIN_MARGIN = 5.0  # seconds past the review deadline that shutdown waits for in-flight requests


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
) -> None:
    """Serve AdmissionReviews over HTTPS on /validate; /healthz, /readyz and /metrics beside.

    The certificate and key are reloaded when their files change. SIGTERM or SIGINT stops
    accepting connections and lets the reviews in flight finish.
    """
    import uvicorn

    from modelward.admission.audit_log import open_audit_log
    from modelward.admission.certreload import CertReloader
    from modelward.admission.config import load_webhook_config
    from modelward.admission.server import WebhookApp
    from modelward.admission.service import AdmissionService

    _logging()
    settings = load_webhook_config(config)
    context = _tls(tls_cert, tls_key)
    reloader = CertReloader(context, tls_cert, tls_key)
    eval_workers = eval_workers or default_eval_workers()
    service = AdmissionService(settings, eval_workers=eval_workers, threads=threads)
    app = WebhookApp(service, open_audit_log(settings.audit_log), background=[reloader.run])
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_config=None,
            server_header=False,
            proxy_headers=False,
            ssl_context_factory=lambda _config, _default: context,
            timeout_graceful_shutdown=int(settings.deadline_seconds + DRAIN_MARGIN),
        )
    )
    server.run()
    if not server.started:
        raise ConfigError(f"the webhook could not listen on {host}:{port} (see the log above)")


def default_eval_workers() -> int:
    """One core for the server's event loop, the others (at most 2) for evaluations."""
    return max(1, min(2, len(os.sched_getaffinity(0)) - 1))


def _tls(cert: Path, key: Path) -> ssl.SSLContext:
    from modelward.admission.certreload import server_context

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

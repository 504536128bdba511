"""Serving certificate reload: new TLS handshakes use the new pair once its files change.

Certificates are rotated by replacing the mounted files (cert-manager, a Secret update). Every
``interval`` seconds the reloader compares the files' status; on a change it copies both files
into a private folder (so it reads one consistent pair even while they are being rewritten) and
loads them into a new ``SSLContext``. The listening context's SNI callback, which OpenSSL calls on
every ClientHello, hands each new connection the newest context; established connections keep
theirs. Swapping whole contexts (rather than loading into the live one) means a pair that fails
to load never half-replaces the current one, and a change of key type drops the old certificate.
A bad pair (unreadable, not PEM, key not matching) keeps the current one and logs an error once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import tempfile
from pathlib import Path

log = logging.getLogger("modelward.admission.server.certreload")
INTERVAL = 2.0
MIN_TLS = ssl.TLSVersion.TLSv1_2


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS server context for ``cert``/``key`` (TLS 1.2 or newer, no client certificates)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MIN_TLS
    context.load_cert_chain(cert, key)
    return context


class CertReloader:
    """Watches ``cert`` and ``key`` and reloads them into ``context`` when they change."""

    def __init__(
        self, context: ssl.SSLContext, cert: Path, key: Path, interval: float = INTERVAL
    ) -> None:
        self.context = self.current = context
        context.sni_callback = self._select
        self.cert, self.key = cert, key
        self.interval = interval
        self._seen = self._status()
        self._loaded = self._digest()
        self._rejected: str | None = None
        self.reloads = 0

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            self.check()

    def check(self) -> bool:
        """Reload when the files changed and hold a good new pair; True when reloaded."""
        status = self._status()
        if status == self._seen:
            return False
        self._seen = status
        digest = self._digest()
        if digest is None or digest in (self._loaded, self._rejected):
            return False
        try:
            self._load()
        except (OSError, ssl.SSLError) as exc:
            self._rejected = digest
            log.error("keeping the current TLS certificate; the new pair is unusable: %s", exc)
            return False
        self._loaded, self._rejected = digest, None
        self.reloads += 1
        log.info("TLS certificate reloaded from %s", self.cert)
        return True

    def _load(self) -> None:
        with tempfile.TemporaryDirectory(prefix="modelward-tls-") as folder:
            cert, key = Path(folder) / "tls.crt", Path(folder) / "tls.key"
            cert.write_bytes(self.cert.read_bytes())
            key.write_bytes(self.key.read_bytes())
            fresh = server_context(cert, key)  # raises on a bad pair
        self.current = fresh

    def _select(
        self, connection: ssl.SSLObject | ssl.SSLSocket, name: str | None, base: ssl.SSLContext
    ) -> None:
        current = self.current
        if current is not base:
            connection.context = current

    def _status(self) -> tuple[tuple[int, int, int] | None, ...]:
        return tuple(_stat(path) for path in (self.cert, self.key))

    def _digest(self) -> str | None:
        try:
            return hashlib.sha256(
                self.cert.read_bytes() + b"\0" + self.key.read_bytes()
            ).hexdigest()
        except OSError:
            return None


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino

"""``VerdictCache``: every ``ModelVerdict`` of one namespace, kept in memory by list + watch.

A background thread lists the resources, then watches from the list's resourceVersion; a
``410 Gone`` re-lists, a broken connection reconnects with exponential backoff. ``get`` only
reads memory, so admission never waits for the API server; before the first full list it raises
``RegistryUnavailable``. After that, the last known state keeps being served while the API
server is unreachable (``last_error`` says why it is stale). ``on_verdict`` (optional) sees every
verdict the list and the watch deliver, before it is served: the webhook raises its high-water
marks with it, so a newer verdict counts as seen even if it is replaced before anyone asks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from modelward.engine.verdicts.registry import RegistryUnavailable
from modelward.engine.verdicts.registry.modelverdict import (
    GROUP,
    PLURAL,
    VERSION,
    MalformedResource,
    from_resource,
    resource_name,
)
from modelward.engine.verdicts.signed import SignedVerdict

log = logging.getLogger(__name__)

WATCH_TIMEOUT_SECONDS = 30  # the server ends each watch after this long; the thread re-watches
CONNECT_TIMEOUT = 5.0
BACKOFF = (0.5, 30.0)  # first and longest wait between reconnects
STOP_TIMEOUT = 5.0


class _Relist(Exception):
    """The watch cannot continue from its resourceVersion (410 Gone)."""


class VerdictCache:
    """A read-only, watch-fed view of the ``ModelVerdict`` resources in ``namespace``."""

    def __init__(
        self,
        namespace: str,
        api_client: client.ApiClient,
        *,
        watch_timeout: int = WATCH_TIMEOUT_SECONDS,
        backoff: tuple[float, float] = BACKOFF,
        on_verdict: Callable[[SignedVerdict], None] | None = None,
    ) -> None:
        self.namespace = namespace
        self._on_verdict = on_verdict
        self._api = client.CustomObjectsApi(api_client)
        self._watch_timeout = watch_timeout
        self._backoff = backoff
        self._by_name: dict[str, SignedVerdict] = {}
        self._lock = threading.Lock()
        self._synced = threading.Event()
        self._stopping = threading.Event()
        self._watch: watch.Watch | None = None
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"VerdictCache(namespace={self.namespace!r})"

    @property
    def synced(self) -> bool:
        """True once the first full list has been loaded."""
        return self._synced.is_set()

    def wait_synced(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    def get(self, reference: str) -> SignedVerdict | None:
        """The cached verdict for ``reference``; never calls the API server."""
        self._require_synced()
        signed = self._by_name.get(resource_name(reference))
        return signed if signed is not None and signed.reference == reference else None

    def candidates(self, reference: str) -> list[SignedVerdict]:
        signed = self.get(reference)
        return [] if signed is None else [signed]

    def list(self) -> list[SignedVerdict]:
        self._require_synced()
        with self._lock:
            return sorted(self._by_name.values(), key=lambda s: s.reference)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="modelward-verdict-cache")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the watch thread; interrupts a blocked watch, so it returns quickly."""
        self._stopping.set()
        thread, deadline = self._thread, time.monotonic() + timeout
        while thread is not None and thread.is_alive() and time.monotonic() < deadline:
            current = self._watch
            if current is not None:
                current.stop()  # type: ignore[no-untyped-call]  # also shuts the socket down under a blocked read
            thread.join(0.1)
        self._thread = None

    def _require_synced(self) -> None:
        if not self._synced.is_set():
            detail = f"; last error: {self.last_error}" if self.last_error else ""
            raise RegistryUnavailable(
                f"verdict cache not synced yet (ModelVerdicts in namespace "
                f"{self.namespace!r}){detail}"
            )

    # --- the background thread -----------------------------------------------------------------

    def _run(self) -> None:
        delay = self._backoff[0]
        while not self._stopping.is_set():
            try:
                version = self._relist()
                delay = self._backoff[0]
                self._watch_from(version)
            except _Relist:
                continue
            except Exception as exc:  # keep serving the last state; retry with backoff
                if self._stopping.is_set():
                    break
                self.last_error = _describe(exc)
                log.warning("ModelVerdict watch in %s failed: %s", self.namespace, self.last_error)
                self._stopping.wait(delay)
                delay = min(delay * 2, self._backoff[1])

    def _relist(self) -> str:
        listing = self._api.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL,
            _request_timeout=(CONNECT_TIMEOUT, CONNECT_TIMEOUT + self._watch_timeout),
        )  # fmt: skip
        if not isinstance(listing, dict):
            raise TypeError("the ModelVerdict list is not an object")
        fresh: dict[str, SignedVerdict] = {}
        for obj in listing.get("items") or []:
            signed = _verdict(obj)
            if signed is not None:
                self._observe(signed)
                fresh[resource_name(signed.reference)] = signed
        with self._lock:
            self._by_name = fresh
        self.last_error = None
        self._synced.set()
        return str((listing.get("metadata") or {}).get("resourceVersion") or "")

    def _watch_from(self, version: str) -> None:
        """Apply watch events until stopped; raise ``_Relist`` when the version has expired."""
        while not self._stopping.is_set():
            self._watch = current = watch.Watch()  # type: ignore[no-untyped-call]
            if self._stopping.is_set():
                return
            try:
                for event in current.stream(  # type: ignore[no-untyped-call]
                    self._api.list_namespaced_custom_object,
                    GROUP, VERSION, self.namespace, PLURAL,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=self._watch_timeout,
                    _request_timeout=(CONNECT_TIMEOUT, CONNECT_TIMEOUT + self._watch_timeout),
                ):  # fmt: skip
                    version = self._apply(event) or version
            except ApiException as exc:
                if exc.status == 410:
                    raise _Relist from None
                raise
            finally:
                self._watch = None

    def _apply(self, event: dict[str, Any]) -> str | None:
        """Apply one watch event; return its resourceVersion."""
        kind, obj = event.get("type"), event.get("raw_object")
        metadata = (obj.get("metadata") if isinstance(obj, dict) else None) or {}
        name = metadata.get("name")
        if kind in ("ADDED", "MODIFIED", "DELETED") and isinstance(name, str):
            signed = _verdict(obj) if kind != "DELETED" else None
            if signed is not None:
                self._observe(signed)
            with self._lock:
                if signed is None:
                    self._by_name.pop(name, None)
                else:
                    self._by_name[name] = signed
        version = metadata.get("resourceVersion")
        return str(version) if version else None

    def _observe(self, signed: SignedVerdict) -> None:
        if self._on_verdict is None:
            return
        try:
            self._on_verdict(signed)
        except Exception as exc:  # an observer must not stop the watch
            log.warning("observing a ModelVerdict failed: %s", _describe(exc))


def _verdict(obj: Any) -> SignedVerdict | None:
    try:
        return from_resource(obj)
    except MalformedResource as exc:
        log.warning("ignoring a malformed ModelVerdict: %s", exc)
        return None


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason}".strip()
    return f"{type(exc).__name__}: {exc}"[:300]

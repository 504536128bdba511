"""``NamespaceCache``: namespace labels kept current by a list + watch, read without API calls.

The admission mode of a request comes from a label on its namespace. Asking the API server on
every request would add a round trip to every admission; instead one background thread lists the
namespaces, then watches them and applies each change. Until the first list has completed,
``labels()`` answers None ("not known"), so the configured default mode applies.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("modelward.admission.server.namespaces")

WATCH_SECONDS = 240  # the API server ends each watch after this; the cache re-watches
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
GONE = 410


class NamespaceCache:
    """Labels of every namespace, by name, fed by a watch on ``api_client``."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self._core = client.CoreV1Api(api_client)
        self._labels: dict[str, dict[str, str]] = {}
        self._synced = threading.Event()
        self._stopping = threading.Event()
        self._watch: Any = None
        self._version: str | None = None
        self._thread: threading.Thread | None = None
        self.error = ""  # the last failure, for readiness reasons

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    def labels(self, namespace: str) -> Mapping[str, str] | None:
        """The labels of ``namespace``; None before the first sync or for an unknown name."""
        if not self._synced.is_set():
            return None
        return self._labels.get(namespace)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="namespace-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        watch = self._watch
        if watch is not None:
            watch.stop()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                version = self._list()
                failures = 0
                self.error = ""
                self._follow(version)
            except Exception as exc:  # the API server is down or refused: retry with backoff
                if self._stopping.is_set():
                    return
                self.error = f"namespace watch: {_describe(exc)}"
                if failures == 0:
                    log.warning("%s; retrying", self.error)
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                self._stopping.wait(delay)

    def _list(self) -> str:
        answer: Any = self._core.list_namespace(_request_timeout=30, _preload_content=False)
        listing = json.loads(answer.data)
        labels: dict[str, dict[str, str]] = {}
        for item in listing.get("items") or []:
            metadata = item.get("metadata") or {}
            labels[str(metadata.get("name"))] = dict(metadata.get("labels") or {})
        self._labels = labels
        self._synced.set()
        return str((listing.get("metadata") or {}).get("resourceVersion") or "")

    def _follow(self, version: str) -> None:
        """Apply watch events from ``version`` on until the watch expires or is stopped."""
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        while not self._stopping.is_set():
            self._watch = watch.Watch()  # type: ignore[no-untyped-call]
            events = self._watch.stream(
                self._core.list_namespace,
                resource_version=version,
                timeout_seconds=WATCH_SECONDS,
                allow_watch_bookmarks=True,
                _request_timeout=WATCH_SECONDS + 30,
            )
            try:
                for event in events:
                    self._apply(event.get("type"), event.get("raw_object") or {})
                    version = self._version or version
            except ApiException as exc:
                if exc.status == GONE:
                    return  # the version is too old: list again
                raise

    def _apply(self, kind: str | None, obj: dict[str, Any]) -> None:
        metadata = obj.get("metadata") or {}
        self._version = metadata.get("resourceVersion")
        name = metadata.get("name")
        if kind == "DELETED" and name:
            self._labels.pop(name, None)
        elif kind in ("ADDED", "MODIFIED") and name:
            self._labels[name] = dict(metadata.get("labels") or {})


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    if status:
        return f"HTTP {status} {reason or ''}".strip()
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

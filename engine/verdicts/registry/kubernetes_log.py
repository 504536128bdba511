"""The audit log of a ``kubernetes://`` registry: one immutable ConfigMap per entry.

Entry ``seq`` is the ConfigMap ``modelward-log-<seq, 10 digits>`` (``immutable: true``, the
canonical entry under ``data.entry``). Appending is a conditional create: when two writers
(controller replicas, the CLI) extend the same head, the API server accepts one create and
answers ``409 AlreadyExists`` to the other, which reads the winner and chains after it, so the
chain never forks. Needs ``create``, ``get`` and ``list`` on ``configmaps`` in the namespace.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from modelward.engine.verdicts.auditlog.entry import (
    EntrySigner,
    Kind,
    canonical,
    digest_of,
    stored_entry,
)
from modelward.engine.verdicts.registry import RegistryUnavailable
from modelward.engine.verdicts.signed import SignedVerdict

PREFIX = "modelward-log-"
LABEL, LABEL_VALUE = "modelward.dev/log", "audit"
SELECTOR = f"{LABEL}={LABEL_VALUE}"
REQUEST_TIMEOUT = (5.0, 30.0)
PAGE_SIZE = 500
#: Creates that may lose a race before an append gives up.
APPEND_ATTEMPTS = 50


def entry_name(seq: int) -> str:
    return f"{PREFIX}{seq:010d}"


class ConfigMapLog:
    """The chain of entry ConfigMaps in ``namespace``."""

    def __init__(self, namespace: str, api_client: client.ApiClient) -> None:
        self.namespace = namespace
        self._core: Any = client.CoreV1Api(api_client)  # raw JSON calls (_preload_content)
        self._head: tuple[int, str] | None = None  # (seq, digest) last seen; None: unknown
        self._known = False

    def append(
        self, signer: EntrySigner, events: Sequence[tuple[SignedVerdict, Kind | None]]
    ) -> None:
        for event in events:
            self._append_one(signer, event)

    def entries(self) -> list[tuple[int, dict[str, Any]]]:
        """Every entry as stored: (seq from the name, entry), in name order."""
        found = []
        for item in self._list():
            name = (item.get("metadata") or {}).get("name", "")
            seq = _seq(name)
            if seq is not None:
                found.append((seq, stored_entry((item.get("data") or {}).get("entry"))))
        return sorted(found, key=lambda pair: pair[0])

    def _append_one(self, signer: EntrySigner, event: tuple[SignedVerdict, Kind | None]) -> None:
        head = self._current_head()
        for _ in range(APPEND_ATTEMPTS):
            [(seq, envelope)] = signer.chain(head, [event])
            if self._create(seq, envelope):
                self._head = (seq, digest_of(envelope))
                return
            head = (seq, digest_of(self._read(seq)))  # another writer took seq: chain after it
        raise RegistryUnavailable(
            f"audit log in {self.namespace}: other writers kept taking the next entry"
        )

    def _current_head(self) -> tuple[int, str] | None:
        if not self._known:
            stored = self.entries()
            self._head = (stored[-1][0], digest_of(stored[-1][1])) if stored else None
            self._known = True
        return self._head

    def _create(self, seq: int, envelope: dict[str, Any]) -> bool:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": entry_name(seq),
                "labels": {LABEL: LABEL_VALUE, "app.kubernetes.io/managed-by": "modelward"},
            },
            "immutable": True,
            "data": {"entry": canonical(envelope).decode()},
        }
        try:
            self._core.create_namespaced_config_map(
                self.namespace, body, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise self._unavailable("create", exc) from None
        except HTTPError as exc:
            raise self._unavailable("create", exc) from None
        return True

    def _read(self, seq: int) -> dict[str, Any]:
        try:
            obj = self._core.read_namespaced_config_map(
                entry_name(seq), self.namespace, _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
            data = json.loads(obj.data)
        except (ApiException, HTTPError, ValueError) as exc:
            raise self._unavailable("get", exc) from None
        return stored_entry((data.get("data") or {}).get("entry"))

    def _list(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"label_selector": SELECTOR, "limit": PAGE_SIZE,
                                      "_preload_content": False,
                                      "_request_timeout": REQUEST_TIMEOUT}  # fmt: skip
            if token:
                kwargs["_continue"] = token
            try:
                answer = json.loads(
                    self._core.list_namespaced_config_map(self.namespace, **kwargs).data
                )
            except (ApiException, HTTPError, ValueError) as exc:
                raise self._unavailable("list", exc) from None
            items += [i for i in answer.get("items") or [] if isinstance(i, dict)]
            token = (answer.get("metadata") or {}).get("continue")
            if not token:
                return items

    def _unavailable(self, what: str, exc: Exception) -> RegistryUnavailable:
        if isinstance(exc, ApiException):
            detail = f"HTTP {exc.status} {exc.reason}".strip()
        else:
            detail = f"{type(exc).__name__}: {exc}"[:300]
        return RegistryUnavailable(f"audit log in {self.namespace}: {what} failed: {detail}")


def _seq(name: str) -> int | None:
    digits = name[len(PREFIX) :]
    return int(digits) if name.startswith(PREFIX) and digits.isdigit() else None

"""Verdict registries: where signed verdicts are stored and looked up by model reference."""

from __future__ import annotations

from typing import Protocol

from modelward.engine.errors import Error
from modelward.engine.verdicts import SignedVerdict


class RegistryUnavailable(Error):
    """The registry cannot answer (file unreadable, API server unreachable, cache not synced)."""


class Registry(Protocol):
    def put(self, signed: SignedVerdict) -> None: ...

    def get(self, reference: str) -> SignedVerdict | None:
        """The newest verdict stored for ``reference`` (a ``ModelRef.canonical``), or None."""
        ...

    def list(self) -> list[SignedVerdict]: ...

    def delete(self, reference: str) -> int:
        """Remove every verdict for ``reference``; return how many were removed."""
        ...


def open_registry(url: str) -> Registry:
    """``sqlite:///path/verdicts.db`` or a plain path (SQLite), or ``kubernetes://NAMESPACE``."""
    raise NotImplementedError

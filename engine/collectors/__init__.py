"""Collectors: one per fact family, each ``collect(source, ctx) -> section``.

A collector that cannot do its job raises ``modelward.engine.errors.Error`` (or any exception);
the pipeline records ``status: error`` with the reason and the policies fail closed on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from modelward.engine.source import ModelSource


def _no_progress(_: int) -> None:
    return None


@dataclass
class CollectContext:
    """What a collector may read besides the source: earlier sections and a progress sink."""

    sections: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[int], None] = _no_progress


class Collector(Protocol):
    name: str

    def collect(self, source: ModelSource, ctx: CollectContext) -> Any: ...

"""Which pending requests start now: a global limit, a per-namespace limit, namespaces in turn.

A namespace that asks for a thousand models waits its turn like one that asks for one: each round
gives every namespace with work at most one start, the namespaces running least going first, and
within a namespace the oldest request goes first.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from typing import Any


def namespace_of(vetting: dict[str, Any]) -> str:
    return str(vetting["metadata"]["namespace"])


def pick(
    pending: Iterable[dict[str, Any]],
    running: Counter[str],
    *,
    max_running: int,
    max_per_namespace: int,
) -> list[dict[str, Any]]:
    """The requests to start, in order (``max_per_namespace`` 0: no per-namespace limit)."""
    queues: dict[str, deque[dict[str, Any]]] = {}
    for vetting in sorted(pending, key=_age_key):
        queues.setdefault(namespace_of(vetting), deque()).append(vetting)
    counts = Counter(running)
    slots = max_running - sum(counts.values())
    chosen: list[dict[str, Any]] = []
    while slots > 0 and queues:
        order = sorted(queues, key=lambda ns: (counts[ns], _age_key(queues[ns][0])))
        progressed = False
        for namespace in order:
            if slots <= 0:
                break
            if max_per_namespace and counts[namespace] >= max_per_namespace:
                del queues[namespace]
                continue
            chosen.append(queues[namespace].popleft())
            counts[namespace] += 1
            slots -= 1
            progressed = True
            if not queues[namespace]:
                del queues[namespace]
        if not progressed:
            break
    return chosen


def _age_key(vetting: dict[str, Any]) -> tuple[str, str]:
    meta = vetting["metadata"]
    return str(meta.get("creationTimestamp") or ""), str(meta.get("name"))

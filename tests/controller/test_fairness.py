"""Which pending requests start: global and per-namespace limits, namespaces in turn."""

from __future__ import annotations

from collections import Counter
from typing import Any

from modelward.controller.fairness import pick


def request(namespace: str, name: str, created: int) -> dict[str, Any]:
    stamp = f"2025-01-01T00:{created // 60:02d}:{created % 60:02d}Z"
    return {"metadata": {"namespace": namespace, "name": name, "creationTimestamp": stamp}}


def names(chosen: list[dict[str, Any]]) -> list[str]:
    return [f"{v['metadata']['namespace']}/{v['metadata']['name']}" for v in chosen]


def burst(namespace: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    return [request(namespace, f"r{i:03d}", start + i) for i in range(count)]


def test_the_global_limit_counts_what_already_runs() -> None:
    pending = burst("a", 5)
    assert len(pick(pending, Counter(), max_running=3, max_per_namespace=0)) == 3
    assert len(pick(pending, Counter(b=2), max_running=3, max_per_namespace=0)) == 1
    assert pick(pending, Counter(b=3), max_running=3, max_per_namespace=0) == []
    assert pick(pending, Counter(b=5), max_running=3, max_per_namespace=0) == []


def test_the_per_namespace_limit() -> None:
    pending = burst("a", 5) + burst("b", 5, start=100)
    chosen = pick(pending, Counter(a=1), max_running=10, max_per_namespace=2)
    assert Counter(v["metadata"]["namespace"] for v in chosen) == Counter(a=1, b=2)


def test_zero_means_no_per_namespace_limit() -> None:
    chosen = pick(burst("a", 5), Counter(), max_running=4, max_per_namespace=0)
    assert names(chosen) == ["a/r000", "a/r001", "a/r002", "a/r003"]


def test_a_busy_namespace_cannot_starve_a_quiet_one() -> None:
    # "busy" asked for a thousand models long before "quiet" asked for one.
    pending = [*burst("busy", 1000), request("quiet", "only", 5000)]
    chosen = pick(pending, Counter(), max_running=2, max_per_namespace=0)
    assert names(chosen) == ["busy/r000", "quiet/only"]


def test_the_namespace_running_least_goes_first() -> None:
    pending = [*burst("busy", 10), request("quiet", "only", 5000)]
    chosen = pick(pending, Counter(busy=3), max_running=4, max_per_namespace=0)
    assert names(chosen) == ["quiet/only"]


def test_namespaces_take_turns_round_by_round() -> None:
    pending = burst("a", 3) + burst("b", 3, start=10) + burst("c", 1, start=20)
    chosen = pick(pending, Counter(), max_running=7, max_per_namespace=0)
    assert names(chosen) == [
        "a/r000", "b/r000", "c/r000",
        "a/r001", "b/r001",
        "a/r002", "b/r002",
    ]  # fmt: skip


def test_oldest_first_within_a_namespace_whatever_the_listing_order() -> None:
    pending = list(reversed(burst("a", 4)))
    chosen = pick(pending, Counter(), max_running=2, max_per_namespace=0)
    assert names(chosen) == ["a/r000", "a/r001"]


def test_a_namespace_at_its_limit_leaves_the_slots_to_others() -> None:
    pending = burst("a", 5) + burst("b", 5, start=100)
    chosen = pick(pending, Counter(a=2), max_running=4, max_per_namespace=2)
    assert names(chosen) == ["b/r000", "b/r001"]


def test_nothing_pending_picks_nothing() -> None:
    assert pick([], Counter(), max_running=4, max_per_namespace=2) == []


def test_the_running_counter_is_not_changed() -> None:
    running = Counter(a=1)
    pick(burst("a", 3), running, max_running=4, max_per_namespace=0)
    assert running == Counter(a=1)

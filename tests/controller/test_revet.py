"""Re-vetting: stale verdicts go back in the queue, oldest first, at the configured rate."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelward.controller.config import ControllerConfig
from modelward.controller.metrics import ControllerMetrics
from modelward.controller.revet import Revetter, TokenBucket
from modelward.engine.decision import Decision
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.verdicts.freshness import format_time
from modelward.engine.verdicts.keys import generate_keypair
from modelward.engine.verdicts.revocation import revocation_verdict
from modelward.engine.verdicts.signed import SignedVerdict, Verdict, sign_verdict
from modelward.engine.vetting.resource import new_vetting, vetting_name
from modelward.engine.vetting.worker import TOOL
from tests.controller.builders import controller_config, make_publisher
from tests.controller.fake_cluster import FakeCluster

BUNDLE = "bundle-2"
KEY = generate_keypair()[0]
NOW = datetime.now(UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def reference(index: int) -> str:
    return f"hf://org/m{index:03d}@" + f"{index:040x}"


def stored(
    index: int, *, age: timedelta = timedelta(hours=1), bundle: str = BUNDLE, tool: str = TOOL
) -> SignedVerdict:
    """A verdict for ``reference(index)`` made ``age`` ago with ``bundle`` and ``tool``."""
    ref = reference(index)
    facts = {
        "schema": "modelward.dev/facts/v1",
        "subject": {"ref": ref},
        "collection": {"tool": tool},
    }
    decision = Decision(outcome="allow", engine="embedded", bundle_revision=bundle)
    verdict = Verdict(
        reference=ref,
        digest=None,
        created_at=format_time(NOW - age),
        decision=decision,
        facts=facts,
    )
    return sign_verdict(verdict, KEY)


@dataclass
class ListRegistry:
    verdicts: list[SignedVerdict] = field(default_factory=list)

    def list(self) -> list[SignedVerdict]:
        return list(self.verdicts)


@dataclass
class FakePublisher:
    """What the Revetter reads of the publisher: its verdicts, bundle and scanner."""

    registry: ListRegistry
    bundle_revision: str = BUNDLE
    scanner: str = TOOL

    def stored(self) -> list[SignedVerdict]:
        return self.registry.list()


@dataclass
class Setup:
    api: FakeCluster
    registry: ListRegistry
    clock: Clock
    revetter: Revetter
    metrics: ControllerMetrics

    def tick(self) -> None:
        self.revetter.tick(self.api.list_vettings())

    def requested(self) -> list[str]:
        return [v["spec"]["reference"] for v in self.api.list_vettings()]


def make_setup(verdicts: list[SignedVerdict], config: ControllerConfig | None = None) -> Setup:
    config = config or controller_config(
        resync_seconds=10, revet={"per_minute": 60, "interval_seconds": 300, "max_age": "7d"}
    )
    api, registry, clock = FakeCluster(), ListRegistry(verdicts), Clock()
    metrics = ControllerMetrics()
    publisher: Any = FakePublisher(registry)  # the parts of a Publisher the Revetter reads
    revetter = Revetter(api, publisher, config, metrics, clock=clock)
    return Setup(api, registry, clock, revetter, metrics)


# ---------------------------------------------------------------- the token bucket


def test_a_full_bucket_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, capacity=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.4  # 0.8 of a token
    assert not bucket.take()
    clock.now += 0.1
    assert bucket.take() and not bucket.take()
    clock.now += 10  # a long pause saves up no more than the capacity
    assert sum(bucket.take() for _ in range(10)) == 3


def test_the_bucket_gives_rate_times_time_over_a_long_run() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10 / 60, capacity=1, clock=clock)
    taken = 0
    for _ in range(600):  # ten minutes in one-second steps: six sixths make a token
        clock.now += 1
        taken += bucket.take()
    assert taken == 100


# ---------------------------------------------------------------- the Revetter


def test_stale_verdicts_are_requeued_oldest_first_at_the_configured_rate() -> None:
    # 100 verdicts of another bundle, made 100, 99, ... 1 hours ago; 60 re-vettings a minute.
    verdicts = [stored(i, bundle="bundle-1", age=timedelta(hours=100 - i)) for i in range(100)]
    setup = make_setup(list(reversed(verdicts)))
    setup.tick()
    burst = len(setup.requested())
    assert 1 <= burst <= 11, "at most one resync period (10 s) saved up"
    assert set(setup.requested()) == {reference(i) for i in range(burst)}, "oldest first"
    setup.clock.now += 0.5
    setup.tick()
    assert len(setup.requested()) == burst
    for _ in range(60):
        setup.clock.now += 1
        setup.tick()
    assert len(setup.requested()) == burst + 60
    assert set(setup.requested()) == {reference(i) for i in range(burst + 60)}


@pytest.mark.parametrize(("per_minute", "resync"), [(10, 10), (7, 10), (60, 10), (3, 45)])
def test_passes_one_resync_apart_keep_the_configured_rate(per_minute: int, resync: int) -> None:
    verdicts = [stored(i, bundle="bundle-1", age=timedelta(hours=900 - i)) for i in range(900)]
    config = controller_config(
        resync_seconds=resync, revet={"per_minute": per_minute, "interval_seconds": 86_400}
    )
    setup = make_setup(verdicts, config)
    setup.tick()
    burst = len(setup.requested())
    for _ in range(600 // resync):  # ten minutes of passes
        setup.clock.now += resync
        setup.tick()
    made = len(setup.requested()) - burst
    expected = per_minute * 10
    assert expected - 1 <= made <= expected, f"{made} re-vettings in ten minutes"


def test_new_requests_are_made_in_the_controller_namespace() -> None:
    setup = make_setup([stored(1, bundle="bundle-1")])
    setup.tick()
    (vetting,) = setup.api.list_vettings()
    assert vetting["metadata"]["namespace"] == "modelward"
    assert vetting["metadata"]["name"] == vetting_name(reference(1))
    assert vetting["spec"]["requestedBy"] == "revet"
    assert "policy bundle changed" in vetting["spec"]["reason"]


def test_current_verdicts_stay_and_each_stale_reason_is_counted() -> None:
    verdicts = [
        stored(0),  # current
        stored(1, bundle="bundle-1"),
        stored(2, tool="modelward 0.0.1"),
        stored(3, age=timedelta(days=8)),
    ]
    unreadable = stored(4)
    verdicts.append(
        SignedVerdict(
            envelope={"payload": "!!"},
            reference=unreadable.reference,
            digest=None,
            created_at=unreadable.created_at,
            outcome="allow",
            key_id=unreadable.key_id,
        )
    )
    setup = make_setup(verdicts)
    setup.tick()
    assert sorted(setup.requested()) == [reference(i) for i in (1, 2, 3, 4)]
    counted = {
        reason: setup.metrics.registry.get_sample_value(
            "modelward_controller_revets_total", {"reason": reason}
        )
        for reason in ("PolicyChanged", "ScannerChanged", "Aged", "Unreadable")
    }
    assert counted == {"PolicyChanged": 1, "ScannerChanged": 1, "Aged": 1, "Unreadable": 1}


def test_an_existing_finished_request_is_moved_back_to_pending() -> None:
    setup = make_setup([stored(1, bundle="bundle-1")])
    for namespace in ("team-a", "team-b"):
        setup.api.create_vetting(new_vetting(reference(1), namespace))
    for vetting in setup.api.list_vettings():
        done = {"phase": "Succeeded", "attempts": 2, "verdict": "mv-1", "jobName": "j"}
        setup.api.write_status(vetting, done)
    setup.tick()
    assert len(setup.api.vettings) == 2, "no new request"
    for namespace in ("team-a", "team-b"):
        status = setup.api.status(namespace, vetting_name(reference(1)))
        assert (status["phase"], status["reason"], status["attempts"]) == ("Pending", "Revet", 0)
        assert status["verdict"] == "mv-1" and "jobName" not in status
    assert setup.api.reasons(vetting_name(reference(1))) == ["Revet", "Revet"]


@pytest.mark.parametrize("phase", ["Pending", "Running"])
def test_a_request_already_in_the_queue_is_left_alone(phase: str) -> None:
    setup = make_setup([stored(1, bundle="bundle-1")])
    setup.api.create_vetting(new_vetting(reference(1), "team-a"))
    (vetting,) = setup.api.list_vettings()
    setup.api.write_status(vetting, {"phase": phase, "attempts": 1})
    writes = setup.api.status_writes
    setup.tick()
    assert setup.api.status_writes == writes and setup.api.events == []


def test_requests_already_queued_use_none_of_the_rate() -> None:
    # The ten oldest stale verdicts are being vetted again already; ten more wait behind them.
    verdicts = [stored(i, bundle="bundle-1", age=timedelta(hours=30 - i)) for i in range(20)]
    setup = make_setup(verdicts)
    for i in range(10):
        setup.api.create_vetting(new_vetting(reference(i), "team-a"))
    setup.tick()
    assert len(setup.api.vettings) == 20, "the ten others were requested at once"


def test_a_conflict_skips_that_request_until_the_next_scan() -> None:
    setup = make_setup([stored(1, bundle="bundle-1")])
    setup.api.create_vetting(new_vetting(reference(1), "team-a"))
    (vetting,) = setup.api.list_vettings()
    setup.api.write_status(vetting, {"phase": "Failed"})
    listed = setup.api.list_vettings()
    setup.api.write_status(copy.deepcopy(listed[0]), {"phase": "Failed", "reason": "again"})
    setup.revetter.tick(listed)  # a stale listing: the write conflicts
    assert setup.api.status("team-a", vetting_name(reference(1)))["reason"] == "again"
    assert setup.api.events == []
    setup.clock.now += 301
    setup.tick()
    assert setup.api.status("team-a", vetting_name(reference(1)))["reason"] == "Revet"


def test_the_verdicts_are_scanned_again_only_after_the_interval() -> None:
    setup = make_setup([])
    setup.tick()
    setup.registry.verdicts.append(stored(1, bundle="bundle-1"))
    setup.clock.now += 299
    setup.tick()
    assert setup.requested() == []
    setup.clock.now += 1
    setup.tick()
    assert setup.requested() == [reference(1)]


def test_disabled_does_nothing() -> None:
    config = controller_config(revet={"enabled": False})
    setup = make_setup([stored(1, bundle="bundle-1")], config)
    setup.tick()
    assert setup.requested() == []


def test_a_sqlite_registry_without_a_verdict_yet_is_empty(
    tmp_path: Path, bundle: PolicyBundle
) -> None:
    publisher = make_publisher(bundle, tmp_path / "absent" / "verdicts.db")
    api, config = FakeCluster(), controller_config()
    Revetter(api, publisher, config, ControllerMetrics(), clock=Clock()).tick([])
    assert api.vettings == {}


def test_a_revoked_reference_is_never_vetted_again() -> None:
    old = stored(5, age=timedelta(days=30), bundle="bundle-1").unverified_verdict()
    assert old is not None
    revocation = revocation_verdict(
        old.reference,
        reason="backdoor",
        revoked_by="secops",
        created_at=old.created_at,
        expires_at=format_time(NOW + timedelta(days=3650)),
        previous=old,
    )
    setup = make_setup([sign_verdict(revocation, KEY), stored(6, bundle="bundle-1")])
    setup.tick()
    assert setup.requested() == [reference(6)]

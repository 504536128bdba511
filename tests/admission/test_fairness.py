"""Per-requester lanes: one requester's reviews beyond the limit wait in their own line, so they
never stand in front of another requester's evaluations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from modelward.admission.review.steps import Evaluation, Steps, drive
from modelward.admission.server.fairness import RequesterLanes, requester
from modelward.engine.decision import Decision
from modelward.engine.policy.evaluators import DECISION

ALLOW = Decision.from_results([], [], engine="e", bundle_revision="r")


def costly(evaluations: int) -> Steps[int]:
    """A review that asks for ``evaluations`` evaluations, one after the other."""
    for _ in range(evaluations):
        yield Evaluation(DECISION, document={})
    return evaluations


class Worker:
    """One evaluation worker: evaluations are served in arrival order, one at a time."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # FIFO, like the pool's queue of idle workers
        self.served: list[str] = []
        self.waited: dict[str, int] = {}  # evaluations served while one of ``who``'s waited

    def perform(self, who: str) -> Callable[[Evaluation], Awaitable[Decision]]:
        async def evaluate(step: Evaluation) -> Decision:
            arrived = len(self.served)
            async with self.lock:
                self.waited[who] = len(self.served) - arrived
                self.served.append(who)
                await asyncio.sleep(0.001)
            return ALLOW

        return evaluate


async def crowd(limit: int) -> int:
    """Mallory sends 16 costly reviews at once, then Alice one: how many of Mallory's
    evaluations are served while Alice's waits?"""
    lanes, worker = RequesterLanes(limit), Worker()

    async def decide(who: str, evaluations: int) -> int:
        async with lanes.turn(who):
            return await drive(costly(evaluations), worker.perform(who))

    flood = [asyncio.create_task(decide("mallory", 8)) for _ in range(16)]
    await asyncio.sleep(0.005)
    await decide("alice", 1)
    await asyncio.gather(*flood)
    assert worker.served.count("mallory") == 16 * 8 and len(lanes) == 0
    return worker.waited["alice"]


def test_one_requester_cannot_starve_another() -> None:
    assert asyncio.run(crowd(limit=0)) >= 15  # no lanes: behind one evaluation of each review
    assert asyncio.run(crowd(limit=2)) <= 2


def test_reviews_beyond_the_limit_wait_in_arrival_order() -> None:
    async def scenario() -> None:
        lanes = RequesterLanes(2)
        order: list[int] = []
        release = asyncio.Event()

        async def one(i: int) -> None:
            async with lanes.turn("bob"):
                order.append(i)
                await release.wait()

        tasks = [asyncio.create_task(one(i)) for i in range(5)]
        await asyncio.sleep(0)
        assert order == [0, 1] and lanes.in_flight("bob") == (2, 3)
        async with lanes.turn("carol"):  # another requester is not held up
            assert lanes.in_flight("carol") == (1, 0)
        release.set()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4] and len(lanes) == 0

    asyncio.run(scenario())


def test_a_waiting_review_cancelled_at_its_deadline_leaves_the_line() -> None:
    async def scenario() -> None:
        lanes = RequesterLanes(1)
        hold = asyncio.Event()

        async def holder() -> None:
            async with lanes.turn("bob"):
                await hold.wait()

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        waiting = asyncio.create_task(holder())
        await asyncio.sleep(0)
        assert lanes.in_flight("bob") == (1, 1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiting), 0.01)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert lanes.in_flight("bob") == (1, 0)
        hold.set()
        await first
        assert len(lanes) == 0

    asyncio.run(scenario())


def test_a_slot_handed_to_a_cancelled_review_passes_on() -> None:
    async def scenario() -> None:
        lanes = RequesterLanes(1)
        entered: list[str] = []
        gate = asyncio.Event()

        async def one(name: str) -> None:
            async with lanes.turn("bob"):
                entered.append(name)
                await gate.wait()

        first = asyncio.create_task(one("first"))
        await asyncio.sleep(0)
        second = asyncio.create_task(one("second"))
        third = asyncio.create_task(one("third"))
        await asyncio.sleep(0)
        gate.set()
        while lanes.in_flight("bob")[1] == 2:  # until "first" hands its slot to "second"
            await asyncio.sleep(0)
        second.cancel()  # before "second" runs
        await first
        await asyncio.gather(second, third, return_exceptions=True)
        assert entered == ["first", "third"] and len(lanes) == 0

    asyncio.run(scenario())


def test_no_limit_and_the_requester_of_a_review() -> None:
    async def scenario() -> None:
        lanes = RequesterLanes(0)
        async with lanes.turn("bob"), lanes.turn("bob"):
            assert len(lanes) == 0

    asyncio.run(scenario())
    assert requester({"request": {"userInfo": {"username": "alice"}}}) == "alice"
    assert requester({"request": {"userInfo": None}}) == ""
    assert requester({"request": "x"}) == ""

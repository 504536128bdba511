"""``RequesterLanes``: at most N reviews of one requester are decided at once.

The evaluation workers serve waiting evaluations in arrival order, and a review asks for its
evaluations one after the other. Without lanes a requester who sends many costly reviews at once
queues an evaluation ahead of everyone else's for each of them; with lanes their reviews beyond
``limit`` wait in a queue of their own (in arrival order) and never in front of another
requester's, so one requester holds at most ``limit`` places in the workers' queue. The
requester is ``request.userInfo.username``. Lanes are per event loop (the webhook's) and hold no
state for requesters with nothing in flight. Cancelling a waiting review (its deadline) takes
it out of the queue.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Lane:
    active: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)


class RequesterLanes:
    """Per-requester slots; ``limit`` 0 means no limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lanes: dict[str, _Lane] = {}

    @asynccontextmanager
    async def turn(self, requester: str) -> AsyncIterator[None]:
        """Hold one of ``requester``'s slots for the body; wait in line for it if need be."""
        if self.limit <= 0:
            yield
            return
        await self._acquire(requester)
        try:
            yield
        finally:
            self._release(requester)

    def in_flight(self, requester: str) -> tuple[int, int]:
        """(reviews being decided, reviews waiting) of ``requester``."""
        lane = self._lanes.get(requester)
        return (lane.active, len(lane.waiting)) if lane else (0, 0)

    def __len__(self) -> int:
        """Requesters with a review in flight or waiting."""
        return len(self._lanes)

    async def _acquire(self, requester: str) -> None:
        lane = self._lanes.setdefault(requester, _Lane())
        if lane.active < self.limit and not lane.waiting:
            lane.active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lane.waiting.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release(requester)  # handed a slot as it was cancelled: pass it on
            else:
                lane.waiting.remove(waiter)
                self._forget(requester, lane)
            raise

    def _release(self, requester: str) -> None:
        lane = self._lanes[requester]
        while lane.waiting:
            waiter = lane.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the next in line
                return
        lane.active -= 1
        self._forget(requester, lane)

    def _forget(self, requester: str, lane: _Lane) -> None:
        if lane.active == 0 and not lane.waiting:
            del self._lanes[requester]


def requester(review: Mapping[str, Any]) -> str:
    """``request.userInfo.username`` of a parsed review ("" when it names none)."""
    request = review.get("request")
    info = request.get("userInfo") if isinstance(request, Mapping) else None
    name = info.get("username") if isinstance(info, Mapping) else None
    return name if isinstance(name, str) else ""

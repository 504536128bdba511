"""``Budget``: a first-come, first-served semaphore of weighted units, with a wait bound.

The webhook keeps two: the body bytes of reviews in flight (charged as the bytes arrive, held
until the answer is sent; this bounds the memory of raw and parsed bodies, which is what grows
with load), and the reviews being decided (taken once the body is complete, so a client that
sends its body slowly holds no decision slot). A review that cannot get what it needs waits in
arrival order until enough is given back or its deadline passes; then it is answered 503.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Budget:
    """``capacity`` units; ``acquire`` waits at most ``timeout`` seconds for them."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    def cost(self, units: int) -> int:
        """What asking for ``units`` takes: at least 1, never more than the whole budget."""
        return min(max(units, 1), self.capacity)

    async def acquire(self, cost: int, timeout: float) -> bool:
        """Take ``cost`` units (see ``cost``); False when they did not free up in time."""
        if not self._waiters and self.used + cost <= self.capacity:
            self.used += cost
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (cost, waiter)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), max(timeout, 0.0))
        except TimeoutError:
            pass
        except BaseException:  # cancelled: give back what was granted meanwhile
            if waiter.done() and not waiter.cancelled():
                self.release(cost)
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
                self._waiters.remove(entry)
                self._wake()  # a smaller request behind this one may fit now
        return waiter.done() and not waiter.cancelled()

    def release(self, cost: int) -> None:
        self.used -= cost
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.used + self._waiters[0][0] <= self.capacity:
            cost, waiter = self._waiters.popleft()
            self.used += cost
            waiter.set_result(None)

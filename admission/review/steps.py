"""The core's evaluations as steps: generators that yield each ``Evaluation`` they need and
receive its ``Decision`` back, so the same core runs with blocking evaluations (``run``: the CLI,
tests) and on the webhook's event loop, which awaits worker processes (``drive``). ``metered``
counts the evaluations of steps against a ``Meter``, the per-review budget."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from modelward.engine.decision import Decision
from modelward.engine.policy.evaluators import DECISION, Entry

T = TypeVar("T")


@dataclass(frozen=True)
class Evaluation:
    """One policy evaluation the core asks for: a whole ``document``, or a part as JSON text."""

    entry: Entry
    input_json: str = ""
    document: dict[str, Any] | None = None

    def text(self) -> str:
        return self.input_json if self.document is None else json.dumps(self.document)


Steps = Generator[Evaluation, Decision, T]


def run(steps: Steps[T], perform: Callable[[Evaluation], Decision]) -> T:
    """Drive ``steps`` to its result with ``perform``; what ``perform`` raises goes back in."""
    reply: Decision | None = None
    error: Exception | None = None
    while True:
        try:
            step = _next(steps, reply, error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        try:
            reply, error = perform(step), None
        except Exception as exc:
            reply, error = None, exc


async def drive(steps: Steps[T], perform: Callable[[Evaluation], Awaitable[Decision]]) -> T:
    """``run`` for evaluations that are awaited; cancelling it closes ``steps``."""
    reply: Decision | None = None
    error: Exception | None = None
    try:
        while True:
            try:
                step = _next(steps, reply, error)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                reply, error = await perform(step), None
            except Exception as exc:
                reply, error = None, exc
    finally:
        steps.close()


class OverBudget(Exception):
    """Steps asked for an evaluation beyond their ``Meter``'s limit."""


@dataclass
class Meter:
    """How many evaluations one review may ask for, and how many it has."""

    limit: int
    spent: int = 0

    def charge(self) -> None:
        if self.spent >= self.limit:
            raise OverBudget
        self.spent += 1

    def over(self) -> str:
        return f"more than the {self.limit} one review may use (max_evaluations)"


def metered(steps: Steps[T], meter: Meter) -> Steps[T]:
    """``steps``, charging ``meter`` before each evaluation; ``OverBudget`` past its limit."""
    try:
        step = next(steps)
        while True:
            meter.charge()
            try:
                reply = yield step
            except Exception as exc:
                step = steps.throw(exc)
            else:
                step = steps.send(reply)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        steps.close()


def whole(document: dict[str, Any]) -> Steps[Decision]:
    """The whole decision on ``document`` in one evaluation."""
    return (yield Evaluation(DECISION, document=document))


def _next(steps: Steps[T], reply: Decision | None, error: Exception | None) -> Evaluation:
    """The evaluation ``steps`` asks for next; ``StopIteration`` carries its result."""
    if error is not None:
        return steps.throw(error)
    return steps.send(reply)  # type: ignore[arg-type]

"""The webhook application in process: in-flight budgets, internal errors, the health bound.

``WebhookApp`` is driven as uvicorn drives it (ASGI messages) around a small stand-in service, so
each case is exact and fast; tests/admission/test_server_limits.py and test_observability.py run
the same paths in a real ``modelward webhook serve``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from modelward.admission.config import WebhookConfig
from modelward.admission.review.core import INTERNAL_ERROR, ReviewResult, deny_review
from modelward.admission.server.app import WebhookApp
from modelward.admission.server.audit_log import NoAuditLog
from modelward.admission.server.inflight import Budget
from modelward.admission.server.limits import ServerLimits, memory_bound
from tests.admission.core_helpers import container, pod, review_of
from tests.admission.webhook_process import sample

# --- Budget ------------------------------------------------------------------------------------


def test_budget_grants_in_arrival_order_and_times_out() -> None:
    async def scenario() -> list[Any]:
        budget = Budget(10)
        assert await budget.acquire(6, 0)
        big = asyncio.create_task(budget.acquire(8, 1.0))  # waits: 6 + 8 > 10
        await asyncio.sleep(0)
        small = asyncio.create_task(budget.acquire(2, 1.0))  # fits, but queues behind ``big``
        await asyncio.sleep(0.05)
        assert not big.done() and not small.done()
        budget.release(6)
        granted = [await big, await small, budget.used]
        late = await budget.acquire(5, 0.05)  # 10 used: nothing frees up in time
        return [*granted, late, budget.used, budget.cost(0), budget.cost(99)]

    assert asyncio.run(scenario()) == [True, True, 10, False, 10, 1, 10]


@pytest.mark.parametrize("granted_first", [True, False])
def test_a_cancelled_waiter_leaves_nothing_taken(granted_first: bool) -> None:
    async def scenario() -> int:
        budget = Budget(4)
        assert await budget.acquire(4, 0)
        waiter = asyncio.create_task(budget.acquire(3, 5.0))
        await asyncio.sleep(0.01)
        if granted_first:
            budget.release(4)  # grants the waiter before its cancellation is delivered
        waiter.cancel()
        try:
            if await waiter:  # the grant won: the caller holds it and gives it back
                budget.release(3)
        except asyncio.CancelledError:
            pass
        if not granted_first:
            budget.release(4)
        return budget.used

    assert asyncio.run(scenario()) == 0


def test_default_limits_fit_in_the_chart_memory_limit_beside_the_request() -> None:
    # 768 MiB limit, 384 MiB reserved for the server and its workers (the chart's request).
    assert memory_bound(ServerLimits()) <= (768 - 384) * 1024 * 1024


# --- the application with a stand-in service -----------------------------------------------------


class StandIn:
    """Just what ``WebhookApp`` calls; ``decide`` behaves as ``outcome`` says."""

    def __init__(self, outcome: str = "internal", ready: bool = True) -> None:
        self.config = WebhookConfig(deadline_seconds=1.0)
        self.outcome = outcome
        self.is_ready = ready

    def synced(self) -> dict[str, bool]:
        return {"verdicts": True, "namespaces": True}

    def ready(self) -> tuple[bool, str]:
        return (True, "") if self.is_ready else (False, "an evaluation worker did not start")

    def parse(self, body: bytes) -> dict[str, Any]:
        return dict(json.loads(body))

    async def decide(self, parsed: Mapping[str, Any]) -> ReviewResult:
        if self.outcome == "raise":
            raise KeyError("boom")
        if self.outcome == "slow":
            await asyncio.sleep(0.3)
        return deny_review(parsed, f"{INTERNAL_ERROR}: UnicodeEncodeError: '\ud800'")

    def fail(self, parsed: Mapping[str, Any], reason: str) -> ReviewResult:
        return deny_review(parsed, reason)

    def start(self) -> None:
        return None

    def close(self) -> None:
        return None


def _app(service: StandIn, **limits: Any) -> WebhookApp:
    return WebhookApp(service, NoAuditLog(), limits=ServerLimits(**limits))  # type: ignore[arg-type]


async def _call(app: WebhookApp, path: str, body: bytes = b"", method: str = "POST") -> Any:
    """(status, body) of one request to ``app``."""
    scope = {
        "type": "http",
        "path": path,
        "method": method,
        "headers": [(b"content-type", b"application/json")],
        "server": ("127.0.0.1", 8443),
    }
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], sent[1]["body"]


def _review(uid: str) -> bytes:
    return json.dumps(review_of(pod(container("main", model="hf://a/b")), uid=uid)).encode()


@pytest.mark.parametrize("outcome", ["internal", "raise"])
def test_every_internal_error_is_logged_with_the_uid_and_counted(
    outcome: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(StandIn(outcome))
    with caplog.at_level(logging.ERROR, logger="modelward.admission.server.app"):
        status, body = asyncio.run(_call(app, "/validate", _review(f"uid-{outcome}")))
    answer = json.loads(body)["response"]
    assert status == 200 and answer["allowed"] is False
    assert INTERNAL_ERROR in answer["status"]["message"]
    logged = [r.getMessage() for r in caplog.records if f"uid-{outcome}" in r.getMessage()]
    assert any("internal error while reviewing uid" in line for line in logged), logged
    assert all("\ud800" not in line for line in logged)  # printable, whatever the input held
    metrics = _samples(app)
    assert sample(metrics, "modelward_webhook_internal_errors_total") == 1
    assert sample(metrics, "modelward_webhook_decisions_total", result="error", mode="none") == 1


def test_reviews_beyond_the_decision_limit_wait_then_get_a_503_naming_it() -> None:
    app = _app(StandIn("slow"), max_in_flight=1)
    app._deadline = 0.15  # the second review cannot get the slot before its deadline

    async def both() -> list[Any]:
        return list(await asyncio.gather(*(_call(app, "/", _review(f"u{i}")) for i in range(2))))

    (first, _), (second, body) = asyncio.run(both())
    assert (first, second) == (200, 503)
    assert "1 reviews being decided (--max-in-flight)" in json.loads(body)["error"]
    assert sample(_samples(app), "modelward_webhook_overloaded_total") == 1


def test_healthz_fails_once_not_ready_for_longer_than_the_bound() -> None:
    service = StandIn(ready=False)
    app = _app(service, ready_timeout=0.2)
    status, _ = asyncio.run(_call(app, "/healthz", method="GET"))
    assert status == 200  # still within the bound
    app._last_ready -= 1.0
    status, text = asyncio.run(_call(app, "/healthz", method="GET"))
    assert status == 503
    assert b"longer than the limit of 0.2 s (--ready-timeout)" in text
    assert b"an evaluation worker did not start" in text
    service.is_ready = True
    assert asyncio.run(_call(app, "/readyz", method="GET"))[0] == 200
    assert asyncio.run(_call(app, "/healthz", method="GET"))[0] == 200


def test_metrics_only_on_the_metrics_port_when_one_is_set() -> None:
    app = WebhookApp(StandIn(), NoAuditLog(), metrics_port=8444)  # type: ignore[arg-type]
    status, body = asyncio.run(_call(app, "/metrics", method="GET"))
    assert status == 404 and b"port 8444" in body


def _samples(app: WebhookApp) -> dict[str, float]:
    samples = {}
    for line in app.metrics.exposition().decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples

"""The webhook's vetting requester: deduplicated, bounded, never failing a decision; and the
application hands it the requests of an answer once the answer is sent."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from modelward.admission.config import AutoVettingConfig, KubernetesConfig, WebhookConfig
from modelward.admission.review.core import ReviewResult, review
from modelward.admission.review.vetting import VettingRequest
from modelward.admission.server.app import WebhookApp
from modelward.admission.server.audit_log import NoAuditLog
from modelward.admission.server.service import AdmissionService
from modelward.admission.server.vetting_requests import VettingRequester
from modelward.engine.vetting.requests import VettingRequestError
from tests.admission.core_helpers import REVISION, container, make_env, pod, review_of

LOGGER = "modelward.admission.server.vetting_requests"
A = VettingRequest("ml", f"hf://acme/a@{REVISION}")
B = VettingRequest("ml", f"hf://acme/b@{REVISION}")
C = VettingRequest("ml", f"hf://acme/c@{REVISION}")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Stub:
    """A request function that records its calls and fails while ``error`` is set."""

    def __init__(self) -> None:
        self.calls: list[VettingRequest] = []
        self.error: Exception | None = None

    def __call__(self, request: VettingRequest) -> bool:
        self.calls.append(request)
        if self.error is not None:
            raise self.error
        return True


def counter() -> Counter:
    return Counter("vetting_requests", "test", ["result"], registry=CollectorRegistry())


def count(metric: Counter, result: str) -> float:
    return float(metric.labels(result)._value.get())


def requester(stub: Stub, **options: Any) -> tuple[VettingRequester, Counter, Clock]:
    metric, clock = counter(), Clock()
    return VettingRequester(stub, clock=clock, counter=metric, **options), metric, clock


def test_a_reference_submitted_recently_is_not_requested_again() -> None:
    stub = Stub()
    vetting, metric, clock = requester(stub, remember_seconds=600)
    vetting.submit([A, A])
    vetting.submit([A])
    assert vetting.queued == 1 and vetting.perform_queued() == 1
    clock.now += 599
    vetting.submit([A])
    assert vetting.perform_queued() == 0
    clock.now += 2  # past the window: asked again (the API server deduplicates for good)
    vetting.submit([A])
    assert vetting.perform_queued() == 1
    assert stub.calls == [A, A] and count(metric, "requested") == 2


def test_the_same_reference_in_another_namespace_is_another_request() -> None:
    stub = Stub()
    vetting, _, _ = requester(stub)
    other = VettingRequest("team-b", A.reference)
    vetting.submit([A, other])
    assert vetting.perform_queued() == 2 and stub.calls == [A, other]


def test_a_full_queue_drops_with_a_log_line_and_the_dropped_one_is_asked_again_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub = Stub()
    vetting, metric, _ = requester(stub, max_queued=2)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        vetting.submit([A, B, C])
    assert vetting.queued == 2 and count(metric, "dropped") == 1
    assert any(
        "dropped" in r.getMessage() and C.reference in r.getMessage() for r in caplog.records
    )
    vetting.perform_queued()
    vetting.submit([C])
    assert vetting.perform_queued() == 1
    assert stub.calls == [A, B, C]


@pytest.mark.parametrize(
    "error", [VettingRequestError("ml: the API server answered 500 boom"), OSError("reset")]
)
def test_an_api_failure_is_logged_counted_and_retried_on_the_next_submit(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    stub = Stub()
    stub.error = error
    vetting, metric, _ = requester(stub)
    vetting.submit([A])
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert vetting.perform_queued() == 1  # does not raise
    assert count(metric, "failed") == 1 and count(metric, "requested") == 0
    assert any("failed" in r.getMessage() and str(error) in r.getMessage() for r in caplog.records)
    stub.error = None
    vetting.submit([A])  # a failed request is not remembered
    assert vetting.perform_queued() == 1 and count(metric, "requested") == 1


def test_what_it_remembers_is_bounded() -> None:
    stub = Stub()
    vetting, _, _ = requester(stub, max_remembered=2)
    vetting.submit([A, B, C])  # A is forgotten to make room for C
    vetting.submit([A, C])
    assert vetting.perform_queued() == 4 and stub.calls == [A, B, C, A]


def test_the_thread_performs_what_was_submitted_and_stop_waits_for_it() -> None:
    stub = Stub()
    vetting, metric, _ = requester(stub)
    vetting.start()
    vetting.submit([A, B])
    vetting.stop(timeout=30)
    assert stub.calls == [A, B] and count(metric, "requested") == 2


# --- the server around it ------------------------------------------------------------------------


class Service:
    """What ``WebhookApp`` calls; ``decide`` answers with the core, listing one request."""

    def __init__(self) -> None:
        labels = {"ml": {"modelward.dev/auto-vet": "true"}}
        config = WebhookConfig(auto_vetting=AutoVettingConfig(enabled=True))
        self.config = config
        self.env = make_env(labels=labels, config=config)
        self.requested: list[tuple[VettingRequest, ...]] = []

    def synced(self) -> dict[str, bool]:
        return {"verdicts": True, "namespaces": True}

    def ready(self) -> tuple[bool, str]:
        return True, ""

    def parse(self, body: bytes) -> dict[str, Any]:
        return dict(json.loads(body))

    async def decide(self, parsed: Mapping[str, Any]) -> ReviewResult:
        return review(parsed, self.env)

    def request_vetting(self, requests: tuple[VettingRequest, ...]) -> None:
        self.requested.append(requests)


def test_the_app_hands_the_requests_over_after_sending_the_answer() -> None:
    service = Service()
    app = WebhookApp(service, NoAuditLog())  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []
    seen_when_requested: list[int] = []
    original = service.request_vetting

    def recording(requests: tuple[VettingRequest, ...]) -> None:
        seen_when_requested.append(len(sent))
        original(requests)

    service.request_vetting = recording  # type: ignore[method-assign]
    body = json.dumps(review_of(pod(container("vllm", model=A.reference)))).encode()
    scope = {
        "type": "http",
        "path": "/validate",
        "method": "POST",
        "headers": [(b"content-type", b"application/json")],
        "server": ("127.0.0.1", 8443),
    }
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    answer = json.loads(sent[1]["body"])["response"]
    assert answer["allowed"] is False and "vetting requested" in answer["status"]["message"]
    assert [[r.reference for r in batch] for batch in service.requested] == [[A.reference]]
    assert seen_when_requested == [2]  # both parts of the answer were sent first


def test_auto_vetting_without_api_access_keeps_the_webhook_not_ready() -> None:
    config = WebhookConfig(
        auto_vetting=AutoVettingConfig(enabled=True), kubernetes=KubernetesConfig(access="off")
    )
    service = AdmissionService(config, eval_workers=1)

    async def load() -> bool:
        service.start()
        return await asyncio.to_thread(service.wait_loaded, 60)

    try:
        assert asyncio.run(load())
        ready, reason = service.ready()
    finally:
        service.close()
    assert not ready and "auto_vetting needs access to the API server" in reason

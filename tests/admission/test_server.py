"""`modelward webhook serve` as a real HTTPS process on loopback.

Probes, reviews answered with the request's uid, bad requests, the audit log, /metrics, serving
certificate reload without a restart, and a SIGTERM that lets the review in flight finish.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.admission.core_helpers import REFERENCE, container, deployment, pod, review_of
from tests.admission.webhook_process import (
    Reply,
    Tls,
    WebhookProcess,
    registry_config,
    sample,
    slow_bundle,
)

UNVETTED = "hf://example-org/never-vetted@0123456789abcdef0123456789abcdef01234567"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookProcess]:
    folder = tmp_path_factory.mktemp("webhook")
    process = WebhookProcess(folder, registry_config(folder))
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _review(model: str | None, **request: Any) -> dict[str, Any]:
    uid = request.pop("uid", str(uuid.uuid4()))
    workload = pod(container("main", model=model)) if model else pod()
    return review_of(workload, uid=uid, **request)


def _answer(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "application/json"
    return dict(reply.json()["response"])


def test_probes(webhook: WebhookProcess) -> None:
    assert (webhook.get("/healthz").status, webhook.get("/healthz").body) == (200, b"ok\n")
    assert (webhook.get("/readyz").status, webhook.get("/readyz").body) == (200, b"ok\n")
    assert webhook.request("POST", "/healthz", b"{}", JSON).status == 405


def test_vetted_model_is_allowed_and_the_uid_echoed(webhook: WebhookProcess) -> None:
    document = _review(REFERENCE)
    reply = webhook.review(document)
    answer = _answer(reply)
    assert reply.json()["apiVersion"] == "admission.k8s.io/v1"
    assert reply.json()["kind"] == "AdmissionReview"
    assert answer["uid"] == document["request"]["uid"]
    assert answer["allowed"] is True, answer


def test_unvetted_model_is_denied_with_a_message(webhook: WebhookProcess) -> None:
    document = _review(UNVETTED)
    answer = _answer(webhook.review(document))
    assert answer["uid"] == document["request"]["uid"]
    assert answer["allowed"] is False
    assert answer["status"]["code"] == 403
    assert UNVETTED in answer["status"]["message"]


def test_v1beta1_review_on_the_root_path_is_answered_in_v1beta1(webhook: WebhookProcess) -> None:
    document = review_of(
        deployment(container("main", model=UNVETTED)), api_version="admission.k8s.io/v1beta1"
    )
    reply = webhook.review(document, path="/")
    assert reply.json()["apiVersion"] == "admission.k8s.io/v1beta1"
    assert _answer(reply)["allowed"] is False


def test_bad_requests_get_4xx_with_a_json_error(webhook: WebhookProcess, shared: Path) -> None:
    not_json = webhook.request("POST", "/validate", b"{not json", JSON)
    assert not_json.status == 400 and "not JSON" in not_json.json()["error"]
    broken = (
        shared / "fixtures/admission/connaisseur__21_broken_admission_request.json"
    ).read_bytes()
    reply = webhook.request("POST", "/validate", broken, JSON)
    assert reply.status == 400 and reply.json()["error"]
    no_uid = _review(None)
    del no_uid["request"]["uid"]
    assert webhook.review(no_uid).status == 400
    text = webhook.request("POST", "/validate", b"{}", {"Content-Type": "text/plain"})
    assert text.status == 415 and text.json()["error"]
    assert webhook.request("GET", "/validate").status == 405
    assert webhook.request("GET", "/nowhere").status == 404


def test_a_body_over_the_limit_is_refused_without_reading_it(webhook: WebhookProcess) -> None:
    head = (
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {4 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", webhook.port), timeout=30) as raw:
        context = webhook.tls.client_context()
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(head.encode() + b"{" * 1024)  # far less than announced
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk  # the server closes the connection after answering
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"larger than" in answer


def test_every_decision_has_one_audit_line(webhook: WebhookProcess) -> None:
    sent = {}
    for model in (REFERENCE, UNVETTED, None, UNVETTED):
        document = _review(model)
        sent[document["request"]["uid"]] = _answer(webhook.review(document))["allowed"]
    lines = [line for line in webhook.audit() if line["uid"] in sent]
    assert sorted(line["uid"] for line in lines) == sorted(sent)
    assert all(line["allowed"] == sent[line["uid"]] for line in lines)
    assert all(line["namespace"] == "ml" and line["mode"] == "enforce" for line in lines)


def test_metrics_count_decisions_bad_requests_and_latency(webhook: WebhookProcess) -> None:
    before = webhook.metrics()
    for model in (REFERENCE, REFERENCE, None, UNVETTED, UNVETTED):
        _answer(webhook.review(_review(model)))
    assert webhook.request("POST", "/validate", b"[]", JSON).status == 400
    after = webhook.metrics()

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    decisions = "modelward_webhook_decisions_total"
    assert delta(decisions, result="allowed", mode="enforce") == 3
    assert delta(decisions, result="denied", mode="enforce") == 2
    assert delta("modelward_webhook_bad_requests_total", code="400") == 1
    assert delta("modelward_webhook_request_duration_seconds_count") == 6
    assert 0 < delta("modelward_webhook_request_duration_seconds_sum") < 60
    assert sample(after, "modelward_webhook_request_duration_seconds_bucket", le="0.005") > 0
    assert sample(after, "modelward_webhook_in_flight_requests") == 0
    assert sample(after, "modelward_webhook_deadline_exceeded_total") == 0
    assert sample(after, "modelward_webhook_cache_synced", cache="verdicts") == 1
    assert sample(after, "modelward_webhook_cache_synced", cache="namespaces") == 1


def _replace(target: Path, data: bytes) -> None:
    """Swap a file in one rename, as a Secret volume update does."""
    staged = target.with_suffix(".new")
    staged.write_bytes(data)
    os.replace(staged, target)


def test_certificate_is_reloaded_when_its_files_change(tmp_path: Path) -> None:
    process = WebhookProcess(tmp_path, registry_config(tmp_path))
    try:
        old = process.tls
        assert (
            x509.load_der_x509_certificate(process.peer_certificate()).issuer == old.ca.cert.subject
        )
        new = Tls.issue(tmp_path / "tls-new")
        _replace(old.key, new.key.read_bytes())
        _replace(old.cert, new.cert.read_bytes())
        new_der = x509.load_pem_x509_certificate(new.cert.read_bytes()).public_bytes(Encoding.DER)
        process.wait_for(
            lambda: process.peer_certificate(new.client_context()) == new_der,
            "the new certificate",
            timeout=30,
        )
        with pytest.raises(ssl.SSLCertVerificationError):
            process.peer_certificate(old.client_context())
        process.tls = new
        assert _answer(process.review(_review(REFERENCE)))["allowed"] is True

        _replace(old.key, b"not a key")  # a broken pair keeps the current certificate
        process.wait_for(lambda: "keeping the current TLS certificate" in process.log(), "log")
        assert process.peer_certificate(new.client_context()) == new_der
    finally:
        process.stop()


def test_sigterm_lets_the_review_in_flight_finish(tmp_path: Path) -> None:
    config = registry_config(tmp_path, policies=str(slow_bundle(tmp_path / "slow", 2500)))
    config["deadline_seconds"] = 25
    process = WebhookProcess(tmp_path, config)
    try:
        process.wait_ready()
        document, replies = _review(REFERENCE), []
        thread = threading.Thread(target=lambda: replies.append(process.review(document)))
        thread.start()
        process.wait_for(
            lambda: sample(process.metrics(), "modelward_webhook_in_flight_requests") == 1,
            "the slow review to be in flight",
            timeout=30,
        )
        started = time.monotonic()
        process.signal(signal.SIGTERM)
        thread.join(timeout=60)
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        answer = _answer(replies[0])
        assert answer["uid"] == document["request"]["uid"]
        assert answer["allowed"] is False and "test-slow" in answer["status"]["message"]
        assert time.monotonic() - started < 30
        audited = [line for line in process.audit() if line["uid"] == answer["uid"]]
        assert len(audited) == 1 and audited[0]["allowed"] is False
        assert "Shutting down" in process.log()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", process.port), timeout=5).close()
    finally:
        process.stop()

"""Failures that used to be silent, in a real `modelward webhook serve`.

An internal error (a lone surrogate in a container argument) is logged with the request's uid and
counted; an idle evaluation worker that dies or hangs is found by the background check and
replaced before a review needs it (the next review is allowed); a webhook that cannot become
ready fails /healthz once the configured bound has passed, so the kubelet restarts it.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.admission.core_helpers import REFERENCE, container, pod, review_of
from tests.admission.webhook_process import WebhookProcess, registry_config, sample

pytestmark = pytest.mark.slow

RESTARTS = "modelward_webhook_eval_worker_restarts_total"


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookProcess]:
    folder = tmp_path_factory.mktemp("observed")
    process = WebhookProcess(folder, registry_config(folder))
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _allowed(process: WebhookProcess) -> bool:
    document = review_of(pod(container("main", model=REFERENCE)), uid=str(uuid.uuid4()))
    return bool(process.review(document).json()["response"]["allowed"])


def _workers(process: WebhookProcess) -> set[int]:
    """Live child processes of the webhook (of any of its threads)."""
    assert process.proc is not None
    tasks = Path(f"/proc/{process.proc.pid}/task")
    pids = {int(p) for task in tasks.iterdir() for p in (task / "children").read_text().split()}
    return {pid for pid in pids if "Z" not in _state(pid)}


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "Z"


def test_a_lone_surrogate_is_denied_logged_with_the_uid_and_counted(
    webhook: WebhookProcess,
) -> None:
    before = webhook.metrics()
    uid = f"surrogate-{uuid.uuid4()}"
    workload = pod(container("main", model="hf://org/m\ud800x@" + "0" * 40))
    body = json.dumps(review_of(workload, uid=uid)).encode()  # "\ud800" escaped, as Go sends it
    reply = webhook.request("POST", "/validate", body, {"Content-Type": "application/json"})
    answer = reply.json()["response"]
    assert reply.status == 200 and answer["uid"] == uid and answer["allowed"] is False
    after = webhook.metrics()
    delta = sample(after, "modelward_webhook_internal_errors_total") - sample(
        before, "modelward_webhook_internal_errors_total"
    )
    if "internal-error" in answer["status"]["message"]:
        assert delta == 1
        webhook.wait_for(
            lambda: f"internal error while reviewing uid '{uid}'" in webhook.log(), "log"
        )
    else:  # rejected on purpose, before anything could fail
        assert delta == 0 and "\\ud800" in answer["status"]["message"]


@pytest.mark.parametrize(
    ("signum", "reason"), [(signal.SIGKILL, "exited"), (signal.SIGSTOP, "unresponsive")]
)
def test_a_broken_idle_worker_is_replaced_before_a_review_needs_it(
    webhook: WebhookProcess, signum: int, reason: str
) -> None:
    assert _allowed(webhook)
    before = sample(webhook.metrics(), RESTARTS, reason=reason)
    (old,) = _workers(webhook)
    os.kill(old, signum)
    webhook.wait_for(
        lambda: (
            sample(webhook.metrics(), RESTARTS, reason=reason) == before + 1
            and len(_workers(webhook) - {old}) == 1
            and sample(webhook.metrics(), "modelward_webhook_eval_workers") == 1
        ),
        "the background check to replace the worker",
        timeout=60,
    )
    assert _allowed(webhook)  # no deny paid for the broken worker
    assert f"replacing evaluation worker {old}" in webhook.log()


def test_a_webhook_that_cannot_become_ready_fails_healthz_after_the_bound(tmp_path: Path) -> None:
    broken = tmp_path / "policies"
    broken.mkdir()
    (broken / "broken.rego").write_text("package modelward.main\n\nthis is not rego\n")
    config = registry_config(tmp_path, policies=str(broken))
    process = WebhookProcess(tmp_path, config, args=("--eval-workers", "1", "--ready-timeout", "3"))
    try:
        assert process.get("/readyz").status == 503
        process.wait_for(lambda: process.get("/healthz").status == 503, "/healthz to fail", 30)
        text = process.get("/healthz").body.decode()
        assert "longer than the limit of 3 s (--ready-timeout)" in text, text
        assert process.proc is not None and process.proc.poll() is None  # the kubelet restarts it
    finally:
        process.stop()

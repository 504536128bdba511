"""Faults, tested: every failure the webhook can meet ends in a clear deny within the deadline.

Each case runs the real `modelward webhook serve` process; Kubernetes is a real kube-apiserver
(tests/e2e/kube.py) and OPA the real binary. "Within the deadline" is checked as deadline + 2 s,
which leaves room for a loaded machine without hiding a hang.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import config

from tests.admission.core_helpers import REFERENCE, container, pod, review_of
from tests.admission.verdict_cluster import VERDICTS_NAMESPACE, install_verdicts, kubeconfig_for
from tests.admission.webhook_process import (
    WebhookProcess,
    registry_config,
    sample,
    slow_bundle,
)
from tests.conftest import tool_binary
from tests.e2e.kube import Cluster, cluster_fixture, free_port, start_cluster

pytestmark = pytest.mark.slow

DEADLINE = 2.0
MARGIN = 2.0

kube_cluster = cluster_fixture("module")


def _review() -> dict[str, Any]:
    return review_of(pod(container("main", model=REFERENCE)), uid=str(uuid.uuid4()))


def _timed_answer(process: WebhookProcess) -> tuple[dict[str, Any], float]:
    document = _review()
    started = time.monotonic()
    reply = process.review(document, timeout=60)
    elapsed = time.monotonic() - started
    assert reply.status == 200, reply.body
    answer = reply.json()["response"]
    assert answer["uid"] == document["request"]["uid"]
    return answer, elapsed


def _allowed(process: WebhookProcess) -> bool:
    answer, _ = _timed_answer(process)
    return answer["allowed"] is True


def assert_denied_in_time(process: WebhookProcess, *reasons: str) -> str:
    """A review is denied within the deadline with a message naming one of ``reasons``."""
    answer, elapsed = _timed_answer(process)
    message = answer.get("status", {}).get("message", "")
    assert answer["allowed"] is False, answer
    assert any(reason in message for reason in reasons), message
    assert elapsed < DEADLINE + MARGIN, f"answered after {elapsed:.2f} s"
    audited = [line for line in process.audit() if line["uid"] == answer["uid"]]
    assert len(audited) == 1 and audited[0]["allowed"] is False
    return str(message)


def _config(folder: Path, **overrides: Any) -> dict[str, Any]:
    return registry_config(folder, **{"deadline_seconds": DEADLINE, **overrides})


# --- the registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["missing-folder", "under-a-file", "not-a-database"])
def test_unreachable_sqlite_registry_denies(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "garbage.db").write_bytes(b"this is not SQLite" * 100)
    path = {
        "missing-folder": tmp_path / "no" / "such" / "verdicts.db",
        "under-a-file": tmp_path / "a-file" / "verdicts.db",
        "not-a-database": tmp_path / "garbage.db",
    }[where]
    config = _config(tmp_path / "hook")
    config["registry"] = {"type": "sqlite", "path": str(path)}
    process = WebhookProcess(tmp_path / "hook", config)
    try:
        process.wait_ready()
        message = assert_denied_in_time(process, "registry-unavailable")
        assert str(path.name) in message or "registry" in message
        metrics = process.metrics()
        assert sample(metrics, "modelward_webhook_decisions_total", result="error", mode="enforce")
    finally:
        process.stop()


def _kubernetes_config(folder: Path, kubeconfig: Path) -> dict[str, Any]:
    config = _config(folder)
    config["registry"] = {"type": "kubernetes", "namespace": VERDICTS_NAMESPACE}
    config["kubernetes"] = {"access": "kubeconfig", "kubeconfig": str(kubeconfig)}
    return config


def _readiness(process: WebhookProcess) -> tuple[int, str]:
    reply = process.get("/readyz")
    return reply.status, reply.body.decode()


def test_unsynced_verdict_cache_is_not_ready_and_denies_until_the_crd_exists(
    tmp_path: Path, kube_cluster: Cluster
) -> None:
    process = WebhookProcess(tmp_path, _kubernetes_config(tmp_path, kube_cluster.kubeconfig_path))
    try:
        process.wait_for(lambda: "ModelVerdict" in _readiness(process)[1], "a readiness reason")
        status, reason = _readiness(process)
        assert status == 503 and "has not synced" in reason, reason
        assert_denied_in_time(process, "not synced")
        no_model = review_of(pod(), uid=str(uuid.uuid4()))
        assert process.review(no_model).json()["response"]["allowed"] is True
        metrics = process.metrics()
        assert sample(metrics, "modelward_webhook_cache_synced", cache="verdicts") == 0
        assert sample(metrics, "modelward_webhook_cache_synced", cache="namespaces") == 1

        api = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
        install_verdicts(api)
        process.wait_ready(timeout=120)  # the cache retries with backoff and syncs
        # It may list before install_verdicts stored the verdict; then its watch delivers it.
        process.wait_for(lambda: _allowed(process), "the vetted model admitted", timeout=30)
        api.close()
    finally:
        process.stop()


def test_api_server_stopped_after_and_before_sync(tmp_path: Path) -> None:
    cluster = start_cluster(tmp_path)
    hook, process = tmp_path / "hook", None
    try:
        api = config.new_client_from_config(config_file=str(cluster.kubeconfig_path))
        install_verdicts(api)
        api.close()
        kubeconfig = kubeconfig_for(cluster, tmp_path / "kubeconfig")
        process = WebhookProcess(hook, _kubernetes_config(hook, kubeconfig))
        process.wait_ready()
        assert _timed_answer(process)[0]["allowed"] is True
        cluster.stop()
        # Synced before the API server went away: decisions go on from the watched state.
        answer, elapsed = _timed_answer(process)
        assert answer["allowed"] is True and elapsed < DEADLINE + MARGIN
        # Started while it is away: never synced, so not ready, and reviews are denied.
        process.restart()
        process.wait_for(lambda: "ModelVerdict" in _readiness(process)[1], "a readiness reason")
        assert _readiness(process)[0] == 503
        assert_denied_in_time(process, "not synced")
    finally:
        cluster.stop()
        if process is not None:
            process.stop()


# --- the policy engine -------------------------------------------------------------------------


def test_opa_url_nobody_listens_on_denies(tmp_path: Path) -> None:
    config = _config(tmp_path, engine="opa", opa_url=f"http://127.0.0.1:{free_port()}")
    process = WebhookProcess(tmp_path, config)
    try:
        process.wait_ready()
        assert_denied_in_time(process, "evaluation-error")
    finally:
        process.stop()


@pytest.fixture
def opa(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    server = subprocess.Popen(
        [str(tool_binary("opa")), "run", "--server", f"--addr=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait()


def test_opa_killed_mid_service_denies(tmp_path: Path, opa: tuple[Any, str]) -> None:
    server, url = opa
    process = WebhookProcess(tmp_path, _config(tmp_path, engine="opa", opa_url=url))
    try:
        process.wait_ready()
        process.wait_for(lambda: _timed_answer(process)[0]["allowed"] is True, "OPA to answer")
        server.kill()
        server.wait()
        assert_denied_in_time(process, "evaluation-error")
    finally:
        process.stop()


def test_policy_running_past_the_deadline_is_denied_in_time(tmp_path: Path) -> None:
    bundle = slow_bundle(tmp_path / "slow", 100_000)  # 10^10 pairs: hours of work
    config = _config(tmp_path, policies=str(bundle), deadline_seconds=1.0)
    process = WebhookProcess(tmp_path, config, args=("--eval-workers", "2"))
    try:
        process.wait_ready()
        probes: list[float] = []

        def probe() -> None:  # the server stays responsive while a policy runs
            time.sleep(0.3)
            started = time.monotonic()
            process.get("/healthz")
            probes.append(time.monotonic() - started)

        helper = threading.Thread(target=probe)
        helper.start()
        for _ in range(3):  # also after the overrunning workers were replaced
            answer, elapsed = _timed_answer(process)
            message = answer["status"]["message"]
            assert answer["allowed"] is False and "deadline" in message, message
            assert elapsed < 1.0 + MARGIN, f"answered after {elapsed:.2f} s"
        helper.join()
        assert probes and probes[0] < 1.0
        assert sample(process.metrics(), "modelward_webhook_deadline_exceeded_total") >= 1
    finally:
        process.stop()


# --- restarts ----------------------------------------------------------------------------------


def test_restart_under_load_loses_no_audited_decision(tmp_path: Path) -> None:
    process = WebhookProcess(tmp_path, registry_config(tmp_path))
    process.wait_ready()
    received: list[tuple[str, bool, int]] = []
    generation = [0]
    stop = threading.Event()

    def client_loop() -> None:
        while not stop.is_set():
            document = _review()
            try:
                reply = process.review(document, timeout=30)
            except OSError:
                time.sleep(0.02)  # restarting: connection refused or reset
                continue
            if reply.status == 200:
                answer = reply.json()["response"]
                received.append((answer["uid"], answer["allowed"], generation[0]))

    clients = [threading.Thread(target=client_loop) for _ in range(4)]
    try:
        for thread in clients:
            thread.start()
        for round_ in (1, 2):
            time.sleep(1.5)
            process.signal(signal.SIGTERM)
            process.wait(timeout=60)
            generation[0] = round_
            process.start()
            process.wait_ready()
        time.sleep(1.5)
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
        process.stop()
    assert {g for _, _, g in received} == {0, 1, 2}, "answers before and after each restart"
    audit = process.audit()
    uids = [line["uid"] for line in audit]
    assert len(uids) == len(set(uids)), "a decision was audited twice"
    by_uid = {line["uid"]: line for line in audit}
    missing = [uid for uid, _, _ in received if uid not in by_uid]
    assert not missing, f"{len(missing)} answers without an audit line"
    assert all(by_uid[uid]["allowed"] == allowed for uid, allowed, _ in received)

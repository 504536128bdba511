"""No verdict rollback against the running webhook, on both registries.

The real ``modelward webhook serve`` process; the SQLite registry is a file the test writes
directly, the Kubernetes registry ``ModelVerdict`` objects on a real kube-apiserver. Each round
stores an older signed allow and a newer signed deny for the model, lets the webhook see the
deny, applies one attack (tests/engine/rollback_builders.py) and checks that every answer is
still a deny, with the reason. Then the webhook restarts: the older allow gets in only until its
signed maximum age is over, and ``registry show --key`` exits non-zero.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from modelward.engine.verdicts.registry import OlderThanStored
from modelward.engine.verdicts.registry.kubernetes import KubernetesRegistry
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from modelward.engine.verdicts.signed import SignedVerdict
from tests.admission.core_helpers import (
    REFERENCE,
    container,
    pod,
    real_facts,
    review_of,
    vetting_keys,
)
from tests.admission.verdict_cluster import CRD_FILE, kubeconfig_for
from tests.admission.webhook_process import WebhookProcess, registry_config
from tests.cli.test_verdicts_cli import mw
from tests.e2e.admission_cluster import apply_crd
from tests.e2e.kube import Cluster, cluster_fixture
from tests.engine.rollback_builders import (
    ATTACKS,
    History,
    kubernetes_attack,
    make_signed,
    now,
    sqlite_attack,
)

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture("module")
OTHER = "hf://acme/other-model@" + "7" * 40
SHORT_MAX_AGE = timedelta(seconds=8)


def answer(process: WebhookProcess) -> tuple[bool, str]:
    document = review_of(pod(container("vllm", model=REFERENCE)), uid=str(uuid.uuid4()))
    reply = process.review(document)
    assert reply.status == 200, reply.body
    response = reply.json()["response"]
    return bool(response["allowed"]), str(response.get("status", {}).get("message", ""))


def denied_until(process: WebhookProcess, expected: str, timeout: float = 15.0) -> str:
    """Review until the deny message names ``expected``; every answer on the way is a deny."""
    deadline = time.monotonic() + timeout
    while True:
        allowed, message = answer(process)
        assert not allowed, f"admitted a model whose newest verdict denies it: {message}"
        if expected in message:
            return message
        assert time.monotonic() < deadline, f"never saw {expected!r}; last answer: {message}"
        time.sleep(0.2)


def signed(outcome: str, created: datetime, **options: Any) -> SignedVerdict:
    return make_signed(vetting_keys()[0], REFERENCE, outcome, created, facts=real_facts(),
                       **options)  # fmt: skip


def rounds(start: datetime) -> Iterator[History]:
    """One history per round, each newer than the last (marks only ever rise)."""
    for i in range(20):
        base = start + timedelta(minutes=5 * i)
        yield History(REFERENCE, signed("allow", base), signed("deny", base + timedelta(minutes=2)))


def other_models_allow() -> SignedVerdict:
    facts = real_facts()
    facts["subject"]["ref"] = OTHER
    return make_signed(vetting_keys()[0], OTHER, "allow", now(), facts=facts)


EXPECTED = {  # what the webhook says after each attack (it saw the deny before)
    "reorder": "verdict-denied",
    "delete-newest": "superseded: a newer verdict",
    "reapply-old": "verdict-denied",
    "replay": "verdict-denied",
}


KUBERNETES_EXPECTED = {  # one object per reference: an attack replaces the deny itself
    "reorder": "verdict-denied",
    "delete-newest": "superseded: a newer verdict",
    "reapply-old": "superseded: a newer verdict",
    "replay": f"signed for '{OTHER}'",
}


def restart_into_the_window(
    process: WebhookProcess, story: History, store: Callable[[SignedVerdict], None]
) -> datetime:
    """Restart with only the older allow stored, signed with a short maximum age from now."""
    process.restart()
    process.wait_ready()
    expires = now() + SHORT_MAX_AGE
    store(signed("allow", datetime.fromisoformat(story.allow.created_at), expires=expires))
    return expires


def wait_past(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - now()).total_seconds()) + 0.5)


# --- SQLite ------------------------------------------------------------------------------------


def test_sqlite_registry(tmp_path: Path) -> None:
    database = tmp_path / "hook" / "verdicts.db"
    database.parent.mkdir(parents=True)
    registry = SqliteRegistry(database)
    registry.put(other_models_allow())
    process = WebhookProcess(tmp_path / "hook", registry_config(tmp_path / "hook"))
    key = tmp_path / "hook" / "verdict-key.pub"
    history = rounds(now() - timedelta(hours=2))
    try:
        process.wait_ready()
        for attack in ATTACKS:
            story = next(history)
            registry.delete(REFERENCE)
            registry.put(story.allow)
            registry.put(story.deny)
            denied_until(process, "verdict-denied")  # the webhook has seen the deny
            sqlite_attack(database, attack, story, other_models_allow())
            denied_until(process, EXPECTED[attack])
            time.sleep(1.2)  # past the lookup cache's longest memory: still a deny
            denied_until(process, EXPECTED[attack], timeout=0)
            if attack != "delete-newest":  # the deny is still stored: the tool says so
                shown = mw("registry", "show", REFERENCE, "--registry", str(database),
                           "--key", str(key))  # fmt: skip
                assert shown.returncode == 1 and "not admitted (deny)" in shown.stderr

        def store(verdict: SignedVerdict) -> None:
            registry.delete(REFERENCE)
            registry.put(verdict)

        expires = restart_into_the_window(process, story, store)
        assert answer(process)[0], "within its maximum age the older verdict is trusted again"
        wait_past(expires)
        denied_until(process, "expired: the verdict expired at", timeout=0)
        shown = mw("registry", "show", REFERENCE, "--registry", str(database), "--key", str(key))
        assert shown.returncode == 1 and "not admitted (expired)" in shown.stderr
    finally:
        process.stop()


# --- Kubernetes --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_api(kube_cluster: Cluster) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
    apply_crd(api, yaml.safe_load(CRD_FILE.read_text()))
    try:
        yield api
    finally:
        api.close()


def kubernetes_webhook(folder: Path, kubeconfig: Path, namespace: str) -> WebhookProcess:
    settings = registry_config(folder)
    settings["registry"] = {"type": "kubernetes", "namespace": namespace}
    settings["kubernetes"] = {"access": "kubeconfig", "kubeconfig": str(kubeconfig)}
    return WebhookProcess(folder, settings)


def test_kubernetes_registry(
    tmp_path: Path, kube_cluster: Cluster, cluster_api: client.ApiClient
) -> None:
    namespace = f"verdicts-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(cluster_api).create_namespace({"metadata": {"name": namespace}})
    registry = KubernetesRegistry(namespace, cluster_api)
    kubeconfig = kubeconfig_for(kube_cluster, tmp_path / "kubeconfig")
    process = kubernetes_webhook(tmp_path / "hook", kubeconfig, namespace)
    key = tmp_path / "hook" / "verdict-key.pub"
    url = f"kubernetes://{namespace}"
    history = rounds(now() - timedelta(hours=2))

    def show() -> Any:
        args = ("registry", "show", REFERENCE, "--registry", url, "--key", str(key))
        return mw(*args, env={"KUBECONFIG": str(kubeconfig)})

    try:
        process.wait_ready()
        for attack in ATTACKS:
            story = next(history)
            registry.delete(REFERENCE)
            registry.put(story.allow)
            registry.put(story.deny)
            denied_until(process, "verdict-denied")
            kubernetes_attack(cluster_api, namespace, attack, story, other_models_allow())
            expected = KUBERNETES_EXPECTED[attack]
            denied_until(process, expected)
            time.sleep(1.0)  # the watch delivered the change long ago: still a deny
            denied_until(process, expected, timeout=0)
            shown = show()
            if attack in ("reorder", "replay"):  # what is stored is itself not admissible
                assert shown.returncode == 1, shown.stdout + shown.stderr

        # a deny replaced by the older allow before anyone asked: the watch saw it anyway
        story = next(history)
        registry.delete(REFERENCE)
        registry.put(story.allow)
        registry.put(story.deny)
        kubernetes_attack(cluster_api, namespace, "reapply-old", story, other_models_allow())
        denied_until(process, "superseded")

        def store(verdict: SignedVerdict) -> None:
            registry.delete(REFERENCE)
            registry.put(verdict)

        expires = restart_into_the_window(process, story, store)
        deadline = time.monotonic() + 10  # until the restarted webhook's cache sees the object
        while not answer(process)[0]:
            assert time.monotonic() < deadline, "the older allow was never trusted again"
            time.sleep(0.2)
        wait_past(expires)
        denied_until(process, "expired: the verdict expired at", timeout=0)
        shown = show()
        assert shown.returncode == 1 and "not admitted (expired)" in shown.stderr
    finally:
        process.stop()


def test_kubernetes_put_never_replaces_a_newer_verdict(cluster_api: client.ApiClient) -> None:
    """`vet --publish` / `registry import` of an old verdict cannot roll the object back."""
    namespace = f"verdicts-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(cluster_api).create_namespace({"metadata": {"name": namespace}})
    registry = KubernetesRegistry(namespace, cluster_api)
    story = next(rounds(now() - timedelta(hours=1)))
    registry.put(story.deny)
    with pytest.raises(OlderThanStored, match="holds a newer verdict"):
        registry.put(story.allow)
    assert registry.candidates(REFERENCE) == [story.deny]
    assert registry.candidates(OTHER) == []
    newer = signed("allow", now())
    registry.put(newer)  # a newer verdict replaces it as before
    assert registry.get(REFERENCE) == newer

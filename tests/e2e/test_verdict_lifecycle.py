"""Verdict lifecycle against a real kube-apiserver: expiry, approval scope, revocation.

The chart's webhook runs as two replicas (two processes, each with its own ModelVerdict watch);
the API server calls the first. Verdicts are signed with the release's key and stored as
ModelVerdicts. The revocation is measured under steady load on both replicas: reviews are sent
to each replica directly, and pods are created through the API server, while the revocation is
stored; each replica's delay is the time from the start of ``revoke`` to its first deny.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from modelward.engine.verdicts.freshness import format_time
from modelward.engine.verdicts.keys import read_private_key
from modelward.engine.verdicts.registry.kubernetes import KubernetesRegistry
from modelward.engine.verdicts.registry.revoke import revoke
from modelward.engine.verdicts.scope import parse_scope
from modelward.engine.verdicts.signed import Verdict, VerdictSigner
from tests.admission.core_helpers import (
    EVALUATOR,
    builtin_bundle,
    container,
    pod,
    real_facts,
    review_of,
)
from tests.cli.helpers import run
from tests.e2e.admission_cluster import (
    RELEASE_NAMESPACE,
    ApiResult,
    Installed,
    Webhook,
    create,
    installed,
    make_namespace,
)
from tests.e2e.kube import Cluster, cluster_fixture

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture("module")

FRESH = "hf://acme/fresh@" + "4" * 40
EXPIRING = "hf://acme/expiring@" + "5" * 40
EXPIRED = "hf://acme/expired@" + "6" * 40
TEAM_A_ONLY = "hf://acme/team-a-only@" + "7" * 40
SELECTED = "hf://acme/selected-prod@" + "8" * 40
REVOKED = "hf://acme/revoked@" + "9" * 40
ENVIRONMENT = "modelward.dev/environment"
MAX_REVOCATION_SECONDS = 5.0
LOAD_INTERVAL = 0.05  # seconds between reviews, per replica (20/s each)


@dataclass
class Setup:
    cluster: Cluster
    release: Installed
    signer: VerdictSigner
    registry: KubernetesRegistry


@pytest.fixture(scope="module")
def setup(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("lifecycle")
    with installed(kube_cluster, root, replicas=2) as release:
        make_namespace(release.api, "team-a", {"team": "a", ENVIRONMENT: "prod"})
        make_namespace(release.api, "team-b", {"team": "b", ENVIRONMENT: "staging"})
        signer = VerdictSigner(read_private_key(release.private_key))
        registry = KubernetesRegistry(RELEASE_NAMESPACE, release.api)
        now = datetime.now(UTC)
        for reference, created, expires, scope in [
            (FRESH, now, now + timedelta(days=60), None),
            (EXPIRING, now, now + timedelta(days=2), None),
            (EXPIRED, now - timedelta(days=31), now - timedelta(days=1), None),
            (TEAM_A_ONLY, now, now + timedelta(days=60), ["namespace=team-a", "use=chat"]),
            (SELECTED, now, now + timedelta(days=60), ["namespace-selector=team", "env=prod"]),
            (REVOKED, now, now + timedelta(days=60), None),
        ]:
            registry.put(signer.sign(_verdict(reference, created, expires, scope)))
        state = Setup(kube_cluster, release, signer, registry)
        for webhook in release.replicas:
            _wait_until_allowed(webhook, FRESH)
        yield state


def _verdict(
    reference: str, created: datetime, expires: datetime, scope: list[str] | None
) -> Verdict:
    facts = real_facts()
    decision = EVALUATOR.evaluate(builtin_bundle(), {"model": facts, "context": {"source": "ci"}})
    assert decision.outcome == "allow", decision.deny
    return Verdict(
        reference=reference,
        digest=facts["subject"].get("digest"),
        created_at=format_time(created),
        decision=decision,
        facts=facts,
        expires_at=format_time(expires),
        scope=parse_scope(scope or []),
    )


def _pod(name: str, reference: str) -> dict[str, Any]:
    return pod(container("server", model=reference), name=name)


def _apply(setup: Setup, namespace: str, name: str, reference: str, dry: bool = True) -> ApiResult:
    path = f"/api/v1/namespaces/{namespace}/pods" + ("?dryRun=All" if dry else "")
    return create(setup.cluster, path, _pod(name, reference))


def _review(webhook: Webhook, namespace: str, reference: str) -> dict[str, Any]:
    """One AdmissionReview sent to ``webhook`` directly; its ``response``."""
    body = json.dumps(review_of(_pod("load", reference), namespace=namespace)).encode()
    request = urllib.request.Request(
        webhook.url + "/validate", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10, context=webhook.context) as answer:
        response: dict[str, Any] = json.load(answer)["response"]
    return response


def _wait_until_allowed(webhook: Webhook, reference: str) -> None:
    """The replica's watch has delivered the verdicts (its cache sees ``reference``)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _review(webhook, "team-a", reference)["allowed"]:
            return
        time.sleep(0.2)
    raise AssertionError(f"{webhook.url} never admitted {reference}")


def test_a_fresh_verdict_admits_without_lifecycle_findings(setup: Setup) -> None:
    result = _apply(setup, "team-b", "fresh", FRESH)
    assert result.status == 201, result.message
    assert not any("verdict-" in w for w in result.warnings), result.warnings


def test_an_expired_verdict_is_denied(setup: Setup) -> None:
    result = _apply(setup, "team-a", "expired", EXPIRED)
    assert result.status == 403
    assert "verdict-untrusted" in result.message and "expired" in result.message, result.message


def test_a_verdict_expiring_soon_admits_with_a_warning(setup: Setup) -> None:
    result = _apply(setup, "team-a", "expiring", EXPIRING)
    assert result.status == 201, result.message
    [warning] = [w for w in result.warnings if "verdict-expiring" in w]
    assert "the verdict expires in 2.0 days" in warning, warning


def test_a_namespace_scope_admits_there_and_denies_elsewhere(setup: Setup) -> None:
    assert _apply(setup, "team-a", "scoped", TEAM_A_ONLY).status == 201
    denied = _apply(setup, "team-b", "scoped", TEAM_A_ONLY)
    assert denied.status == 403
    assert "verdict-out-of-scope" in denied.message, denied.message
    assert "namespace 'team-b' is not in the approved scope" in denied.message


def test_a_selector_and_environment_scope_reads_the_namespace_labels(setup: Setup) -> None:
    assert _apply(setup, "team-a", "selected", SELECTED).status == 201
    denied = _apply(setup, "team-b", "selected", SELECTED)
    assert denied.status == 403 and "verdict-out-of-scope" in denied.message, denied.message
    assert "environment is 'staging', approved only for: prod" in denied.message


@dataclass
class Load:
    """Reviews of ``reference`` sent to one replica at a steady rate: (time, allowed)."""

    webhook: Webhook
    reference: str
    answers: list[tuple[float, bool]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                allowed = bool(_review(self.webhook, "team-a", self.reference)["allowed"])
                self.answers.append((time.monotonic(), allowed))
            except Exception as exc:  # recorded: the test fails on any
                self.errors.append(repr(exc))
            stop.wait(LOAD_INTERVAL)

    def first_deny_after(self, start: float) -> float | None:
        return next((t for t, allowed in self.answers if t >= start and not allowed), None)


def test_a_revocation_is_enforced_by_both_replicas_within_5_seconds(setup: Setup) -> None:
    running = _apply(setup, "team-a", "running-model", REVOKED, dry=False)
    assert running.status == 201, running.message
    loads = [Load(webhook, REVOKED) for webhook in setup.release.replicas]
    through_api: list[tuple[float, int]] = []
    stop = threading.Event()
    threads = [threading.Thread(target=load.run, args=(stop,)) for load in loads]
    threads.append(threading.Thread(target=_api_load, args=(setup, stop, through_api)))
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)  # steady load first: every replica admits
        assert all(load.answers and all(a for _, a in load.answers) for load in loads)
        started = time.monotonic()
        revoke(setup.registry, REVOKED, reason="backdoor reported", revoked_by="secops",
               signer=setup.signer)  # fmt: skip
        stored = time.monotonic() - started
        deadline = started + 3 * MAX_REVOCATION_SECONDS
        while time.monotonic() < deadline and any(
            load.first_deny_after(started) is None for load in loads
        ):
            time.sleep(0.05)
        time.sleep(1)  # and a little more load after the switch
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not any(load.errors for load in loads), [load.errors for load in loads]
    delays = []
    for index, load in enumerate(loads):
        denied_at = load.first_deny_after(started)
        assert denied_at is not None, f"replica {index} never denied the revoked model"
        delays.append(denied_at - started)
        assert not any(a for t, a in load.answers if t > denied_at), "admitted after a deny"
    api_denied = next((t for t, status in through_api if t >= started and status == 403), None)
    assert api_denied is not None, through_api[-5:]
    figures = ", ".join(f"replica {i}: {d:.3f} s" for i, d in enumerate(delays))
    print(
        f"\nrevocation enforced after {figures} (API server path: {api_denied - started:.3f} s; "
        f"storing the revocation took {stored:.3f} s; "
        f"{sum(len(load.answers) for load in loads)} direct reviews, {len(through_api)} creates)"
    )
    assert max(delays) <= MAX_REVOCATION_SECONDS, figures


def _api_load(setup: Setup, stop: threading.Event, seen: list[tuple[float, int]]) -> None:
    """Dry-run pod creations through the API server (which calls the first replica)."""
    while not stop.is_set():
        result = _apply(setup, "team-a", "through-api", REVOKED)
        seen.append((time.monotonic(), result.status))
        stop.wait(LOAD_INTERVAL * 2)


def test_a_revoked_model_is_listed_and_its_running_workloads_audited(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _revoked(setup)
    monkeypatch.setenv("KUBECONFIG", str(setup.cluster.kubeconfig_path))
    public = setup.release.webhook.root / "keys" / "verdict.pub"
    settings = {
        "registry": {"type": "kubernetes", "namespace": RELEASE_NAMESPACE},
        "verdict_keys": [str(public)],
    }
    config_path = tmp_path / "check.yaml"
    config_path.write_text(yaml.safe_dump(settings))
    kube = ("--kubeconfig", str(setup.cluster.kubeconfig_path))
    audit = run("audit", *kube, "--config", str(config_path), "-n", "team-a")
    assert audit.returncode == 1, audit.stdout + audit.stderr
    row = next(line for line in audit.stdout.splitlines() if "team-a/running-model" in line)
    assert REVOKED in row and "verdict-revoked" in row, row

    registry = ("--registry", f"kubernetes://{RELEASE_NAMESPACE}", "--key", str(public))
    shown = run("registry", "show", REVOKED, *registry)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "revoked    by secops: backdoor reported" in shown.stdout, shown.stdout
    assert "not admitted (revoked): revoked by secops: backdoor reported" in shown.stderr
    listed = run("registry", "list", *registry)
    line = next(line for line in listed.stdout.splitlines() if line.startswith(REVOKED))
    assert line.split()[1] == "revoked" and line.split()[-1] == "revoked", line


def test_the_revoke_command_reaches_every_replica(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(setup.cluster.kubeconfig_path))
    revoked = run("registry", "revoke", TEAM_A_ONLY, "--reason", "licence withdrawn",
                  "--signing-key", str(setup.release.private_key),
                  "--registry", f"kubernetes://{RELEASE_NAMESPACE}")  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith(f"revoked {TEAM_A_ONLY} (by ")
    deadline = time.monotonic() + MAX_REVOCATION_SECONDS
    for webhook in setup.release.replicas:
        while (answer := _review(webhook, "team-a", TEAM_A_ONLY))["allowed"]:
            assert time.monotonic() < deadline, f"{webhook.url} still admits {TEAM_A_ONLY}"
            time.sleep(0.05)
        assert "verdict-revoked" in answer["status"]["message"]
        assert "licence withdrawn" in answer["status"]["message"]


def _revoked(setup: Setup) -> None:
    """The revocation test ran first (module order); the running pod exists."""
    objects = client.CustomObjectsApi(setup.release.api)
    listing = objects.list_namespaced_custom_object(
        "modelward.dev", "v1alpha1", RELEASE_NAMESPACE, "modelverdicts"
    )
    outcomes = {item["spec"]["reference"]: item["spec"]["outcome"] for item in listing["items"]}
    assert outcomes[REVOKED] == "revoked", outcomes

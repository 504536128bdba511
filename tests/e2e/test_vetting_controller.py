"""In-cluster vetting on a real kube-apiserver: ModelVetting -> Job -> signed verdict -> admission.

The controller runs as ``modelward controller run``; the test plays the Job controller and the
kubelet (``vetting_kubelet``): it runs each Job's container command from the Job's spec on this
host and reports the outcome through the API. Models come from a real OCI registry.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from modelward.engine.verdicts.registry.modelverdict import resource_name
from modelward.engine.verdicts.signed import SignedVerdict, VerdictKeys
from modelward.engine.vetting.resource import vetting_name
from modelward.engine.vetting.result import decode_result, encode_result
from tests.e2e.admission_cluster import (
    RELEASE_NAMESPACE,
    ApiResult,
    Installed,
    create,
    installed,
    make_namespace,
    run_modelward,
)
from tests.e2e.kube import Cluster, cluster_fixture, free_port
from tests.e2e.vetting_cluster import (
    ControllerProcess,
    Models,
    controller_config,
    events_for,
    vetting,
    wait_for,
)
from tests.e2e.vetting_kubelet import JobPlayer, node_env
from tests.sources.registry import start_registry

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture("module")
TEAM = "ml-team"
#: A namespace where the webhook asks for vetting when it denies an unvetted model.
AUTO = "auto-team"


@dataclass
class Setup:
    cluster: Cluster
    release: Installed
    models: Models
    player: JobPlayer
    root: Path

    @property
    def api(self) -> client.ApiClient:
        return self.release.api

    @contextmanager
    def controller(self, *names: str, **overrides: Any) -> Iterator[list[ControllerProcess]]:
        config = controller_config(self.root, self.cluster, self.release.private_key, **overrides)
        running = [ControllerProcess(config, self.root, name) for name in names or ("c1",)]
        try:
            yield running
        finally:
            for process in running:
                process.stop()

    def request(self, reference: str, namespace: str = TEAM) -> str:
        done = run_modelward(["vetting", "request", reference, "-n", namespace], self.cluster)
        assert done.returncode == 0, done.stderr
        return vetting_name(reference)

    def job_for(self, reference: str, attempt: int = 1, timeout: float = 60) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for job in self.player.jobs():
                annotations = job["metadata"].get("annotations") or {}
                if annotations.get("modelward.dev/reference") == reference and annotations.get(
                    "modelward.dev/attempt"
                ) == str(attempt):
                    return job
            return None

        found: dict[str, Any] = wait_for(f"job {attempt} for {reference}", find, timeout)
        return found

    def finished(self, name: str, namespace: str = TEAM, timeout: float = 60) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            obj = vetting(self.api, namespace, name)
            phase = (obj.get("status") or {}).get("phase")
            return obj if phase in ("Succeeded", "Failed") else None

        found: dict[str, Any] = wait_for(f"{namespace}/{name} to finish", done, timeout)
        return found

    def verdict(self, reference: str) -> SignedVerdict | None:
        custom = client.CustomObjectsApi(self.api)
        try:
            obj = custom.get_namespaced_custom_object(
                "modelward.dev", "v1alpha1", RELEASE_NAMESPACE, "modelverdicts",
                resource_name(reference),
            )  # fmt: skip
        except client.ApiException:
            return None
        return SignedVerdict.from_envelope(obj["spec"]["envelope"])

    def pod(
        self, name: str, reference: str, dry_run: bool = True, namespace: str = TEAM
    ) -> ApiResult:
        image = reference.removeprefix("oci://")
        pod = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {
                "containers": [{"name": "server", "image": "registry.invalid/server:v1",
                                "volumeMounts": [{"name": "model", "mountPath": "/models"}]}],
                "volumes": [{"name": "model", "image": {"reference": image}}],
            },
        }  # fmt: skip
        path = f"/api/v1/namespaces/{namespace}/pods" + ("?dryRun=All" if dry_run else "")
        return create(self.cluster, path, pod)


@pytest.fixture(scope="module")
def setup(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("vetting")
    auto_vetting = [
        "--set", "admission.autoVetting.enabled=true",
        "--set", "controller.enabled=true",
        "--set", "controller.signingKey.existingSecret=verdict-signing",
    ]  # fmt: skip
    with (
        start_registry(root / "registry") as registry,
        installed(kube_cluster, root, auto_vetting) as release,
    ):
        make_namespace(release.api, TEAM)
        make_namespace(release.api, AUTO, {"modelward.dev/auto-vet": "true"})
        player = JobPlayer(release.api, RELEASE_NAMESPACE, root / "node", node_env())
        yield Setup(kube_cluster, release, Models(registry, root), player, root)


def public_keys(setup: Setup) -> VerdictKeys:
    public = setup.release.private_key.with_suffix(".pub")
    return VerdictKeys.from_paths([public])


def assert_isolated(job: dict[str, Any]) -> None:
    """Every isolation setting of a vetting Job, on the object the API server stored."""
    spec = job["spec"]
    assert spec["activeDeadlineSeconds"] == 300
    assert spec["backoffLimit"] == 1
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    assert pod["enableServiceLinks"] is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["privileged"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["resources"]["limits"]["memory"] and container["resources"]["limits"]["cpu"]
    assert container["resources"]["requests"]["memory"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["work"]["emptyDir"]["sizeLimit"]
    assert all(set(v) == {"name", "emptyDir"} for v in volumes.values()), "only emptyDirs"
    for item in container.get("env") or []:
        assert "valueFrom" not in item, "no Secret reaches the worker"
        assert "KEY" not in item["name"] or item["name"] == "MODELWARD_RESULT_FILE"
    assert container["command"] == ["modelward"]
    assert container["args"][:2] == ["vetting", "run"]


def scrape(port: int) -> dict[str, float]:
    """The controller's /metrics as {sample with labels: value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = (line.rsplit(" ", 1) for line in text.splitlines() if line and line[0] != "#")
    return {name: float(value) for name, value in samples}


def test_a_request_becomes_a_job_a_signed_verdict_and_an_admission(setup: Setup) -> None:
    reference = setup.models.benign("models/minilm")
    before = setup.pod("before", reference)
    assert before.status == 403 and "model-unvetted" in before.message
    port = free_port()
    with setup.controller(metrics_address="127.0.0.1", metrics_port=port):
        name = setup.request(reference)
        job = setup.job_for(reference)
        assert_isolated(job)
        (container,) = job["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item["value"] for item in container["env"]}
        assert json.loads(env["MODELWARD_POLICY_DATA"])["require_pinned"] is True  # its policies
        ran = setup.player.run(job)
        assert ran.exit_code == 0, ran.stderr
        done = setup.finished(name)
        metrics = scrape(port)
    assert metrics['modelward_controller_outcomes_total{outcome="allow"}'] == 1
    assert metrics["modelward_controller_vet_duration_seconds_count"] == 1
    assert metrics["modelward_controller_leader"] == 1
    assert (
        metrics["modelward_controller_queue_depth"] == metrics["modelward_controller_running"] == 0
    )
    status = done["status"]
    assert (status["phase"], status["outcome"], status["attempts"]) == ("Succeeded", "allow", 1)
    assert status["verdict"] == resource_name(reference)
    signed = setup.verdict(reference)
    assert signed is not None and signed.outcome == "allow"
    check = public_keys(setup).verify(signed, reference)
    assert check.trusted, check.reason
    assert status["digest"] == signed.digest
    wait_for("the webhook to admit", lambda: setup.pod("after", reference).status == 201)
    assert setup.pod("after", reference, dry_run=False).status == 201
    reasons = [e.reason for e in events_for(setup.api, TEAM, name)]
    assert "JobCreated" in reasons and "Vetted" in reasons


def test_a_malicious_model_ends_in_a_deny_verdict(setup: Setup) -> None:
    reference = setup.models.malicious("models/evil")
    with setup.controller():
        name = setup.request(reference)
        setup.player.run(setup.job_for(reference))
        status = setup.finished(name)["status"]
    assert (status["phase"], status["outcome"]) == ("Succeeded", "deny")
    signed = setup.verdict(reference)
    assert signed is not None and signed.outcome == "deny"
    assert setup.pod("evil", reference).status == 403


def forge_allow(message: str) -> str:
    """The worker's real result with its claimed decision turned into an allow."""
    result = decode_result(message)
    assert result.decision is not None and result.decision.outcome == "deny"
    forged = result.model_copy(
        update={"decision": result.decision.model_copy(update={"outcome": "allow", "deny": []})}
    )
    return encode_result(forged)


def test_a_result_claiming_allow_for_denied_facts_is_signed_as_deny(setup: Setup) -> None:
    reference = setup.models.malicious("models/evil-claims-allow")
    with setup.controller():
        name = setup.request(reference)
        setup.player.run(setup.job_for(reference), edit=forge_allow)
        status = setup.finished(name)["status"]
    assert (status["phase"], status["outcome"]) == ("Succeeded", "deny")
    assert setup.verdict(reference).outcome == "deny"  # type: ignore[union-attr]
    assert "ClaimMismatch" in [e.reason for e in events_for(setup.api, TEAM, name)]


def forged_facts(message: str) -> str:
    """Facts that do not validate (a field the facts model does not have)."""
    result = decode_result(message)
    facts = dict(result.facts or {}, verdict="allow")
    return encode_result(result.model_copy(update={"facts": facts}))


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda _: "not a result at all", "MalformedResult"),
        (lambda m: m[: len(m) // 2], "MalformedResult"),
        (forged_facts, "InvalidFacts"),
    ],
    ids=["garbage", "truncated", "invalid-facts"],
)
def test_an_unvalidated_result_is_never_signed(setup: Setup, edit: Any, reason: str) -> None:
    reference = setup.models.benign(f"models/forged-{reason.lower()}-{id(edit) % 9973}")
    with setup.controller():
        name = setup.request(reference)
        setup.player.run(setup.job_for(reference), edit=edit)
        status = setup.finished(name)["status"]
    assert (status["phase"], status["reason"]) == ("Failed", reason)
    assert setup.verdict(reference) is None


def test_a_failed_job_is_retried_then_failed_and_a_timeout_fails(setup: Setup) -> None:
    crashing = setup.models.benign("models/crashing")
    slow = setup.models.benign("models/slow")
    with setup.controller():
        crash_name, slow_name = setup.request(crashing), setup.request(slow)
        setup.player.report(setup.job_for(crashing, 1), exit_code=137)
        setup.player.report(setup.job_for(slow, 1), exit_code=1, job_reason="DeadlineExceeded")
        setup.player.report(setup.job_for(crashing, 2), exit_code=137)
        crashed = setup.finished(crash_name)["status"]
        timed_out = setup.finished(slow_name)["status"]
    assert (crashed["phase"], crashed["reason"], crashed["attempts"]) == ("Failed", "JobFailed", 2)
    assert (timed_out["phase"], timed_out["reason"], timed_out["attempts"]) == (
        "Failed", "Timeout", 1,
    )  # fmt: skip
    assert setup.verdict(crashing) is None and setup.verdict(slow) is None


def test_a_source_error_is_failed_with_its_reason(setup: Setup) -> None:
    registry = setup.models.registry.host
    missing = f"oci://{registry}/models/none@sha256:{'0' * 64}"
    with setup.controller():
        name = setup.request(missing)
        setup.player.run(setup.job_for(missing))
        status = setup.finished(name)["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "SourceError")
    assert "models/none" in status["message"]


def encoded(payload: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


def drive(setup: Setup, what: str, done: Any, timeout: float = 120) -> None:
    """Play the kubelet (run every Job that appears) until ``done()`` holds."""

    def step() -> bool:
        setup.player.run_pending()
        return bool(done())

    wait_for(what, step, timeout, every=0.3)


def phases(setup: Setup, names: list[str], namespace: str = TEAM) -> list[str]:
    return [str((vetting(setup.api, namespace, n).get("status") or {}).get("phase")) for n in names]


def job_starts(setup: Setup, names: list[str]) -> list[int]:
    """Jobs started per request (finished Jobs are deleted; their events stay)."""
    return [
        [e.reason for e in events_for(setup.api, TEAM, name)].count("JobCreated") for name in names
    ]


def some_job(setup: Setup) -> bool:
    return bool(setup.player.jobs())


def verdict_generation(setup: Setup, reference: str) -> int:
    obj = client.CustomObjectsApi(setup.api).get_namespaced_custom_object(
        "modelward.dev", "v1alpha1", RELEASE_NAMESPACE, "modelverdicts", resource_name(reference)
    )
    return int(obj["metadata"]["generation"])


def test_an_auto_requested_vetting_admits_the_pod_once_it_succeeds(setup: Setup) -> None:
    benign = setup.models.benign("models/auto-benign")
    evil = setup.models.malicious("models/auto-evil")
    for pod_name, reference in (("auto-benign", benign), ("auto-evil", evil)):
        denied = setup.pod(pod_name, reference, dry_run=False, namespace=AUTO)
        assert denied.status == 403 and "vetting requested" in denied.message, denied.message
    names = [vetting_name(benign), vetting_name(evil)]
    with setup.controller():
        drive(
            setup,
            "both vettings to finish",
            lambda: phases(setup, names, AUTO) == ["Succeeded"] * 2,
        )
    benign_vetting, evil_vetting = (vetting(setup.api, AUTO, n) for n in names)
    assert benign_vetting["spec"]["requestedBy"] == "webhook"
    assert (benign_vetting["status"]["outcome"], evil_vetting["status"]["outcome"]) == (
        "allow",
        "deny",
    )
    wait_for(
        "the webhook to admit",
        lambda: setup.pod("auto-benign", benign, namespace=AUTO).status == 201,
    )
    assert setup.pod("auto-benign", benign, dry_run=False, namespace=AUTO).status == 201
    again = setup.pod("auto-evil", evil, dry_run=False, namespace=AUTO)
    assert again.status == 403 and "vetting requested" not in again.message, again.message
    assert phases(setup, [vetting_name(evil)], AUTO) == ["Succeeded"]  # not asked for again


def test_a_controller_killed_mid_queue_loses_nothing(setup: Setup) -> None:
    references = [setup.models.benign(f"models/queue-{i}") for i in range(3)]
    one_at_a_time = {"queue": {"max_running": 1}}
    with setup.controller("first", **one_at_a_time) as [first]:
        names = [setup.request(r) for r in references]
        wait_for("the first Job", lambda: some_job(setup))
        first.kill()
    setup.player.run_pending()  # the Job finishes while no controller runs
    with setup.controller("second", **one_at_a_time):
        drive(setup, "the queue to drain", lambda: phases(setup, names) == ["Succeeded"] * 3)
    assert job_starts(setup, names) == [1, 1, 1]  # none started twice
    for reference in references:
        assert setup.verdict(reference).outcome == "allow"  # type: ignore[union-attr]
        assert verdict_generation(setup, reference) == 1  # published once


def test_two_replicas_elect_one_leader_and_survive_its_loss(setup: Setup) -> None:
    references = [
        setup.models.benign("models/pair-benign"),
        setup.models.malicious("models/pair-evil"),
        setup.models.benign("models/pair-benign-2"),
    ]
    leases = client.CoordinationV1Api(setup.api)

    def holder() -> str | None:
        try:
            lease = leases.read_namespaced_lease("modelward-controller", RELEASE_NAMESPACE)
        except client.ApiException:
            return None
        return lease.spec.holder_identity

    with setup.controller("replica-a", "replica-b", queue={"max_running": 1}) as replicas:
        by_name = {p.identity: p for p in replicas}
        leader = wait_for("a leader", lambda: holder() in by_name and holder())
        names = [setup.request(r) for r in references]
        wait_for("the first Job", lambda: some_job(setup))
        by_name[leader].kill()
        setup.player.run_pending()
        (survivor,) = set(by_name) - {leader}
        wait_for("the other replica to lead", lambda: holder() == survivor, timeout=30)
        drive(setup, "the queue to drain", lambda: phases(setup, names) == ["Succeeded"] * 3)
    assert job_starts(setup, names) == [1, 1, 1]
    outcomes = [vetting(setup.api, TEAM, n)["status"]["outcome"] for n in names]
    assert outcomes == ["allow", "deny", "allow"]
    for reference, outcome in zip(references, outcomes, strict=True):
        assert setup.verdict(reference).outcome == outcome  # type: ignore[union-attr]
        assert verdict_generation(setup, reference) == 1
    assert f"{survivor} leads" in by_name[survivor].output()
    assert holder() == "", "a replica stopped cleanly hands the lease over at once"


def revet_events(setup: Setup) -> list[Any]:
    listed = client.CoreV1Api(setup.api).list_event_for_all_namespaces(
        field_selector="involvedObject.kind=ModelVetting,reason=Revet"
    )
    return list(listed.items)


def test_a_policy_change_revets_at_the_rate_and_audit_shows_the_new_deny(setup: Setup) -> None:
    reference = setup.models.benign("models/revet")
    with setup.controller():
        name = setup.request(reference)
        drive(setup, "the first vetting", lambda: phases(setup, [name]) == ["Succeeded"])
    assert setup.verdict(reference).outcome == "allow"  # type: ignore[union-attr]
    wait_for("the webhook to admit", lambda: setup.pod("serving", reference).status == 201)
    assert setup.pod("serving", reference, dry_run=False).status == 201
    stored = len(client.CustomObjectsApi(setup.api).list_namespaced_custom_object(
        "modelward.dev", "v1alpha1", RELEASE_NAMESPACE, "modelverdicts")["items"])  # fmt: skip
    stricter = setup.root / "stricter.yaml"
    stricter.write_text("require_signature: true\n")  # none of these models is signed
    per_minute = 30
    revet = {"enabled": True, "interval_seconds": 1, "per_minute": per_minute}
    with setup.controller(data=str(stricter), revet=revet):
        drive(
            setup,
            "every verdict to be vetted again",
            lambda: (
                len(revet_events(setup)) >= stored and setup.verdict(reference).outcome == "deny"
            ),  # type: ignore[union-attr]
            timeout=stored * 60 / per_minute + 90,
        )
    times = sorted(e.first_timestamp for e in revet_events(setup))
    span = (times[-1] - times[0]).total_seconds()
    # One token at the start, then one every 60/per_minute seconds (events carry whole seconds).
    assert span >= (len(times) - 1) * 60 / per_minute - 2, (len(times), span)
    assert span <= (len(times) - 1) * 60 / per_minute + 30, (len(times), span)
    assert phases(setup, [name]) == ["Succeeded"]
    assert vetting(setup.api, TEAM, name)["status"]["outcome"] == "deny"
    config = setup.root / "mounts" / "config" / "webhook.yaml"
    audited = run_modelward(["audit", "--config", str(config), "-n", TEAM], setup.cluster)
    assert audited.returncode == 1, audited.stdout + audited.stderr
    row = next(line.split() for line in audited.stdout.splitlines() if f"{TEAM}/serving" in line)
    assert row[3:5] == [reference, "deny"], row

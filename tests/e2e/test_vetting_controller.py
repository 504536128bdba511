"""In-cluster vetting on a real kube-apiserver: ModelVetting -> Job -> signed verdict -> admission.

The controller runs as ``modelward controller run``; the test plays the Job controller and the
kubelet (``vetting_kubelet``): it runs each Job's container command from the Job's spec on this
host and reports the outcome through the API. Models come from a real OCI registry.
"""

from __future__ import annotations

import base64
import json
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
from tests.e2e.kube import Cluster, cluster_fixture
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

    def pod(self, name: str, reference: str, dry_run: bool = True) -> ApiResult:
        image = reference.removeprefix("oci://")
        pod = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {
                "containers": [{"name": "server", "image": "registry.invalid/server:v1",
                                "volumeMounts": [{"name": "model", "mountPath": "/models"}]}],
                "volumes": [{"name": "model", "image": {"reference": image}}],
            },
        }  # fmt: skip
        path = f"/api/v1/namespaces/{TEAM}/pods" + ("?dryRun=All" if dry_run else "")
        return create(self.cluster, path, pod)


@pytest.fixture(scope="module")
def setup(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("vetting")
    with start_registry(root / "registry") as registry, installed(kube_cluster, root) as release:
        make_namespace(release.api, TEAM)
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


def test_a_request_becomes_a_job_a_signed_verdict_and_an_admission(setup: Setup) -> None:
    reference = setup.models.benign("models/minilm")
    before = setup.pod("before", reference)
    assert before.status == 403 and "model-unvetted" in before.message
    with setup.controller():
        name = setup.request(reference)
        job = setup.job_for(reference)
        assert_isolated(job)
        ran = setup.player.run(job)
        assert ran.exit_code == 0, ran.stderr
        done = setup.finished(name)
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

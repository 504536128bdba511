"""The Reconciler over an in-memory cluster: one Job per reference, retries, timeouts, refused
results, re-evaluation, two replicas and restarts; verdicts signed by a real key into SQLite."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from modelward.controller import status as st
from modelward.controller.config import ControllerConfig
from modelward.controller.metrics import ControllerMetrics
from modelward.controller.publisher import Publisher
from modelward.controller.reconcile import DEADLINE_GRACE_SECONDS, Reconciler
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.verdicts.keys import generate_keypair
from modelward.engine.verdicts.registry.modelverdict import resource_name
from modelward.engine.verdicts.signed import SignedVerdict, VerdictKeys
from modelward.engine.vetting.resource import new_vetting, phase_of, vetting_name
from modelward.engine.vetting.result import encode_result, log_pointer
from tests.controller.builders import (
    Models,
    RecordingRegistry,
    controller_config,
    make_publisher,
    source_error,
)
from tests.controller.fake_cluster import FakeCluster

TEAM = "team-a"


@dataclass
class World:
    """One cluster, one registry, one signing key, and a controller (``reconciler``) over them."""

    api: FakeCluster
    config: ControllerConfig
    publisher: Publisher
    public_pem: bytes
    metrics: ControllerMetrics
    reconciler: Reconciler

    def tick(self) -> None:
        self.reconciler.tick()

    def replica(self) -> Reconciler:
        """Another controller process over the same cluster and registry."""
        return Reconciler(self.api, self.publisher, self.config, ControllerMetrics())

    def request(self, reference: str, namespace: str = TEAM) -> str:
        assert self.api.create_vetting(new_vetting(reference, namespace))
        return vetting_name(reference)

    def status(self, name: str, namespace: str = TEAM) -> dict[str, Any]:
        return self.api.status(namespace, name)

    def job(self, name: str, namespace: str = TEAM) -> str:
        return str(self.status(name, namespace)["jobName"])

    @property
    def puts(self) -> list[SignedVerdict]:
        registry = self.publisher.registry
        assert isinstance(registry, RecordingRegistry)
        return registry.puts

    def outcomes(self, outcome: str) -> float | None:
        return self.metrics.registry.get_sample_value(
            "modelward_controller_outcomes_total", {"outcome": outcome}
        )


def make_world(tmp_path: Path, bundle: PolicyBundle, **overrides: Any) -> World:
    private_pem, public_pem = generate_keypair()
    config = controller_config(registry=str(tmp_path / "verdicts.db"), **overrides)
    publisher = make_publisher(bundle, tmp_path / "verdicts.db", private_pem)
    api, metrics = FakeCluster(), ControllerMetrics()
    reconciler = Reconciler(api, publisher, config, metrics)
    return World(api, config, publisher, public_pem, metrics, reconciler)


@pytest.fixture
def world(tmp_path: Path, bundle: PolicyBundle) -> World:
    return make_world(tmp_path, bundle)


# ---------------------------------------------------------------- the way through


@pytest.mark.parametrize("delivery", ["termination message", "log pointer"])
def test_a_request_becomes_one_job_and_a_signed_verdict(
    world: World, models: Models, delivery: str
) -> None:
    name = world.request(models.benign)
    world.tick()
    (job,) = world.api.created_jobs
    status = world.status(name)
    assert (status["phase"], status["attempts"], status["jobName"]) == ("Running", 1, job)
    annotations = world.api.jobs[job]["metadata"]["annotations"]
    assert annotations["modelward.dev/reference"] == models.benign
    world.tick()
    assert world.status(name)["phase"] == "Running", "nothing moves while the Job runs"

    line = models.line(models.benign)
    if delivery == "log pointer":
        world.api.complete(job, log_pointer(line), log=f"scanning\n{line}\n")
    else:
        world.api.complete(job, line)
    world.tick()

    status = world.status(name)
    assert (status["phase"], status["outcome"], status["reason"]) == (
        "Succeeded",
        "allow",
        "Vetted",
    )
    assert status["verdict"] == resource_name(models.benign)
    (signed,) = world.puts
    check = VerdictKeys.from_pems([world.public_pem]).check(signed, models.benign)
    assert check.trusted, check.reason
    assert status["digest"] == signed.digest and signed.outcome == "allow"
    assert status["observedBundle"] == world.publisher.bundle_revision
    assert job not in world.api.jobs, "the finished Job is deleted"
    assert world.api.reasons(name) == ["JobCreated", "Vetted"]
    assert world.outcomes("allow") == 1


def test_a_sqlite_registry_without_a_verdict_yet_does_not_block_jobs(
    world: World, models: Models
) -> None:
    registry = world.publisher.registry
    assert isinstance(registry, RecordingRegistry) and not registry.path.exists()
    name = world.request(models.benign)
    world.tick()
    assert world.status(name)["phase"] == "Running"
    world.api.complete(world.job(name), models.line(models.benign))
    world.tick()
    assert registry.path.is_file() and world.status(name)["phase"] == "Succeeded"


def test_two_requests_for_one_reference_run_one_job(world: World, models: Models) -> None:
    first = world.request(models.benign, "team-a")
    second = world.request(models.benign, "team-b")
    world.tick()
    world.tick()
    (job,) = world.api.created_jobs
    phases = [phase_of(v) for v in world.api.list_vettings()]
    assert sorted(phases) == ["Pending", "Running"]
    world.api.complete(job, models.line(models.benign))
    world.tick()
    assert world.api.created_jobs == [job], "the second request uses the first one's verdict"
    for namespace in ("team-a", "team-b"):
        status = world.status(first, namespace)
        assert (status["phase"], status["outcome"]) == ("Succeeded", "allow")
        assert status["verdict"] == resource_name(models.benign)
    assert len(world.puts) == 1
    reasons = {ns: world.api.reasons(second, ns) for ns in ("team-a", "team-b")}
    assert sorted(reasons.values()) == [["AlreadyVetted"], ["JobCreated", "Vetted"]]


def test_a_request_for_a_current_verdict_needs_no_job(world: World, models: Models) -> None:
    name = world.request(models.benign, "team-a")
    world.tick()
    world.api.complete(world.job(name, "team-a"), models.line(models.benign))
    world.tick()
    later = world.request(models.benign, "team-c")
    world.tick()
    assert len(world.api.created_jobs) == 1
    status = world.status(later, "team-c")
    assert (status["phase"], status["reason"], status["outcome"]) == (
        "Succeeded",
        "Vetted",
        "allow",
    )
    assert world.api.reasons(later, "team-c") == ["AlreadyVetted"]


def test_an_unparsable_reference_fails_without_a_job(world: World) -> None:
    body = new_vetting("ftp://example/model", TEAM)
    world.api.create_vetting(body)
    world.tick()
    status = world.status(body["metadata"]["name"])
    assert (status["phase"], status["reason"]) == ("Failed", "InvalidReference")
    assert world.api.created_jobs == []


# ---------------------------------------------------------------- failures and retries


def fail_an_attempt(world: World, name: str) -> dict[str, Any]:
    """Start the request's next attempt, let its Job fail, and return the status after."""
    world.tick()
    world.api.fail(world.job(name))
    world.tick()
    return world.status(name)


def seconds_until(text: str) -> float:
    moment = st.parse_text(text)
    assert moment is not None
    return (moment - datetime.now(UTC)).total_seconds()


def test_a_failed_job_is_retried_with_backoff_then_fails(world: World, models: Models) -> None:
    name = world.request(models.benign)
    first = fail_an_attempt(world, name)
    assert (first["phase"], first["reason"], first["attempts"]) == ("Pending", "JobFailed", 1)
    assert first["message"].endswith("retrying in 30s")
    assert 28 <= seconds_until(first["nextAttemptAt"]) <= 30
    world.tick()
    assert len(world.api.created_jobs) == 1, "no new Job before the retry time"

    world.api.advance(30)
    second = fail_an_attempt(world, name)
    assert (second["phase"], second["attempts"]) == ("Pending", 2)
    assert second["message"].endswith("retrying in 60s")
    assert 58 <= seconds_until(second["nextAttemptAt"]) <= 60

    world.api.advance(60)
    third = fail_an_attempt(world, name)
    assert (third["phase"], third["reason"], third["attempts"]) == ("Failed", "JobFailed", 3)
    assert [job[-2:] for job in world.api.created_jobs] == ["-1", "-2", "-3"]
    assert world.api.jobs == {} and world.puts == []
    assert world.outcomes("failed") == 1
    world.api.advance(3600)
    world.tick()
    assert len(world.api.created_jobs) == 3, "a Failed request stays failed"


def test_the_backoff_is_capped(tmp_path: Path, bundle: PolicyBundle, models: Models) -> None:
    world = make_world(
        tmp_path,
        bundle,
        queue={"max_attempts": 5, "retry_base_seconds": 100, "retry_max_seconds": 150},
    )
    name = world.request(models.benign)
    messages = []
    for _ in range(3):
        world.tick()
        world.api.fail(world.job(name))
        world.tick()
        messages.append(world.status(name)["message"])
        world.api.advance(200)
    assert [m.rsplit("retrying in ", 1)[1] for m in messages] == ["100s", "150s", "150s"]


def test_a_deadline_exceeded_job_fails_without_retry(world: World, models: Models) -> None:
    name = world.request(models.benign)
    world.tick()
    job = world.job(name)
    world.api.fail(job, "DeadlineExceeded")
    world.tick()
    status = world.status(name)
    assert (status["phase"], status["reason"], status["attempts"]) == ("Failed", "Timeout", 1)
    assert world.api.created_jobs == [job] and job not in world.api.jobs
    assert world.puts == []


def test_a_job_nobody_marks_finished_times_out_after_the_grace(
    world: World, models: Models
) -> None:
    name = world.request(models.benign)
    world.tick()
    deadline = world.config.job.active_deadline_seconds
    world.api.advance(deadline + DEADLINE_GRACE_SECONDS - 5)
    world.tick()
    assert world.status(name)["phase"] == "Running"
    world.api.advance(10)
    world.tick()
    status = world.status(name)
    assert (status["phase"], status["reason"]) == ("Failed", "Timeout")
    assert len(world.api.created_jobs) == 1 and world.api.jobs == {}


def test_a_lost_job_is_retried(world: World, models: Models) -> None:
    name = world.request(models.benign)
    world.tick()
    world.api.delete_job(world.job(name))
    world.tick()
    assert (world.status(name)["phase"], world.status(name)["reason"]) == ("Pending", "JobLost")


@pytest.mark.parametrize("job_failed", [False, True])
def test_a_transient_source_error_is_retried(
    world: World, models: Models, job_failed: bool
) -> None:
    name = world.request(models.benign)
    world.tick()
    line = source_error(models.benign, transient=True)
    if job_failed:
        world.api.fail(world.job(name), message=line)
    else:
        world.api.complete(world.job(name), line)
    world.tick()
    status = world.status(name)
    assert (status["phase"], status["reason"]) == ("Pending", "SourceError")
    assert "connection reset" in status["message"] and world.puts == []


def test_a_permanent_source_error_fails_at_once(world: World, models: Models) -> None:
    name = world.request(models.benign)
    world.tick()
    world.api.complete(world.job(name), source_error(models.benign, transient=False))
    world.tick()
    status = world.status(name)
    assert (status["phase"], status["reason"], status["attempts"]) == ("Failed", "SourceError", 1)


# ---------------------------------------------------------------- results that are refused


def garbage_results(models: Models) -> dict[str, tuple[str, str, str]]:
    """(termination message, log, expected reason) for results no verdict may come from."""
    good, other = models.line(models.benign), models.line(models.other)
    other_result = models.results[models.other]
    assert other_result.facts is not None
    bad_facts = other_result.model_copy(
        update={"reference": models.benign, "facts": {**other_result.facts, "files": "many"}}
    )
    lying = other_result.model_copy(update={"reference": models.benign})
    return {
        "not base64": ("modelward-result/v1 !!!", "", "MalformedResult"),
        "no result": ("Killed", "Traceback (most recent call last):\n", "MalformedResult"),
        "pointer, wrong digest": (log_pointer(other), f"{good}\n", "MalformedResult"),
        "pointer, no line": (log_pointer(good), "progress\n", "MalformedResult"),
        "another reference": (other, "", "WrongReference"),
        "facts of another model": (encode_result(lying), "", "WrongReference"),
        "facts that do not validate": (encode_result(bad_facts), "", "InvalidFacts"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not base64",
        "no result",
        "pointer, wrong digest",
        "pointer, no line",
        "another reference",
        "facts of another model",
        "facts that do not validate",
    ],
)
def test_a_refused_result_is_never_signed(world: World, models: Models, case: str) -> None:
    message, log, reason = garbage_results(models)[case]
    name = world.request(models.benign)
    world.tick()
    world.api.complete(world.job(name), message, log=log)
    world.tick()
    status = world.status(name)
    assert (status["phase"], status["reason"]) == ("Failed", reason)
    assert "verdict" not in status and "outcome" not in status
    assert world.puts == [] and world.publisher.stored() == []
    assert "Vetted" not in world.api.reasons(name)
    world.tick()
    assert len(world.api.created_jobs) == 1, "a refused result is not retried"


# ---------------------------------------------------------------- the worker's claim


def test_a_claimed_allow_for_denied_facts_is_published_as_deny(
    world: World, models: Models
) -> None:
    name = world.request(models.malicious)
    world.tick()
    world.api.complete(world.job(name), models.forged(models.malicious, "allow"))
    world.tick()
    status = world.status(name)
    assert (status["phase"], status["outcome"]) == ("Succeeded", "deny")
    (signed,) = world.puts
    assert signed.outcome == "deny"
    verdict = signed.unverified_verdict()
    assert verdict is not None and verdict.decision.deny, "our own findings, not the claim"
    mismatch = [e for e in world.api.events if e.reason == "ClaimMismatch"]
    assert len(mismatch) == 1 and mismatch[0].kind == "Warning"
    assert "claimed allow" in mismatch[0].message and "say deny" in mismatch[0].message
    assert world.metrics.registry.get_sample_value("modelward_controller_claim_mismatches_total")
    assert world.outcomes("deny") == 1


def test_a_claimed_deny_for_clean_facts_is_published_as_allow(world: World, models: Models) -> None:
    name = world.request(models.benign)
    world.tick()
    world.api.complete(world.job(name), models.forged(models.benign, "deny"))
    world.tick()
    assert world.status(name)["outcome"] == "allow"
    assert "ClaimMismatch" in world.api.reasons(name)


def test_an_honest_deny_has_no_mismatch(world: World, models: Models) -> None:
    name = world.request(models.malicious)
    world.tick()
    world.api.complete(world.job(name), models.line(models.malicious))
    world.tick()
    assert world.status(name)["outcome"] == "deny"
    assert "ClaimMismatch" not in world.api.reasons(name)
    assert [e.kind for e in world.api.events if e.reason == "Vetted"] == ["Warning"]


# ---------------------------------------------------------------- replicas and restarts


def test_a_conflict_on_the_publishing_claim_means_no_publication(
    world: World, models: Models
) -> None:
    name = world.request(models.benign)
    world.tick()
    world.api.complete(world.job(name), models.line(models.benign))
    other = world.replica()
    # This replica has listed the request and reads the result; the other one concludes first.
    world.api.on_job_pods = other.tick
    world.tick()
    status = world.status(name)
    assert (status["phase"], status["outcome"]) == ("Succeeded", "allow")
    assert len(world.puts) == 1, "only the replica whose claim was written published"
    assert world.api.reasons(name).count("Vetted") == 1


def test_two_replicas_report_one_claim_mismatch(world: World, models: Models) -> None:
    name = world.request(models.malicious)
    world.tick()
    world.api.complete(world.job(name), models.forged(models.malicious, "allow"))
    world.api.on_job_pods = world.replica().tick
    world.tick()
    assert world.status(name)["outcome"] == "deny" and len(world.puts) == 1
    assert world.api.reasons(name).count("ClaimMismatch") == 1
    assert not world.metrics.registry.get_sample_value(
        "modelward_controller_claim_mismatches_total"
    ), "the replica that lost the claim counts nothing"


def test_a_restarted_controller_follows_the_running_job(
    world: World, models: Models, bundle: PolicyBundle
) -> None:
    name = world.request(models.benign)
    world.tick()
    (job,) = world.api.created_jobs
    restarted = world.replica()
    restarted.tick()
    assert world.api.created_jobs == [job] and world.status(name)["jobName"] == job
    world.api.complete(job, models.line(models.benign))
    restarted.tick()
    assert world.status(name)["phase"] == "Succeeded"
    assert world.api.created_jobs == [job] and len(world.puts) == 1


class DiesAfterCreatingAJob(FakeCluster):
    """The controller process ends between creating a Job and recording it."""

    died = False

    def write_status(self, vetting: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        if self.created_jobs and not self.died:
            self.died = True
            raise SystemExit("killed")
        return super().write_status(vetting, status)


def test_a_restart_between_creating_and_recording_a_job_reuses_it(
    tmp_path: Path, bundle: PolicyBundle, models: Models
) -> None:
    world = make_world(tmp_path, bundle)
    api = DiesAfterCreatingAJob()
    world.api.vettings = api.vettings
    name = world.request(models.benign)
    with pytest.raises(SystemExit):
        Reconciler(api, world.publisher, world.config, ControllerMetrics()).tick()
    (job,) = api.created_jobs
    assert api.status(TEAM, name) == {}
    restarted = Reconciler(api, world.publisher, world.config, ControllerMetrics())
    restarted.tick()
    assert api.created_jobs == [job], "the same Job name: no second Job"
    assert api.status(TEAM, name)["jobName"] == job and api.status(TEAM, name)["attempts"] == 1


# ---------------------------------------------------------------- the queue


def test_limits_and_turns_apply_to_job_creation(
    tmp_path: Path, bundle: PolicyBundle, models: Models
) -> None:
    world = make_world(tmp_path, bundle, queue={"max_running": 2, "max_running_per_namespace": 0})
    references = [f"hf://busy/m{i}@{i:040x}" for i in range(5)]
    for reference in references:
        world.request(reference, "busy")
    quiet = world.request(models.benign, "quiet")
    world.tick()
    assert len(world.api.created_jobs) == 2
    assert world.status(quiet, "quiet")["phase"] == "Running"
    world.tick()
    assert len(world.api.created_jobs) == 2, "the global limit holds across passes"
    gauge = world.metrics.registry.get_sample_value("modelward_controller_queue_depth")
    assert gauge == 4

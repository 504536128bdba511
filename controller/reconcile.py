"""One pass over every ModelVetting: start what may start, follow what runs, publish what ended.

All state lives in the API objects (the request's status and its Job), so a restarted or newly
elected controller carries on where the last one stopped. A result is published only after the
status write that claims it succeeded, so two controllers never both publish one result.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from modelward.controller import status as st
from modelward.controller.cluster import ClusterApi, Conflict
from modelward.controller.config import ControllerConfig
from modelward.controller.fairness import namespace_of, pick
from modelward.controller.jobs import job_for, job_name
from modelward.controller.metrics import ControllerMetrics
from modelward.controller.publisher import Publisher
from modelward.controller.results import job_state, read_result
from modelward.engine.errors import InvalidReference
from modelward.engine.refs import ModelRef
from modelward.engine.vetting.accept import ResultRejected, SourceFailed
from modelward.engine.vetting.resource import MalformedVetting, phase_of, spec_reference
from modelward.engine.vetting.result import MalformedResult

log = logging.getLogger("modelward.controller")
#: A Job nobody marks finished this long after its deadline is treated as timed out.
DEADLINE_GRACE_SECONDS = 60


class Reconciler:
    def __init__(
        self,
        api: ClusterApi,
        publisher: Publisher,
        config: ControllerConfig,
        metrics: ControllerMetrics,
    ) -> None:
        self.api = api
        self.publisher = publisher
        self.config = config
        self.metrics = metrics

    def tick(self) -> list[dict[str, Any]]:
        """One pass; returns the requests as listed (for re-vetting)."""
        vettings = self.api.list_vettings()
        jobs = self.api.list_jobs()
        for vetting in vettings:
            if phase_of(vetting) == "Running":
                self._guard(self._follow, vetting, jobs)
        vettings = self.api.list_vettings()
        self._start_pending(vettings)
        return vettings

    def _start_pending(self, vettings: list[dict[str, Any]]) -> None:
        moment = datetime.now(UTC)
        running = Counter(namespace_of(v) for v in vettings if phase_of(v) == "Running")
        busy = {_reference_key(v) for v in vettings if phase_of(v) == "Running"}
        pending = []
        for vetting in vettings:  # one Job per reference at a time, whoever asked
            key = _reference_key(vetting)
            ready = phase_of(vetting) == "Pending" and st.due(vetting.get("status") or {}, moment)
            if ready and key not in busy:
                pending.append(vetting)
                busy.add(key)
        self.metrics.queue_depth.set(sum(phase_of(v) == "Pending" for v in vettings))
        self.metrics.running.set(sum(running.values()))
        queue = self.config.queue
        for vetting in pick(
            pending,
            running,
            max_running=queue.max_running,
            max_per_namespace=queue.max_running_per_namespace,
        ):
            self._guard(self._start, vetting)

    def _guard(self, step: Any, vetting: dict[str, Any], *args: Any) -> None:
        """Run one step; a conflict means another writer moved first (the next pass sees it)."""
        try:
            step(vetting, *args)
        except Conflict as exc:
            log.info("skipped, changed meanwhile: %s", exc)
        except Exception:  # one request's failure must not stop the others
            meta = vetting.get("metadata", {})
            log.exception("reconciling %s/%s failed", meta.get("namespace"), meta.get("name"))

    def _start(self, vetting: dict[str, Any]) -> None:
        status = dict(vetting.get("status") or {})
        try:
            reference = ModelRef.parse(spec_reference(vetting)).canonical
        except (MalformedVetting, InvalidReference) as exc:
            self._fail(vetting, status, "InvalidReference", str(exc))
            return
        if self._already_vetted(vetting, status, reference):
            return
        attempt = int(status.get("attempts") or 0) + 1
        name = job_name(vetting, attempt)
        policy_config = self.publisher.bundle.config
        self.api.create_job(job_for(vetting, reference, attempt, self.config, policy_config))
        self.api.write_status(vetting, st.running(status, attempt, name))
        self.api.event(vetting, "Normal", "JobCreated", f"attempt {attempt}: job {name}")

    def _already_vetted(
        self, vetting: dict[str, Any], status: dict[str, Any], reference: str
    ) -> bool:
        """A current verdict of ours for the reference settles the request without a Job."""
        current = self.publisher.current_verdict(reference, self.config.revet.max_age_delta)
        if current is None:
            return False
        signed, stored = current
        message = f"{signed.outcome} verdict {stored} for {reference} (already vetted)"
        done = st.succeeded(
            status,
            verdict=stored,
            outcome=signed.outcome,
            digest=signed.digest,
            bundle=self.publisher.bundle_revision,
            scanner=self.publisher.scanner,
            message=message,
        )
        self.api.write_status(vetting, done)
        self.api.event(vetting, "Normal", "AlreadyVetted", message)
        return True

    def _follow(self, vetting: dict[str, Any], jobs: dict[str, dict[str, Any]]) -> None:
        status = dict(vetting.get("status") or {})
        job = jobs.get(str(status.get("jobName")))
        if job is None:
            self._retry_or_fail(vetting, status, "JobLost", "the Job is gone", transient=True)
            return
        state, why = job_state(job)
        if state == "running":
            if self._overdue(status):
                self._finish_job(vetting, status, "Timeout", "the Job ran past its deadline")
            return
        if state == "failed":
            reason = "Timeout" if why == "DeadlineExceeded" else "JobFailed"
            self._finish_job(vetting, status, reason, f"the Job failed ({why})")
            return
        self._conclude(vetting, status)

    def _overdue(self, status: dict[str, Any]) -> bool:
        started = st.parse_text(status.get("startedAt"))
        limit = self.config.job.active_deadline_seconds + DEADLINE_GRACE_SECONDS
        return started is not None and (datetime.now(UTC) - started).total_seconds() > limit

    def _finish_job(
        self, vetting: dict[str, Any], status: dict[str, Any], reason: str, message: str
    ) -> None:
        """A failed or timed-out Job: a source error it reported is retried if transient."""
        try:
            line = read_result(self.api, str(status["jobName"]))
            self.publisher.accept(line, _reference(vetting))
        except SourceFailed as exc:
            self._retry_or_fail(vetting, status, "SourceError", str(exc), transient=exc.transient)
            return
        except Exception:  # no usable result: the Job's own failure is the reason
            log.debug("no result from failed job %s", status.get("jobName"))
        retried = reason == "JobFailed"
        self._retry_or_fail(vetting, status, reason, message, transient=retried)

    def _conclude(self, vetting: dict[str, Any], status: dict[str, Any]) -> None:
        reference = _reference(vetting)
        try:
            line = read_result(self.api, str(status["jobName"]))
            accepted = self.publisher.accept(line, reference)
        except MalformedResult as exc:
            self._fail(vetting, status, "MalformedResult", str(exc))
            return
        except ResultRejected as exc:
            self._fail(vetting, status, exc.reason, str(exc))
            return
        except SourceFailed as exc:
            self._retry_or_fail(vetting, status, "SourceError", str(exc), transient=exc.transient)
            return
        outcome = accepted.verdict.outcome
        digest = hashlib.sha256(line.encode()).hexdigest()
        claimed = self.api.write_status(vetting, st.publishing(status, digest, outcome))
        if accepted.disagrees:  # reported by the one replica whose claim was written
            self.metrics.claim_mismatches.inc()
            self.api.event(
                vetting,
                "Warning",
                "ClaimMismatch",
                f"the worker claimed {accepted.claimed}; the policies here say {outcome}",
            )
        signed, stored = self.publisher.publish(accepted)
        message = f"{outcome} verdict {stored} for {reference}"
        done = st.succeeded(
            dict(claimed.get("status") or {}),
            verdict=stored,
            outcome=outcome,
            digest=signed.digest,
            bundle=self.publisher.bundle_revision,
            scanner=self.publisher.scanner,
            message=message,
        )
        self.api.write_status(claimed, done)
        self.api.event(vetting, "Normal" if outcome == "allow" else "Warning", "Vetted", message)
        self.metrics.outcomes.labels(outcome).inc()
        self._observe_duration(status)
        self.api.delete_job(str(status["jobName"]))

    def _retry_or_fail(
        self,
        vetting: dict[str, Any],
        status: dict[str, Any],
        reason: str,
        message: str,
        *,
        transient: bool,
    ) -> None:
        attempts = int(status.get("attempts") or 0)
        queue = self.config.queue
        if transient and attempts < queue.max_attempts:
            delay = min(queue.retry_base_seconds * 2 ** (attempts - 1), queue.retry_max_seconds)
            self.api.write_status(vetting, st.retry(status, reason, message, delay))
            self.api.event(vetting, "Warning", reason, f"{message}; retrying in {delay:.0f}s")
        else:
            self._fail(vetting, status, reason, message)
        if status.get("jobName"):
            self.api.delete_job(str(status["jobName"]))

    def _fail(
        self, vetting: dict[str, Any], status: dict[str, Any], reason: str, message: str
    ) -> None:
        self.api.write_status(vetting, st.failed(status, reason, message))
        self.api.event(vetting, "Warning", reason, message)
        self.metrics.outcomes.labels("failed").inc()

    def _observe_duration(self, status: dict[str, Any]) -> None:
        started = st.parse_text(status.get("startedAt"))
        if started is not None:
            self.metrics.duration.observe((datetime.now(UTC) - started).total_seconds())


def _reference(vetting: dict[str, Any]) -> str:
    return ModelRef.parse(spec_reference(vetting)).canonical


def _reference_key(vetting: dict[str, Any]) -> str:
    """The canonical reference, for deduplication (the raw text when it does not parse)."""
    try:
        return _reference(vetting)
    except (MalformedVetting, InvalidReference):
        return str((vetting.get("spec") or {}).get("reference"))

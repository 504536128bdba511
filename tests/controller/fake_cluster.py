"""An in-memory ``ClusterApi`` with the API server's rules the controller relies on.

Writes to a ModelVetting's status are conditional on the resourceVersion they were read at (a
stale write raises ``Conflict``), Job names are unique (a second create is refused), and deleting
a Job deletes its pods. The test plays the Job controller and the kubelet through ``complete``,
``fail`` and ``advance``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from modelward.controller import status as st
from modelward.controller.cluster import Conflict
from modelward.controller.jobs import CONTAINER

START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    namespace: str
    name: str
    kind: str
    reason: str
    message: str


class FakeCluster:
    """The calls ``Reconciler`` and ``Revetter`` make, on dicts in memory."""

    namespace = "modelward"

    def __init__(self) -> None:
        self.vettings: dict[tuple[str, str], dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, list[dict[str, Any]]] = {}  # by Job name
        self.logs: dict[str, str] = {}  # by pod name
        self.events: list[Event] = []
        self.created_jobs: list[str] = []
        self.status_writes = 0
        #: Called once, the next time a Job's pods are listed (to let another writer move first).
        self.on_job_pods: Callable[[], None] | None = None
        self._version = 0

    # ---------------------------------------------------------------- ModelVettings

    def list_vettings(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(v) for _, v in sorted(self.vettings.items())]

    def create_vetting(self, body: dict[str, Any]) -> bool:
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        if key in self.vettings:
            return False
        stored = copy.deepcopy(body)
        order = len(self.vettings)
        stored["metadata"].update(
            uid=f"uid-{order}",
            creationTimestamp=st.now_text(START + timedelta(seconds=order)),
            resourceVersion=self._next_version(),
        )
        self.vettings[key] = stored
        return True

    def write_status(self, vetting: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        meta = vetting["metadata"]
        stored = self.vettings.get((meta["namespace"], meta["name"]))
        if stored is None or stored["metadata"]["resourceVersion"] != meta["resourceVersion"]:
            raise Conflict(f"{meta['namespace']}/{meta['name']}: the object has been modified")
        stored["status"] = copy.deepcopy(status)
        stored["metadata"]["resourceVersion"] = self._next_version()
        self.status_writes += 1
        return copy.deepcopy(stored)

    def status(self, namespace: str, name: str) -> dict[str, Any]:
        status: dict[str, Any] = self.vettings[(namespace, name)].get("status") or {}
        return status

    # ---------------------------------------------------------------- Jobs and pods

    def list_jobs(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.jobs)

    def create_job(self, body: dict[str, Any]) -> bool:
        name = body["metadata"]["name"]
        if name in self.jobs:
            return False
        self.jobs[name] = {**copy.deepcopy(body), "status": {}}
        self.created_jobs.append(name)
        return True

    def delete_job(self, name: str) -> None:
        self.jobs.pop(name, None)
        for pod in self.pods.pop(name, []):
            self.logs.pop(pod["metadata"]["name"], None)

    def job_pods(self, job: str) -> list[dict[str, Any]]:
        pods = copy.deepcopy(self.pods.get(job, []))
        hook, self.on_job_pods = self.on_job_pods, None
        if hook is not None:
            hook()
        return pods

    def pod_log(self, pod: str, container: str) -> str:
        assert container == CONTAINER
        return self.logs.get(pod, "")

    def event(self, vetting: dict[str, Any], kind: str, reason: str, message: str) -> None:
        meta = vetting["metadata"]
        self.events.append(Event(meta["namespace"], meta["name"], kind, reason, message))

    def reasons(self, name: str, namespace: str | None = None) -> list[str]:
        """The reasons of the events recorded on ``name`` (in ``namespace``), in order."""
        return [
            e.reason for e in self.events if e.name == name and namespace in (None, e.namespace)
        ]

    # ---------------------------------------------------------------- the test's side

    def add_pod(
        self, job: str, message: str, *, log: str = "", phase: str = "Succeeded", exit_code: int = 0
    ) -> str:
        """A pod of ``job`` whose worker container terminated with ``message``."""
        name = f"{job}-pod{len(self.pods.get(job, []))}"
        terminated = {"exitCode": exit_code, "message": message, "finishedAt": st.now_text()}
        pod = {
            "metadata": {"name": name, "labels": {"job-name": job}},
            "status": {
                "phase": phase,
                "containerStatuses": [{"name": CONTAINER, "state": {"terminated": terminated}}],
            },
        }
        self.pods.setdefault(job, []).append(pod)
        self.logs[name] = log
        return name

    def complete(self, job: str, message: str, *, log: str = "") -> None:
        """The Job succeeded; its pod left ``message`` (and ``log``)."""
        self.add_pod(job, message, log=log)
        self._condition(job, "Complete", "Completed")

    def fail(self, job: str, reason: str = "BackoffLimitExceeded", message: str = "") -> None:
        """The Job failed; its pod (when ``message``) left ``message``."""
        if message:
            self.add_pod(job, message, phase="Failed", exit_code=2)
        self._condition(job, "Failed", reason)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass for every recorded time the controller compares with now."""
        for vetting in self.vettings.values():
            status = vetting.get("status") or {}
            for key in ("startedAt", "nextAttemptAt"):
                moment = st.parse_text(status.get(key))
                if moment is not None:
                    status[key] = st.now_text(moment - timedelta(seconds=seconds))

    def _condition(self, job: str, kind: str, reason: str) -> None:
        conditions = [{"type": kind, "status": "True", "reason": reason}]
        self.jobs[job]["status"] = {"conditions": conditions}

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

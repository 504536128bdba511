"""Where a finished vetting Job stands, and the result line its pod handed back."""

from __future__ import annotations

from typing import Any, Literal

from modelward.controller.cluster import ClusterApi
from modelward.controller.jobs import CONTAINER
from modelward.engine.vetting.result import PREFIX, MalformedResult, find_in_log, parse_pointer

JobState = Literal["running", "complete", "failed"]


def job_state(job: dict[str, Any]) -> tuple[JobState, str]:
    """``(state, reason)`` from the Job's conditions (reason e.g. DeadlineExceeded)."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return "complete", condition.get("reason") or "Completed"
        if condition.get("type") == "Failed":
            return "failed", condition.get("reason") or "Failed"
    return "running", ""


def read_result(api: ClusterApi, job: str) -> str:
    """The result line of the Job's pod (the succeeded one, else the last to terminate).

    Raises ``MalformedResult`` when no pod left one.
    """
    pods = api.job_pods(job)
    terminated = [(pod, state) for pod in pods if (state := _terminated(pod)) is not None]
    if not terminated:
        raise MalformedResult(f"job {job}: no terminated pod")
    succeeded = [
        item for item in terminated if item[0].get("status", {}).get("phase") == "Succeeded"
    ]
    pod, state = (succeeded or sorted(terminated, key=lambda item: str(item[1].get("finishedAt"))))[
        -1
    ]
    message = str(state.get("message") or "").strip()
    name = pod["metadata"]["name"]
    if message.startswith(PREFIX):
        return message
    pointer = parse_pointer(message)
    if message and pointer is None:
        raise MalformedResult(f"pod {name}: its termination message is not a result")
    log = _log(api, name)
    if pointer is not None:
        return find_in_log(log, pointer)
    lines = [line for line in log.splitlines() if line.startswith(PREFIX)]
    if not lines:
        raise MalformedResult(f"pod {name}: no result in its termination message or log")
    return lines[-1]


def _log(api: ClusterApi, pod: str) -> str:
    try:
        return api.pod_log(pod, CONTAINER)
    except Exception as exc:  # the API server could not reach the node, or the pod is gone
        raise MalformedResult(f"pod {pod}: its log cannot be read ({_short(exc)})") from exc


def _short(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or type(exc).__name__)[:200]


def _terminated(pod: dict[str, Any]) -> dict[str, Any] | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == CONTAINER:
            terminated = (status.get("state") or {}).get("terminated")
            return terminated if isinstance(terminated, dict) else None
    return None

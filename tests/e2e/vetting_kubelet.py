"""Plays the Job controller and the kubelet for vetting Jobs on a control plane that has neither.

For a Job the controller created, ``JobPlayer.run(job)`` creates the Pod the Job controller would
(from ``spec.template``, owned by the Job, labelled ``job-name``), runs that pod's container
command with its arguments and environment on this host as the kubelet would (each volume mount
and the termination-message file are host folders; environment values naming them point there),
then reports through the API what the kubelet and the Job controller would: the container's
termination (exit code, the first 4096 bytes of the termination-message file as its message) in
the Pod's status, and ``Complete`` or ``Failed`` in the Job's status.

``report(...)`` reports an outcome without running anything, for the fault tests (a failed or
timed-out Job, a forged result).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client

NODE = "vetting-test-node"
#: What the kubelet keeps of a termination message.
TERMINATION_LIMIT = 4096


@dataclass
class Ran:
    exit_code: int
    message: str
    stdout: str
    stderr: str


class JobPlayer:
    def __init__(self, api: client.ApiClient, namespace: str, root: Path, env: dict[str, str]):
        self.core = client.CoreV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.namespace = namespace
        self.root = root
        self.host_env = env  # the node's environment (PATH to the modelward the image holds)

    def jobs(self) -> list[dict[str, Any]]:
        listed = self.batch.list_namespaced_job(
            self.namespace, label_selector="app.kubernetes.io/component=vetting-job"
        )
        api = self.batch.api_client
        return [api.sanitize_for_serialization(j) for j in listed.items]

    def run_pending(self) -> list[Ran]:
        """Run every Job that has not finished yet, oldest first."""
        waiting = [j for j in self.jobs() if not (j.get("status") or {}).get("conditions")]
        waiting.sort(key=lambda j: j["metadata"]["creationTimestamp"])
        return [self.run(job) for job in waiting]

    def run(self, job: dict[str, Any], *, edit: Any = None) -> Ran:
        """Run the Job's pod here and report it; ``edit(message) -> message`` forges the result."""
        pod = self._create_pod(job)
        ran = self._execute(job, pod)
        message = edit(ran.message) if edit is not None else ran.message
        self.report(job, exit_code=ran.exit_code, message=message, pod=pod)
        return ran

    def report(
        self,
        job: dict[str, Any],
        *,
        exit_code: int,
        message: str = "",
        job_reason: str | None = None,
        pod: dict[str, Any] | None = None,
    ) -> None:
        pod = pod or self._create_pod(job)
        now = _now()
        container = job["spec"]["template"]["spec"]["containers"][0]
        terminated = {
            "exitCode": exit_code,
            "reason": "Completed" if exit_code == 0 else "Error",
            "message": message[:TERMINATION_LIMIT],
            "startedAt": now,
            "finishedAt": now,
        }
        self.core.patch_namespaced_pod_status(
            pod["metadata"]["name"],
            self.namespace,
            {
                "status": {
                    "phase": "Succeeded" if exit_code == 0 else "Failed",
                    "containerStatuses": [
                        {
                            "name": container["name"],
                            "image": container["image"],
                            "imageID": "",
                            "ready": False,
                            "restartCount": 0,
                            "state": {"terminated": terminated},
                        }
                    ],
                }
            },
        )
        self._finish_job(job, exit_code == 0 and job_reason is None, job_reason)

    def _create_pod(self, job: dict[str, Any]) -> dict[str, Any]:
        template = job["spec"]["template"]
        meta = job["metadata"]
        labels = {**(template["metadata"].get("labels") or {}), "job-name": meta["name"]}
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": f"{meta['name']}-",
                "namespace": self.namespace,
                "labels": labels,
                "annotations": template["metadata"].get("annotations") or {},
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {**template["spec"], "nodeName": NODE},
        }
        created = self.core.create_namespaced_pod(self.namespace, body)
        return dict(self.core.api_client.sanitize_for_serialization(created))

    def _execute(self, job: dict[str, Any], pod: dict[str, Any]) -> Ran:
        spec = job["spec"]["template"]["spec"]
        container = spec["containers"][0]
        folder = self.root / pod["metadata"]["name"]
        mounts = {m["mountPath"]: folder / "volumes" / m["name"] for m in container["volumeMounts"]}
        termination = container.get("terminationMessagePath", "/dev/termination-log")
        for path in mounts.values():
            path.mkdir(parents=True)
        host_termination = folder / "termination-log"
        host_termination.touch()
        env = {**self.host_env}
        for item in container.get("env") or []:
            env[item["name"]] = _on_host(item["value"], mounts, termination, host_termination)
        argv = [*container["command"], *container.get("args", [])]
        argv[0] = shutil.which(argv[0], path=env["PATH"]) or argv[0]
        timeout = job["spec"].get("activeDeadlineSeconds") or 600
        proc = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, check=False,
            cwd=folder,
        )  # fmt: skip
        message = host_termination.read_text(errors="replace")[:TERMINATION_LIMIT]
        return Ran(proc.returncode, message, proc.stdout, proc.stderr)

    def _finish_job(self, job: dict[str, Any], succeeded: bool, reason: str | None) -> None:
        now = _now()
        name = job["metadata"]["name"]
        if succeeded:
            conditions = [
                _condition("SuccessCriteriaMet", "CompletionsReached", now),
                _condition("Complete", "CompletionsReached", now),
            ]
            status = {"startTime": now, "completionTime": now, "succeeded": 1}
        else:
            why = reason or "BackoffLimitExceeded"
            conditions = [_condition("FailureTarget", why, now), _condition("Failed", why, now)]
            status = {"startTime": now, "failed": 1}
        status["conditions"] = conditions
        self.batch.patch_namespaced_job_status(name, self.namespace, {"status": status})


def _on_host(value: str, mounts: dict[str, Path], termination: str, host_termination: Path) -> str:
    if value == termination:
        return str(host_termination)
    for mount, path in mounts.items():
        if value == mount or value.startswith(mount.rstrip("/") + "/"):
            return str(path) + value[len(mount.rstrip("/")) :]
    return value


def _condition(kind: str, reason: str, now: str) -> dict[str, str]:
    return {
        "type": kind, "status": "True", "reason": reason, "message": "",
        "lastProbeTime": now, "lastTransitionTime": now,
    }  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_env() -> dict[str, str]:
    """The environment a vetting container starts from here: the venv's bin first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("KUBECONFIG", None)
    return env

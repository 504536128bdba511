"""The Job one vetting attempt runs in: one pod that reads the hostile bytes, isolated.

The pod gets no service account token, no key and no writable root; it runs ``modelward vetting
run REFERENCE`` and hands its result back through its termination message (or, when larger, its
log). Everything it may write is an emptyDir.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from modelward.controller.config import ControllerConfig

CONTAINER = "vet"
WORK_DIR = "/work"
#: The file the kubelet keeps as the termination message; the worker writes its result there.
RESULT_PATH = "/run/modelward/result"
UID = 65532
COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT = "vetting-job"
VETTING_LABEL = "modelward.dev/vetting"
VETTING_NAMESPACE_LABEL = "modelward.dev/vetting-namespace"
ATTEMPT_ANNOTATION = "modelward.dev/attempt"
REFERENCE_ANNOTATION = "modelward.dev/reference"
#: The controller's policy configuration, handed to the worker as JSON: the facts it collects
#: (look-alike publishers, signature and BOM checks) depend on it.
POLICY_DATA_ENV = "MODELWARD_POLICY_DATA"
#: The longest label value the API server accepts.
MAX_LABEL_VALUE = 63


def job_name(vetting: dict[str, Any], attempt: int) -> str:
    """Deterministic per request and attempt, so a restarted controller finds its own Job."""
    meta = vetting["metadata"]
    key = f"{meta['namespace']}/{meta['name']}/{meta.get('uid', '')}"
    return f"mwv-{hashlib.sha256(key.encode()).hexdigest()[:16]}-{attempt}"


def label_value(text: str) -> str:
    """``text``, or for a name longer than a label value may be, its start and its hash."""
    if len(text) <= MAX_LABEL_VALUE:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[: MAX_LABEL_VALUE - 17]}-{digest}"


def job_for(
    vetting: dict[str, Any],
    reference: str,
    attempt: int,
    config: ControllerConfig,
    policy_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Job body for ``attempt`` of ``vetting`` (whose canonical reference is ``reference``);
    ``policy_config`` is the configuration the controller's policies run with."""
    meta = vetting["metadata"]
    labels = {
        "app.kubernetes.io/name": "modelward",
        "app.kubernetes.io/managed-by": "modelward",
        COMPONENT_LABEL: COMPONENT,
        VETTING_LABEL: label_value(meta["name"]),
        VETTING_NAMESPACE_LABEL: meta["namespace"],
    }
    annotations = {REFERENCE_ANNOTATION: reference, ATTEMPT_ANNOTATION: str(attempt)}
    job = config.job
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(vetting, attempt),
            "namespace": config.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "activeDeadlineSeconds": job.active_deadline_seconds,
            "backoffLimit": job.backoff_limit,
            "ttlSecondsAfterFinished": job.ttl_seconds_after_finished,
            "template": {
                "metadata": {
                    "labels": {**job.pod_labels, **labels},
                    "annotations": {**job.pod_annotations, **annotations},
                },
                "spec": _pod_spec(reference, config, policy_config),
            },
        },
    }


def _pod_spec(
    reference: str, config: ControllerConfig, policy_config: dict[str, Any] | None
) -> dict[str, Any]:
    job = config.job
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(reference, config, policy_config)],
        "volumes": [
            {"name": "work", "emptyDir": {"sizeLimit": job.work_dir_size}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        ],
    }
    if job.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": n} for n in job.image_pull_secrets]
    if job.node_selector:
        spec["nodeSelector"] = dict(job.node_selector)
    if job.tolerations:
        spec["tolerations"] = list(job.tolerations)
    if job.priority_class_name:
        spec["priorityClassName"] = job.priority_class_name
    return spec


def _container(
    reference: str, config: ControllerConfig, policy_config: dict[str, Any] | None
) -> dict[str, Any]:
    job = config.job
    env = {
        **job.env,
        "HOME": f"{WORK_DIR}/home",
        "TMPDIR": "/tmp",  # noqa: S108  # the pod's own emptyDir
        "MODELWARD_CACHE_DIR": f"{WORK_DIR}/cache",
        "HF_HOME": f"{WORK_DIR}/hf",
        "MODELWARD_RESULT_FILE": RESULT_PATH,
    }
    if policy_config:
        env[POLICY_DATA_ENV] = json.dumps(policy_config, sort_keys=True, default=str)
    return {
        "name": CONTAINER,
        "image": job.image,
        "imagePullPolicy": job.image_pull_policy,
        "command": ["modelward"],
        "args": ["vetting", "run", "--", reference],
        "env": [{"name": k, "value": v} for k, v in sorted(env.items())],
        "resources": {k: dict(v) for k, v in job.resources.items()},
        "terminationMessagePath": RESULT_PATH,
        "terminationMessagePolicy": "File",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "work", "mountPath": WORK_DIR},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
        ],
    }

"""The vetting Job body: every isolation setting, what comes from the configuration, its name."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.controller.jobs import (
    ATTEMPT_ANNOTATION,
    COMPONENT,
    COMPONENT_LABEL,
    CONTAINER,
    REFERENCE_ANNOTATION,
    RESULT_PATH,
    UID,
    VETTING_LABEL,
    VETTING_NAMESPACE_LABEL,
    job_for,
    job_name,
)
from tests.controller.builders import controller_config

REFERENCE = "hf://org/model@" + "0123456789abcdef" * 2 + "01234567"


def vetting(name: str = "vet-abc", namespace: str = "ml-team", uid: str = "u-1") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "uid": uid}}


def pod_of(job: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = job["spec"]["template"]["spec"]
    return pod


def container_of(job: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod_of(job)["containers"]
    assert container["name"] == CONTAINER
    return dict(container)


@pytest.fixture
def job() -> dict[str, Any]:
    return job_for(vetting(), REFERENCE, 1, controller_config())


def test_the_pod_runs_as_nobody_without_a_token_or_host_access(job: dict[str, Any]) -> None:
    pod = pod_of(job)
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["restartPolicy"] == "Never"
    assert (pod["hostNetwork"], pod["hostPID"], pod["hostIPC"]) == (False, False, False)
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert UID != 0


def test_the_container_is_locked_down(job: dict[str, Any]) -> None:
    security = container_of(job)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["privileged"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert "add" not in security["capabilities"]
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}


def test_only_emptydirs_are_writable(job: dict[str, Any]) -> None:
    volumes = {v["name"]: v for v in pod_of(job)["volumes"]}
    assert set(volumes) == {"work", "tmp"}
    assert all(set(v) == {"name", "emptyDir"} for v in volumes.values())
    assert volumes["work"]["emptyDir"]["sizeLimit"] == "50Gi"
    assert volumes["tmp"]["emptyDir"]["sizeLimit"]
    mounts = {m["mountPath"]: m["name"] for m in container_of(job)["volumeMounts"]}
    assert mounts == {"/work": "work", "/tmp": "tmp"}


def test_the_worker_runs_the_reference_after_a_double_dash(job: dict[str, Any]) -> None:
    container = container_of(job)
    assert container["command"] == ["modelward"]
    assert container["args"] == ["vetting", "run", "--", REFERENCE]
    assert container["terminationMessagePath"] == RESULT_PATH
    assert container["terminationMessagePolicy"] == "File"
    env = {e["name"]: e for e in container["env"]}
    assert env["MODELWARD_RESULT_FILE"]["value"] == RESULT_PATH
    assert all(set(e) == {"name", "value"} for e in env.values()), "no Secret reaches the worker"


def test_a_reference_that_looks_like_an_option_stays_an_argument() -> None:
    job = job_for(vetting(), "--registry=evil", 1, controller_config())
    assert container_of(job)["args"] == ["vetting", "run", "--", "--registry=evil"]


def test_deadline_backoff_and_resources_come_from_the_configuration() -> None:
    config = controller_config(
        job={
            "active_deadline_seconds": 120,
            "backoff_limit": 0,
            "ttl_seconds_after_finished": 60,
            "image": "registry.example/modelward:9",
            "image_pull_policy": "Always",
            "resources": {"limits": {"cpu": "3", "memory": "5Gi"}},
            "work_dir_size": "7Gi",
            "env": {"HTTPS_PROXY": "http://proxy:3128", "HOME": "/root"},
        }
    )
    job = job_for(vetting(), REFERENCE, 2, config)
    spec = job["spec"]
    assert (spec["activeDeadlineSeconds"], spec["backoffLimit"]) == (120, 0)
    assert spec["ttlSecondsAfterFinished"] == 60
    container = container_of(job)
    assert container["image"] == "registry.example/modelward:9"
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == {"limits": {"cpu": "3", "memory": "5Gi"}}
    assert pod_of(job)["volumes"][0]["emptyDir"]["sizeLimit"] == "7Gi"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["HTTPS_PROXY"] == "http://proxy:3128"
    assert env["HOME"] == "/work/home", "the configuration cannot move HOME off the emptyDir"


def test_default_deadline_and_resources() -> None:
    job = job_for(vetting(), REFERENCE, 1, controller_config())
    assert (job["spec"]["activeDeadlineSeconds"], job["spec"]["backoffLimit"]) == (900, 1)
    resources = container_of(job)["resources"]
    assert resources["limits"]["memory"] == "4Gi" and resources["requests"]["cpu"] == "1"


def test_labels_and_annotations_name_the_request_and_attempt() -> None:
    config = controller_config(
        namespace="vetting", job={"pod_labels": {"team": "x", VETTING_LABEL: "spoofed"}}
    )
    job = job_for(vetting("vet-1", "ml-team"), REFERENCE, 3, config)
    meta = job["metadata"]
    assert meta["namespace"] == "vetting"
    assert meta["labels"][COMPONENT_LABEL] == COMPONENT
    assert meta["labels"][VETTING_LABEL] == "vet-1"
    assert meta["labels"][VETTING_NAMESPACE_LABEL] == "ml-team"
    assert meta["annotations"] == {REFERENCE_ANNOTATION: REFERENCE, ATTEMPT_ANNOTATION: "3"}
    pod_meta = job["spec"]["template"]["metadata"]
    assert pod_meta["labels"]["team"] == "x"
    assert pod_meta["labels"][VETTING_LABEL] == "vet-1", "the controller's labels win"
    assert pod_meta["annotations"][ATTEMPT_ANNOTATION] == "3"


def test_scheduling_settings_appear_only_when_configured() -> None:
    plain = pod_of(job_for(vetting(), REFERENCE, 1, controller_config()))
    for key in ("imagePullSecrets", "nodeSelector", "tolerations", "priorityClassName"):
        assert key not in plain
    config = controller_config(
        job={
            "image_pull_secrets": ["pull"],
            "node_selector": {"pool": "vetting"},
            "tolerations": [{"key": "vetting", "operator": "Exists"}],
            "priority_class_name": "low",
        }
    )
    pod = pod_of(job_for(vetting(), REFERENCE, 1, config))
    assert pod["imagePullSecrets"] == [{"name": "pull"}]
    assert pod["nodeSelector"] == {"pool": "vetting"}
    assert pod["tolerations"] == [{"key": "vetting", "operator": "Exists"}]
    assert pod["priorityClassName"] == "low"


def test_job_name_is_deterministic_per_request_and_attempt() -> None:
    first = job_name(vetting(), 1)
    assert first == job_name(vetting(), 1)
    assert first != job_name(vetting(), 2)
    assert first != job_name(vetting(uid="u-2"), 1), "a recreated request gets new Jobs"
    assert first != job_name(vetting(namespace="other"), 1)
    assert first.endswith("-1") and job_name(vetting(), 2).endswith("-2")


def test_job_name_is_a_short_dns_label_whatever_the_request_name() -> None:
    long = vetting(name="v" * 253, namespace="n" * 63, uid="u" * 36)
    for attempt in (1, 20):
        name = job_name(long, attempt)
        # The Job controller labels pods job-name=<name>: a label value is at most 63 chars.
        assert len(name) <= 63
        assert name == name.lower() and name.replace("-", "").isalnum()
        assert name[0].isalpha() and name[-1].isalnum()
    assert job_for(long, REFERENCE, 1, controller_config())["metadata"]["name"] == job_name(long, 1)


def test_a_long_request_name_still_gives_valid_distinct_labels() -> None:
    config = controller_config()
    names = ["v" * 200 + "-a", "v" * 200 + "-b"]
    labels = [job_for(vetting(n), REFERENCE, 1, config)["metadata"]["labels"] for n in names]
    values = [label[VETTING_LABEL] for label in labels]
    assert all(len(value) <= 63 and value[-1].isalnum() for value in values)
    assert values[0] != values[1]
    for label in labels:
        assert all(len(value) <= 63 for value in label.values())

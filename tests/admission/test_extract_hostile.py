"""Hostile objects: wrong types and absurd sizes raise ``MalformedObject``, nothing else."""

from __future__ import annotations

import copy
import shlex
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelward.admission.errors import MalformedObject
from modelward.admission.workloads.extract import ModelReference, extract_references
from modelward.admission.workloads.fields import MAX_ENTRIES, MAX_TEXT
from tests.admission import manifest

DEPLOYMENT = manifest(
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: chat
      annotations: {modelward.dev/models: org/annotated}
    spec:
      template:
        metadata: {annotations: {modelward.dev/models: org/template}}
        spec:
          initContainers:
          - name: storage-initializer
            args: ["hf://org/m", "/mnt/models"]
            volumeMounts: [{name: models, mountPath: /mnt/models}]
          containers:
          - name: vllm
            image: vllm/vllm-openai:v0.9.1
            command: ["/bin/sh", "-c"]
            args: ["vllm serve /mnt/models --tokenizer org/tok"]
            env: [{name: MODEL_ID, value: org/env}]
            volumeMounts: [{name: models, mountPath: /mnt/models}]
          volumes:
          - {name: models, emptyDir: {}}
          - {name: weights, image: {reference: "quay.io/org/model:1"}}
    """
)
SERVICE = manifest(
    """
    apiVersion: serving.kserve.io/v1beta1
    kind: InferenceService
    metadata: {name: m}
    spec:
      predictor:
        model: {modelFormat: {name: huggingface}, storageUri: "hf://org/m", args: ["--x"]}
        containers: [{name: side, env: [{name: STORAGE_URI, value: "s3://b/m"}]}]
        workerSpec: {containers: [{name: worker}]}
    """
)
POD_SPEC = "spec.template.spec"
CONTAINER = "spec.template.spec.containers[0]"


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with the field at dotted ``path`` (``a.b[0].c``) set to ``value``."""
    result = copy.deepcopy(obj)
    node: Any = result
    keys: list[str | int] = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        keys.append(name)
        if index:
            keys.append(int(index.rstrip("]")))
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return result


@pytest.mark.parametrize(
    ("path", "value", "reported"),
    [
        ("kind", 7, "kind"),
        ("metadata", [], "metadata"),
        ("metadata.annotations", "x", "metadata.annotations"),
        ("metadata.annotations", {"modelward.dev/models": 1}, "metadata.annotations"),
        ("spec", "template", "spec"),
        (POD_SPEC, [], POD_SPEC),
        (f"{POD_SPEC}.containers", {"name": "x"}, f"{POD_SPEC}.containers"),
        (f"{POD_SPEC}.containers[0]", "vllm", f"{POD_SPEC}.containers[0]"),
        (f"{CONTAINER}.args", "vllm serve org/m", f"{CONTAINER}.args"),
        (f"{CONTAINER}.args", [1], f"{CONTAINER}.args[0]"),
        (f"{CONTAINER}.command", [None], f"{CONTAINER}.command[0]"),
        (f"{CONTAINER}.env", {"MODEL_ID": "x"}, f"{CONTAINER}.env"),
        (f"{CONTAINER}.env", [{"value": "org/m"}], f"{CONTAINER}.env[0].name"),
        (f"{CONTAINER}.env", [{"name": "MODEL_ID", "value": 3}], f"{CONTAINER}.env[0].value"),
        (f"{CONTAINER}.env", [{"name": "M", "valueFrom": "s"}], f"{CONTAINER}.env[0].valueFrom"),
        (f"{CONTAINER}.envFrom", {}, f"{CONTAINER}.envFrom"),
        (f"{CONTAINER}.image", ["a"], f"{CONTAINER}.image"),
        (f"{CONTAINER}.name", {}, f"{CONTAINER}.name"),
        (f"{CONTAINER}.volumeMounts", [{"name": 1}], f"{CONTAINER}.volumeMounts[0].name"),
        (f"{POD_SPEC}.volumes", "models", f"{POD_SPEC}.volumes"),
        (f"{POD_SPEC}.volumes[1].image", "quay.io/x", f"{POD_SPEC}.volumes[1].image"),
        (f"{POD_SPEC}.volumes[1].image.reference", {}, f"{POD_SPEC}.volumes[1].image.reference"),
    ],
)
def test_wrong_types_raise_malformed_object(path: str, value: Any, reported: str) -> None:
    with pytest.raises(MalformedObject) as caught:
        extract_references(_set(DEPLOYMENT, path, value))
    assert caught.value.path.startswith(reported)
    assert str(caught.value).startswith(caught.value.path)


@pytest.mark.parametrize("obj", [[], "Pod", None, 3])
def test_an_object_that_is_no_mapping_is_malformed(obj: Any) -> None:
    with pytest.raises(MalformedObject):
        extract_references(obj)


def test_size_limits() -> None:
    container = {"name": "c", "image": "busybox"}
    too_many = _set(DEPLOYMENT, f"{POD_SPEC}.containers", [container] * (MAX_ENTRIES + 1))
    too_long = _set(DEPLOYMENT, f"{CONTAINER}.args", ["x" * (MAX_TEXT + 1)])
    too_long_total = _set(DEPLOYMENT, f"{CONTAINER}.args", ["x" * (MAX_TEXT // 2 + 1)] * 2)
    long_env = _set(DEPLOYMENT, f"{CONTAINER}.env", [{"name": "A", "value": "a" * (MAX_TEXT + 1)}])
    for obj in (too_many, too_long, too_long_total, long_env):
        with pytest.raises(MalformedObject):
            extract_references(obj)


def test_env_expansion_cannot_blow_up() -> None:
    env = [{"name": "V0", "value": "x" * 1024}]
    env += [{"name": f"V{i}", "value": f"$(V{i - 1})$(V{i - 1})"} for i in range(1, 40)]
    with pytest.raises(MalformedObject, match="expands beyond"):
        extract_references(_set(DEPLOYMENT, f"{CONTAINER}.env", env))


def test_shells_nested_too_deep_are_unresolvable() -> None:
    script = "vllm serve org/m"
    for _ in range(5):
        script = "sh -c " + shlex.quote(script)
    refs = extract_references(_set(DEPLOYMENT, f"{CONTAINER}.args", [script]))
    nested = [ref for ref in refs if ref.source == "shell"]
    assert [ref.reference for ref in nested] == [None]
    assert "nested more than" in (nested[0].unresolvable or "")


def test_expansion_work_is_bounded_per_object() -> None:
    big = "x" * (MAX_TEXT - 16)
    env = [{"name": "BIG", "value": big}] + [
        {"name": f"COPY{i}", "value": "$(BIG)"} for i in range(200)
    ]
    with pytest.raises(MalformedObject, match="MiB of text to read or expand"):
        extract_references(_set(DEPLOYMENT, f"{CONTAINER}.env", env))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "Pod",
            "Deployment",
            "CronJob",
            "InferenceService",
            "LLMInferenceService",
            "TrainedModel",
            "sh",
            "-c",
            "vllm",
            "serve",
            "--model",
            "$(A)",
            "'",
            '"',
            "hf://o/m",
            "http://[x",
            "/mnt/models",
            "storage-initializer",
            "modelcar",
            "kitops-init",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "kind",
                    "name",
                    "value",
                    "valueFrom",
                    "args",
                    "command",
                    "env",
                    "envFrom",
                    "image",
                    "containers",
                    "initContainers",
                    "volumes",
                    "spec",
                    "template",
                    "jobTemplate",
                    "model",
                    "uri",
                    "storageUri",
                    "storageUris",
                    "storage",
                    "predictor",
                    "metadata",
                    "annotations",
                    "modelward.dev/models",
                    "reference",
                    "csi",
                    "driver",
                    "volumeAttributes",
                    "modelRef",
                    "volumeMounts",
                    "mountPath",
                    "modelFormat",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)
POSITIONS = [
    (DEPLOYMENT, "spec"),
    (DEPLOYMENT, "metadata"),
    (DEPLOYMENT, "spec.template"),
    (DEPLOYMENT, POD_SPEC),
    (DEPLOYMENT, f"{POD_SPEC}.containers"),
    (DEPLOYMENT, f"{POD_SPEC}.initContainers[0]"),
    (DEPLOYMENT, f"{CONTAINER}.args"),
    (DEPLOYMENT, f"{CONTAINER}.env"),
    (DEPLOYMENT, f"{CONTAINER}.env[0]"),
    (DEPLOYMENT, f"{POD_SPEC}.volumes"),
    (DEPLOYMENT, f"{POD_SPEC}.volumes[1]"),
    (SERVICE, "spec"),
    (SERVICE, "spec.predictor"),
    (SERVICE, "spec.predictor.model"),
    (SERVICE, "spec.predictor.containers"),
    (SERVICE, "spec.predictor.workerSpec"),
]


def _outcome(obj: Any) -> list[ModelReference] | MalformedObject:
    try:
        return extract_references(obj)
    except MalformedObject as exc:
        return exc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=JSON)
def test_random_trees_at_the_top_level(tree: Any) -> None:
    for obj in (tree, {"kind": "Pod", "spec": tree}, {"kind": "CronJob", "spec": tree}):
        outcome = _outcome(obj)
        assert isinstance(outcome, MalformedObject | list)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=JSON, position=st.sampled_from(POSITIONS))
def test_random_trees_in_nested_positions(tree: Any, position: tuple[dict[str, Any], str]) -> None:
    base, path = position
    outcome = _outcome(_set(base, path, tree))
    assert isinstance(outcome, MalformedObject | list)
    if isinstance(outcome, list):
        assert all(isinstance(ref, ModelReference) for ref in outcome)


@settings(max_examples=300, deadline=None)
@given(script=st.text(max_size=200))
def test_random_shell_scripts_never_raise(script: str) -> None:
    refs = extract_references(_set(DEPLOYMENT, f"{CONTAINER}.args", [script]))
    assert all(isinstance(ref, ModelReference) for ref in refs)


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.text(max_size=30), max_size=12), image=st.text(max_size=30))
def test_random_command_lines_never_raise(words: list[str], image: str) -> None:
    obj = _set(DEPLOYMENT, f"{CONTAINER}.command", words)
    obj = _set(obj, f"{CONTAINER}.image", image + "vllm-openai")
    refs = extract_references(obj)
    assert all(isinstance(ref, ModelReference) for ref in refs)

"""Model references of workload objects: kinds, annotation, env, paths and deduplication."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelward.admission.workloads.extract import ModelReference, extract_references
from tests.admission import extract, manifest, only

SHA = "0123456789abcdef0123456789abcdef01234567"
VALUE_FROM = "set from a Secret/ConfigMap at runtime (valueFrom); admission cannot see the value"
PATH_UNSEEN = "a path inside the container; admission cannot see what it holds"

POD_SPEC = {
    "containers": [
        {
            "name": "server",
            "image": "vllm/vllm-openai:v0.9.1",
            "args": ["--model", "Qwen/Qwen2.5-0.5B-Instruct", "--port", "8000"],
        }
    ]
}


def _wrapped(kind: str) -> tuple[dict[str, Any], str]:
    """An object of ``kind`` around ``POD_SPEC`` and the path of its pod spec."""
    template = {"metadata": {"labels": {"app": "llm"}}, "spec": POD_SPEC}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "spec": POD_SPEC}, "spec"
    if kind == "CronJob":
        job = {"spec": {"template": template}}
        obj = {"apiVersion": "batch/v1", "kind": kind, "spec": {"jobTemplate": job}}
        return obj, "spec.jobTemplate.spec.template.spec"
    group = "batch/v1" if kind == "Job" else "apps/v1"
    return {"apiVersion": group, "kind": kind, "spec": {"template": template}}, "spec.template.spec"


@pytest.mark.parametrize(
    "kind",
    [
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
    ],
)
def test_every_workload_kind_reaches_its_pod_spec(kind: str) -> None:
    obj, spec_path = _wrapped(kind)
    assert extract_references(obj) == [
        ModelReference(
            raw="Qwen/Qwen2.5-0.5B-Instruct",
            reference="hf://Qwen/Qwen2.5-0.5B-Instruct",
            pinned=False,
            origin=f"{spec_path}.containers[0].args[1]",
            container="server",
            source="vllm",
        )
    ]


@pytest.mark.parametrize("kind", ["ConfigMap", "Service", "Secret", "ServingRuntime", "", None])
def test_other_kinds_have_no_references(kind: str | None) -> None:
    obj = {
        "kind": kind,
        "metadata": {"annotations": {"modelward.dev/models": "org/model"}},
        "spec": POD_SPEC,
        "data": {"MODEL_ID": "org/model"},
    }
    assert extract_references(obj) == []


def test_annotation_adds_references_from_object_and_template() -> None:
    refs = extract(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: chat
          annotations:
            modelward.dev/models: "org/from-object, s3://models/ranker"
        spec:
          template:
            metadata:
              annotations:
                modelward.dev/models: |
                  hf://org/from-template@main
                  oci://ghcr.io/org/embedder:1.0   not//valid
            spec:
              containers: [{name: app, image: example/app:1}]
        """
    )
    assert [(r.reference, r.source, r.container) for r in refs] == [
        ("hf://org/from-object", "annotation", None),
        ("s3://models/ranker", "annotation", None),
        ("hf://org/from-template@main", "annotation", None),
        ("oci://ghcr.io/org/embedder:1.0", "annotation", None),
        (None, "annotation", None),
    ]
    assert refs[0].origin == 'metadata.annotations["modelward.dev/models"]'
    assert refs[2].origin == 'spec.template.metadata.annotations["modelward.dev/models"]'
    assert refs[-1].raw == "not//valid"
    assert refs[-1].unresolvable


VLLM_WITH_ANNOTATION = """
apiVersion: v1
kind: Pod
metadata:
  name: chat
  annotations:
    modelward.dev/models: "{listed}"
spec:
  containers:
  - name: vllm
    image: vllm/vllm-openai:v0.9.1
    command: ["vllm", "serve", "mistralai/Mistral-7B-Instruct-v0.3"]
"""


@pytest.mark.parametrize(
    "listed", ["org/harmless", "mistralai/Mistral-7B-Instruct-v0.3", "", " , ", "-"]
)
def test_annotation_never_removes_or_replaces_a_found_reference(listed: str) -> None:
    refs = extract(VLLM_WITH_ANNOTATION.format(listed=listed))
    server = only(refs, source="vllm")
    assert server.reference == "hf://mistralai/Mistral-7B-Instruct-v0.3"
    assert server.container == "vllm"
    assert all(r.source == "annotation" for r in refs if r is not server)


def test_annotation_key_is_configurable() -> None:
    text = VLLM_WITH_ANNOTATION.format(listed="org/default-key")
    obj = manifest(text.replace("modelward.dev/models", "example.com/models"))
    refs = extract_references(obj, annotation="example.com/models")
    assert only(refs, source="annotation").reference == "hf://org/default-key"
    assert [r.source for r in extract_references(obj)] == ["vllm"]


ENV_POD = """
apiVersion: v1
kind: Pod
metadata: {name: worker}
spec:
  containers:
  - name: app
    image: example.com/team/inference:2.1
    envFrom:
    - configMapRef: {name: model-settings}
    env:
    - {name: MODEL_ID, value: "BAAI/bge-small-en-v1.5"}
    - {name: HF_MODEL_ID, value: "sentence-transformers/all-MiniLM-L6-v2"}
    - {name: HF_MODEL_REVISION, value: "{sha}"}
    - {name: STORAGE_URI, value: "gs://kfserving-examples/models/sklearn/1.0/model"}
    - {name: MODELKIT_REF, value: "jozu.ml/jozu/llama3-8b:8B-instruct-q4_0"}
    - {name: MODEL_PATH, value: "/opt/models/ranker"}
    - name: HF_TOKEN
      valueFrom: {secretKeyRef: {name: hf, key: token}}
""".replace("{sha}", SHA)


def test_generic_env_variables_name_models() -> None:
    refs = extract(ENV_POD)
    assert [(r.reference, r.pinned, r.unresolvable) for r in refs] == [
        ("hf://BAAI/bge-small-en-v1.5", False, None),
        (f"hf://sentence-transformers/all-MiniLM-L6-v2@{SHA}", True, None),
        ("gs://kfserving-examples/models/sklearn/1.0/model", False, None),
        ("oci://jozu.ml/jozu/llama3-8b:8B-instruct-q4_0", False, None),
        (None, False, PATH_UNSEEN),
    ]
    assert {r.source for r in refs} == {"env"}
    assert {r.container for r in refs} == {"app"}
    assert refs[0].origin == "spec.containers[0].env[0].value"


def test_value_from_is_unresolvable_and_env_from_adds_nothing() -> None:
    refs = extract(
        """
        kind: Pod
        spec:
          containers:
          - name: app
            image: example/app
            envFrom: [{secretRef: {name: models}}]
            env:
            - name: MODEL_ID
              valueFrom: {configMapKeyRef: {name: models, key: chat}}
            - name: STORAGE_URI
              valueFrom: {secretKeyRef: {name: models, key: uri}}
            - {name: MODEL_PATH, value: ""}
        """
    )
    assert [(r.raw, r.reference, r.unresolvable, r.origin) for r in refs] == [
        ("$MODEL_ID", None, VALUE_FROM, "spec.containers[0].env[0].valueFrom"),
        ("$STORAGE_URI", None, VALUE_FROM, "spec.containers[0].env[1].valueFrom"),
    ]


def test_kubernetes_variable_expansion_in_env_and_args() -> None:
    refs = extract(
        """
        kind: Pod
        spec:
          containers:
          - name: app
            image: vllm/vllm-openai:latest
            env:
            - {name: ORG, value: meta-llama}
            - {name: MODEL_ID, value: "$(ORG)/Llama-3.2-1B"}
            - name: SECRET_MODEL
              valueFrom: {secretKeyRef: {name: s, key: k}}
            args: ["--model", "$(MODEL_ID)", "--tokenizer", "$(SECRET_MODEL)",
                   "--speculative-model", "$$(ORG)/draft"]
        """
    )
    assert only(refs, source="env").reference == "hf://meta-llama/Llama-3.2-1B"
    server = [r for r in refs if r.source == "vllm"]
    assert [(r.raw, r.reference) for r in server] == [
        ("meta-llama/Llama-3.2-1B", "hf://meta-llama/Llama-3.2-1B"),
        ("${SECRET_MODEL}", None),
        ("$(ORG)/draft", None),
    ]
    assert "$SECRET_MODEL" in (server[1].unresolvable or "")


def _storage_uri_pod(uri: str) -> dict[str, Any]:
    env = [{"name": "STORAGE_URI", "value": uri}]
    return {"kind": "Pod", "spec": {"containers": [{"name": "c", "env": env}]}}


@pytest.mark.parametrize(
    ("uri", "reference", "pinned"),
    [
        ("gs://bucket/model", "gs://bucket/model", False),
        ("s3://bucket/path/model", "s3://bucket/path/model", False),
        ("pvc://claim/models/m", "pvc://claim/models/m", False),
        ("file:///models/m", "file:///models/m", False),
        ("https://example.com/m.joblib", "https://example.com/m.joblib", False),
        ("http://example.com/m.joblib", "http://example.com/m.joblib", False),
        ("hf://org/name", "hf://org/name", False),
        ("hf://org/name:main", "hf://org/name@main", False),
        (f"hf://org/name:{SHA}", f"hf://org/name@{SHA}", True),
        ("oci://quay.io/org/model:1.0", "oci://quay.io/org/model:1.0", False),
        (f"oci://q.io/m@sha256:{'a' * 64}", f"oci://q.io/m@sha256:{'a' * 64}", True),
        ("oci+native://quay.io/org/model:1.0", "oci://quay.io/org/model:1.0", False),
        ("oci+fetch://quay.io/org/model:1.0", "oci://quay.io/org/model:1.0", False),
        ("kit://jozu.ml/org/model:latest", "oci://jozu.ml/org/model:latest", False),
        ("model-registry://fraud/v3", "model-registry://fraud/v3", False),
        ("hdfs://namenode/models/m", "hdfs://namenode/models/m", False),
        ("webhdfs://namenode/models/m", "webhdfs://namenode/models/m", False),
    ],
)
def test_storage_uri_schemes_normalise_through_modelref(
    uri: str, reference: str, pinned: bool
) -> None:
    ref = only(extract_references(_storage_uri_pod(uri)), source="env")
    assert (ref.reference, ref.pinned, ref.unresolvable) == (reference, pinned, None)


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("ftp://host/models/m", "unknown scheme 'ftp'"),
        ("s3://", "nothing after the scheme"),
        ("hf://not a repo", "contains whitespace"),
        ("org/name", "not a URI"),
        ("http://[fe80::1/model", "not a valid URI"),
    ],
)
def test_storage_uris_that_do_not_parse_are_unresolvable(uri: str, reason: str) -> None:
    ref = only(extract_references(_storage_uri_pod(uri)), source="env")
    assert (ref.raw, ref.reference, ref.pinned) == (uri, None, False)
    assert reason in (ref.unresolvable or "")


def test_every_container_list_is_scanned() -> None:
    refs = extract(
        """
        kind: Pod
        spec:
          initContainers:
          - {name: fetch, image: busybox, env: [{name: MODEL_ID, value: org/init}]}
          containers:
          - {name: main, image: busybox, env: [{name: MODEL_ID, value: org/main}]}
          ephemeralContainers:
          - {name: debug, image: busybox, env: [{name: MODEL_ID, value: org/debug}]}
        """
    )
    assert [(r.container, r.reference, r.origin) for r in refs] == [
        ("fetch", "hf://org/init", "spec.initContainers[0].env[0].value"),
        ("main", "hf://org/main", "spec.containers[0].env[0].value"),
        ("debug", "hf://org/debug", "spec.ephemeralContainers[0].env[0].value"),
    ]


PATHS_POD = """
kind: Pod
spec:
  volumes:
  - name: weights
    image: {reference: "registry.example.com/models/llama:3.1", pullPolicy: IfNotPresent}
  - name: scratch
    emptyDir: {}
  containers:
  - name: vllm
    image: vllm/vllm-openai:v0.9.1
    args: ["{path}"]
    volumeMounts:
    - {name: weights, mountPath: /models/llama}
    - {name: scratch, mountPath: /scratch}
"""


@pytest.mark.parametrize(
    ("path", "dropped"),
    [
        ("/models/llama", True),
        ("/models/llama/", True),
        ("/models/llama/instruct", True),
        ("/models/llama/../../etc", False),
        ("/models/llama-other", False),
        ("/scratch/model", False),
        ("./local-model", False),
    ],
)
def test_paths_are_references_only_outside_model_volumes(path: str, dropped: bool) -> None:
    refs = extract(PATHS_POD.replace("{path}", path))
    volume = only(refs, source="image-volume")
    assert volume.reference == "oci://registry.example.com/models/llama:3.1"
    served = [r for r in refs if r.source == "vllm"]
    if dropped:
        assert served == []
    else:
        assert [(r.raw, r.reference, r.unresolvable) for r in served] == [(path, None, PATH_UNSEEN)]


def test_duplicates_collapse_but_distinct_containers_and_sources_stay() -> None:
    refs = extract(
        """
        kind: Pod
        spec:
          containers:
          - name: a
            image: vllm/vllm-openai:v0.9.1
            command: ["sh", "-c"]
            args: ["vllm serve org/m --tokenizer org/m; vllm serve org/m --trust-remote-code"]
            env:
            - {name: MODEL_ID, value: org/m}
            - name: HF_MODEL_ID
              valueFrom: {secretKeyRef: {name: s, key: one}}
            - name: STORAGE_URI
              valueFrom: {secretKeyRef: {name: s, key: two}}
          - name: b
            image: vllm/vllm-openai:v0.9.1
            args: ["org/m"]
        """
    )
    keys = [(r.container, r.source, r.reference, r.trust_remote_code) for r in refs]
    assert keys == [
        ("a", "vllm", "hf://org/m", True),
        ("a", "env", "hf://org/m", False),
        ("a", "env", None, False),
        ("a", "env", None, False),
        ("b", "vllm", "hf://org/m", False),
    ]


def test_shared_admission_fixtures_hold_no_model_references(shared: Path) -> None:
    files = sorted((shared / "fixtures" / "admission").glob("*.json"))
    assert files
    for path in files:
        request = json.loads(path.read_text()).get("request") or {}
        assert extract_references(request.get("object") or {}) == [], path.name

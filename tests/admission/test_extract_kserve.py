"""KServe resources and mutated pods, image volumes, KitOps and ModelPack."""

from __future__ import annotations

import pytest

from tests.admission import extract, only

SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "c" * 64
MODEL_STORAGE = "the storage location is assembled at runtime from a storage Secret key"


def test_inference_service_components() -> None:
    refs = extract(
        """
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: fraud, namespace: risk}
        spec:
          predictor:
            minReplicas: 1
            model:
              modelFormat: {name: sklearn}
              storageUri: gs://kfserving-examples/models/sklearn/1.0/model
              args: ["--model_name=fraud", "--model_dir=/mnt/models"]
          transformer:
            containers:
            - name: kserve-container
              image: example.com/fraud-transformer:1.2
              args: ["--model_name", "fraud"]
              env:
              - {name: STORAGE_URI, value: "s3://features/transformer"}
          explainer:
            art:
              type: SquareAttack
              storageUri: pvc://explainers/fraud
        """
    )
    assert [(r.reference, r.source, r.container, r.origin) for r in refs] == [
        (
            "gs://kfserving-examples/models/sklearn/1.0/model",
            "kserve",
            None,
            "spec.predictor.model.storageUri",
        ),
        (
            "s3://features/transformer",
            "kserve",
            "kserve-container",
            "spec.transformer.containers[0].env[0].value",
        ),
        ("pvc://explainers/fraud", "kserve", None, "spec.explainer.art.storageUri"),
    ]


@pytest.mark.parametrize(
    "framework", ["sklearn", "pytorch", "tensorflow", "xgboost", "onnx", "lightgbm", "triton"]
)
def test_legacy_framework_storage_uri(framework: str) -> None:
    refs = extract(
        f"""
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {{name: legacy}}
        spec:
          predictor:
            {framework}:
              storageUri: s3://models/{framework}/v1
              runtimeVersion: "1.0"
        """
    )
    ref = only(refs, source="kserve")
    assert (ref.reference, ref.origin) == (
        f"s3://models/{framework}/v1",
        f"spec.predictor.{framework}.storageUri",
    )


@pytest.mark.parametrize(
    ("uri", "reference", "pinned"),
    [
        ("hf://meta-llama/Llama-3.1-8B-Instruct", "hf://meta-llama/Llama-3.1-8B-Instruct", False),
        (f"hf://org/model:{SHA}", f"hf://org/model@{SHA}", True),
        ("kit://jozu.ml/jozu/qwen2.5:0.5b", "oci://jozu.ml/jozu/qwen2.5:0.5b", False),
        ("model-registry://fraud-detector/v3", "model-registry://fraud-detector/v3", False),
        (f"oci://quay.io/org/model@{DIGEST}", f"oci://quay.io/org/model@{DIGEST}", True),
        ("hdfs://namenode:8020/models/m", "hdfs://namenode:8020/models/m", False),
        ("webhdfs://namenode/models/m", "webhdfs://namenode/models/m", False),
    ],
)
def test_storage_uri_schemes(uri: str, reference: str | None, pinned: bool) -> None:
    refs = extract(
        f"""
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {{name: m}}
        spec:
          predictor:
            model:
              modelFormat: {{name: huggingface}}
              storageUri: "{uri}"
        """
    )
    ref = only(refs, source="kserve")
    assert (ref.raw, ref.reference, ref.pinned) == (uri, reference, pinned)
    assert (ref.unresolvable is None) == (reference is not None)


def test_storage_uris_storage_spec_and_huggingface_args() -> None:
    refs = extract(
        """
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: chat}
        spec:
          predictor:
            model:
              modelFormat: {name: huggingface}
              storageUris:
              - {uri: "hf://org/base", mountPath: /mnt/base}
              - {uri: "s3://adapters/chat", mountPath: /mnt/adapter}
              args: ["--model_name=chat", "--model_dir=/mnt/base", "--model_id=org/hub-model",
                     "--trust_remote_code"]
          transformer:
            model:
              storage: {key: localMinIO, path: transformers/chat}
        """
    )
    assert [(r.reference, r.source, r.container, r.trust_remote_code) for r in refs] == [
        ("hf://org/base", "kserve", None, False),
        ("s3://adapters/chat", "kserve", None, False),
        ("hf://org/hub-model", "huggingfaceserver", "kserve-container", True),
        (None, "kserve", None, False),
    ]
    secret = refs[-1]
    assert (secret.raw, secret.origin) == (
        "localMinIO:transformers/chat",
        "spec.transformer.model.storage",
    )
    assert secret.unresolvable == MODEL_STORAGE


def test_model_dir_without_storage_is_a_path() -> None:
    refs = extract(
        """
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: bare}
        spec:
          predictor:
            model:
              modelFormat: {name: huggingface}
              args: ["--model_dir=/mnt/models"]
        """
    )
    assert [(r.raw, r.reference, r.container) for r in refs] == [
        ("/mnt/models", None, "kserve-container")
    ]


def test_llm_inference_service() -> None:
    refs = extract(
        """
        apiVersion: serving.kserve.io/v1alpha1
        kind: LLMInferenceService
        metadata: {name: qwen}
        spec:
          model:
            uri: hf://Qwen/Qwen2.5-7B-Instruct
            name: Qwen/Qwen2.5-7B-Instruct
          template:
            containers:
            - name: main
              image: vllm/vllm-openai:v0.9.1
              command: ["vllm", "serve", "/mnt/models", "--served-model-name", "qwen"]
          prefill:
            template:
              containers:
              - {name: main, image: "vllm/vllm-openai:v0.9.1", args: ["org/prefill-draft"]}
        """
    )
    assert [(r.reference, r.source, r.container, r.origin) for r in refs] == [
        ("hf://Qwen/Qwen2.5-7B-Instruct", "kserve", None, "spec.model.uri"),
        ("hf://org/prefill-draft", "vllm", "main", "spec.prefill.template.containers[0].args[0]"),
    ]


def test_pod_after_storage_initializer_mutation() -> None:
    refs = extract(
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: sklearn-iris-predictor-00001-deployment-6d8b4c7d9f-x2kqz
          annotations:
            internal.serving.kserve.io/storage-initializer-sourceuri: gs://kfserving-examples/models/sklearn/1.0/model
        spec:
          initContainers:
          - name: storage-initializer
            image: kserve/storage-initializer:v0.15.0
            args: ["gs://kfserving-examples/models/sklearn/1.0/model", "/mnt/models"]
            volumeMounts: [{name: kserve-provision-location, mountPath: /mnt/models}]
          containers:
          - name: kserve-container
            image: kserve/sklearnserver:v0.15.0
            args: ["--model_name=sklearn-iris", "--model_dir=/mnt/models", "--http_port=8080"]
            env: [{name: MODEL_PATH, value: /mnt/models/model.joblib}]
            volumeMounts:
            - {name: kserve-provision-location, mountPath: /mnt/models, readOnly: true}
          volumes:
          - {name: kserve-provision-location, emptyDir: {}}
        """
    )
    uri = "gs://kfserving-examples/models/sklearn/1.0/model"
    assert [(r.reference, r.source, r.container, r.origin) for r in refs] == [
        (
            uri,
            "storage-initializer",
            None,
            'metadata.annotations["internal.serving.kserve.io/storage-initializer-sourceuri"]',
        ),
        (uri, "storage-initializer", "storage-initializer", "spec.initContainers[0].args[0]"),
    ]


def test_modelcar_pod() -> None:
    image = f"quay.io/org/granite-modelcar@{DIGEST}"
    refs = extract(
        f"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: granite-predictor-abc
          annotations:
            internal.serving.kserve.io/storage-initializer-sourceuri: "oci://{image}"
        spec:
          shareProcessNamespace: true
          initContainers:
          - name: modelcar-init
            image: "{image}"
            args: ["sh", "-c", "echo 'Pre-fetching modelcar {image}: ' && echo 'Done!'"]
          containers:
          - name: kserve-container
            image: kserve/huggingfaceserver:v0.15.0
            args: ["--model_name=granite", "--model_dir=/mnt/models"]
            volumeMounts: [{{name: kserve-provision-location, mountPath: /mnt}}]
          - name: modelcar
            image: "{image}"
            args: ["sh", "-c", "ln -sf /proc/$$$$/root/models /mnt/models && sleep infinity"]
            volumeMounts: [{{name: kserve-provision-location, mountPath: /mnt}}]
          volumes:
          - {{name: kserve-provision-location, emptyDir: {{}}}}
        """
    )
    assert [(r.reference, r.pinned, r.source, r.container) for r in refs] == [
        (f"oci://{image}", True, "storage-initializer", None),
        (f"oci://{image}", True, "modelcar", "modelcar-init"),
        (f"oci://{image}", True, "modelcar", "modelcar"),
    ]
    assert refs[2].origin == "spec.containers[1].image"


def test_kitops_init_container_fills_the_shared_volume() -> None:
    refs = extract(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: llama}
        spec:
          template:
            spec:
              initContainers:
              - name: kitops-init
                image: ghcr.io/kitops-ml/kitops-init:latest
                env:
                - {name: MODELKIT_REF, value: "jozu.ml/jozu/llama3-8b:8B-instruct-q4_0"}
                - {name: UNPACK_PATH, value: /tmp/modelkit}
                volumeMounts: [{name: modelkit-storage, mountPath: /tmp/modelkit}]
              containers:
              - name: llama
                image: ghcr.io/ggerganov/llama.cpp:server
                env: [{name: MODEL_PATH, value: /models/llama3-8b.gguf}]
                volumeMounts: [{name: modelkit-storage, mountPath: /models}]
              volumes:
              - {name: modelkit-storage, emptyDir: {}}
        """
    )
    assert [(r.reference, r.source, r.container) for r in refs] == [
        ("oci://jozu.ml/jozu/llama3-8b:8B-instruct-q4_0", "kitops", "kitops-init")
    ]


def test_kitops_init_without_a_reference_is_unresolvable() -> None:
    refs = extract(
        """
        kind: Pod
        spec:
          initContainers:
          - name: kitops-init
            image: ghcr.io/kitops-ml/kitops-init:latest
            envFrom: [{secretRef: {name: kit}}]
        """
    )
    assert [(r.reference, r.source) for r in refs] == [(None, "kitops")]
    assert "MODELKIT_REF" in (refs[0].unresolvable or "")


def test_modelpack_csi_and_image_volumes() -> None:
    refs = extract(
        f"""
        kind: Pod
        spec:
          containers:
          - name: server
            image: vllm/vllm-openai:v0.9.1
            args: ["/models/qwen", "--tokenizer", "/tokenizers/qwen"]
            volumeMounts:
            - {{name: model, mountPath: /models/qwen}}
            - {{name: tokenizer, mountPath: /tokenizers}}
          volumes:
          - name: model
            csi:
              driver: model.csi.modelpack.org
              volumeAttributes: {{modelRef: "registry.example.com/models/qwen2.5:0.5b"}}
          - name: tokenizer
            image: {{reference: "registry.example.com/tokenizers/qwen@{DIGEST}"}}
          - name: other
            csi: {{driver: secrets-store.csi.k8s.io}}
        """
    )
    assert [(r.reference, r.pinned, r.source, r.origin) for r in refs] == [
        (
            "oci://registry.example.com/models/qwen2.5:0.5b",
            False,
            "modelpack",
            "spec.volumes[0].csi.volumeAttributes.modelRef",
        ),
        (
            f"oci://registry.example.com/tokenizers/qwen@{DIGEST}",
            True,
            "image-volume",
            "spec.volumes[1].image.reference",
        ),
    ]


def test_trained_model() -> None:
    refs = extract(
        """
        apiVersion: serving.kserve.io/v1alpha1
        kind: TrainedModel
        metadata: {name: iris-v2}
        spec:
          inferenceService: sklearn-iris
          model: {framework: sklearn, storageUri: "gs://models/iris/v2", memory: 256Mi}
        """
    )
    assert [(r.reference, r.source, r.origin) for r in refs] == [
        ("gs://models/iris/v2", "kserve", "spec.model.storageUri")
    ]

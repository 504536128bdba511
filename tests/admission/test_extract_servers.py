"""Model servers: vLLM, TGI, SGLang, KServe's huggingfaceserver and Triton command lines."""

from __future__ import annotations

import pytest

from tests.admission import extract, only

SHA = "0123456789abcdef0123456789abcdef01234567"


def _pod(container: str) -> str:
    """A Deployment around one container, written in YAML flow style."""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: llm}}
spec:
  selector: {{matchLabels: {{app: llm}}}}
  template:
    metadata: {{labels: {{app: llm}}}}
    spec:
      containers:
      - {container}
"""


def test_vllm_serve_in_a_shell_script() -> None:
    refs = extract(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: phi}
        spec:
          template:
            spec:
              containers:
              - name: vllm
                image: vllm/vllm-openai:v0.9.1
                command: ["/bin/sh", "-c"]
                args:
                - |
                  set -e
                  HF_HUB_ENABLE_HF_TRANSFER=1 exec vllm serve microsoft/Phi-3-mini-4k-instruct \\
                    --trust-remote-code \\
                    --served-model-name phi3 \\
                    --max-model-len 4096 && echo "started"; echo 'ok'
        """
    )
    assert len(refs) == 1
    ref = refs[0]
    assert (ref.reference, ref.source, ref.container) == (
        "hf://microsoft/Phi-3-mini-4k-instruct",
        "vllm",
        "vllm",
    )
    assert ref.trust_remote_code
    assert ref.origin == "spec.template.spec.containers[0].args[0]"


@pytest.mark.parametrize(
    "container",
    [
        '{name: s, image: "vllm/vllm-openai:v0.6.0", command: ["python3", "-m", '
        '"vllm.entrypoints.openai.api_server"], args: ["--model", "org/m", "--port", "8000"]}',
        '{name: s, image: "python:3.11", command: ["python", "-m", '
        '"vllm.entrypoints.openai.api_server", "--model=org/m"]}',
        '{name: s, image: "vllm/vllm-openai:v0.9.1", args: ["org/m", "--port", "8000"]}',
        '{name: s, image: "vllm/vllm-openai:v0.9.1", args: ["--model", "org/m"]}',
        '{name: s, image: "vllm/vllm-openai:v0.9.1", command: ["bash", "-o", "pipefail", '
        '"-lc", "source /venv/bin/activate; vllm serve org/m --port 8000 | tee /tmp/log"]}',
        '{name: s, image: "ubuntu", command: ["sh", "-c", "bash -c \'vllm serve org/m\'"]}',
    ],
)
def test_vllm_invocations(container: str) -> None:
    refs = extract(_pod(container))
    assert [(r.reference, r.source, r.container) for r in refs] == [("hf://org/m", "vllm", "s")]
    assert not refs[0].trust_remote_code


def test_vllm_revision_tokenizer_and_adapters() -> None:
    refs = extract(
        _pod(
            '{name: s, image: "vllm/vllm-openai:v0.9.1", args: ["meta-llama/Llama-3.1-8B", '
            f'"--revision", "{SHA}", "--tokenizer=org/tok", "--tokenizer_revision", "v2", '
            '"--trust_remote_code", "--lora-modules", "sql=org/sql-lora", '
            '\'{"name": "chat", "path": "org/chat-lora"}\', "--port", "8000"]}'
        )
    )
    assert [(r.reference, r.pinned, r.trust_remote_code) for r in refs] == [
        (f"hf://meta-llama/Llama-3.1-8B@{SHA}", True, True),
        ("hf://org/tok@v2", False, True),
        ("hf://org/sql-lora", False, True),
        ("hf://org/chat-lora", False, True),
    ]


def test_vllm_revision_that_is_not_a_commit_does_not_pin() -> None:
    refs = extract(_pod('{name: s, command: ["vllm", "serve", "org/m", "--revision", "main"]}'))
    assert [(r.reference, r.pinned) for r in refs] == [("hf://org/m@main", False)]


def test_vllm_without_a_model_is_unresolvable() -> None:
    refs = extract(_pod('{name: s, image: "vllm/vllm-openai:v0.9.1", args: ["--port", "8000"]}'))
    ref = only(refs, source="vllm")
    assert ref.reference is None
    assert "built-in default" in (ref.unresolvable or "")


def test_unbalanced_quotes_are_an_unresolvable_reference() -> None:
    refs = extract(
        _pod('{name: s, command: ["/bin/sh", "-c"], args: ["vllm serve \\"org/m --port 80"]}')
    )
    ref = only(refs, source="shell")
    assert (ref.reference, ref.container) == (None, "s")
    assert ref.raw == 'vllm serve "org/m --port 80'
    assert "No closing quotation" in (ref.unresolvable or "")


SHELL_VARIABLES = """
kind: Pod
spec:
  containers:
  - name: s
    image: vllm/vllm-openai:v0.9.1
    command: ["/bin/bash", "-c"]
    args: ["{script}"]
    env:
    - {name: MODEL, value: org/from-env}
    - name: PRIVATE
      valueFrom: {secretKeyRef: {name: s, key: k}}
"""


@pytest.mark.parametrize(
    ("script", "reference"),
    [
        ("vllm serve $MODEL", "hf://org/from-env"),
        ("vllm serve ${MODEL}", "hf://org/from-env"),
        ("export M=org/exported; vllm serve $M", "hf://org/exported"),
        ("vllm serve ${UNSET:-org/fallback}", "hf://org/fallback"),
        # A prefix assignment does not change the words of its own command.
        ("MODEL=org/decoy vllm serve $MODEL", "hf://org/from-env"),
        ("vllm serve $PRIVATE", None),
        ("vllm serve $FROM_IMAGE", None),
        ("vllm serve ${PRIVATE:-org/fallback}", None),
        ("SERVER=vllm; $SERVER serve $MODEL", "hf://org/from-env"),
    ],
)
def test_shell_variables(script: str, reference: str | None) -> None:
    refs = extract(SHELL_VARIABLES.replace("{script}", script))
    ref = only(refs, source="vllm")
    assert ref.reference == reference
    if reference is None:
        assert "set at runtime" in (ref.unresolvable or "")


def test_tgi_flags() -> None:
    refs = extract(
        _pod(
            '{name: tgi, image: "ghcr.io/huggingface/text-generation-inference:3.0.1", '
            f'args: ["--model-id", "bigcode/starcoder2-3b", "--revision={SHA}", '
            '"--trust-remote-code", "--port", "8080"], '
            "env: [{name: MODEL_ID, value: ignored/by-tgi}]}"
        )
    )
    assert [(r.reference, r.pinned, r.source, r.trust_remote_code) for r in refs] == [
        (f"hf://bigcode/starcoder2-3b@{SHA}", True, "tgi", True)
    ]


def test_tgi_environment() -> None:
    refs = extract(
        _pod(
            '{name: tgi, image: "ghcr.io/huggingface/text-generation-inference:3.0.1", '
            'env: [{name: MODEL_ID, value: "HuggingFaceH4/zephyr-7b-beta"}, '
            '{name: REVISION, value: "main"}, {name: TRUST_REMOTE_CODE, value: "true"}]}'
        )
    )
    assert [(r.reference, r.source, r.trust_remote_code, r.origin) for r in refs] == [
        (
            "hf://HuggingFaceH4/zephyr-7b-beta@main",
            "tgi",
            True,
            "spec.template.spec.containers[0].env[0].value",
        )
    ]


def test_tgi_without_a_model_loads_bloom() -> None:
    refs = extract(_pod('{name: tgi, command: ["text-generation-launcher", "--port", "80"]}'))
    assert [(r.raw, r.reference, r.pinned, r.source, r.container) for r in refs] == [
        ("bigscience/bloom-560m", "hf://bigscience/bloom-560m", False, "tgi-default", "tgi")
    ]


@pytest.mark.parametrize(
    "env",
    [
        "env: [{name: MODEL_ID, valueFrom: {secretKeyRef: {name: s, key: k}}}]",
        "envFrom: [{configMapRef: {name: tgi-settings}}]",
    ],
)
def test_tgi_model_set_at_runtime_is_unresolvable(env: str) -> None:
    image = "ghcr.io/huggingface/text-generation-inference:3.0.1"
    refs = extract(_pod(f'{{name: tgi, image: "{image}", {env}}}'))
    assert [(r.reference, r.source) for r in refs] == [(None, "tgi")]
    assert "runtime" in (refs[0].unresolvable or "")


def test_triton_model_repositories() -> None:
    refs = extract(
        _pod(
            '{name: triton, image: "nvcr.io/nvidia/tritonserver:24.08-py3", command: '
            '["tritonserver", "--model-repository=gs://triton-models/repo", '
            '"--model-store", "s3://bucket/repo", "--model-repository=/models", '
            '"--model-repository=as://account/container/repo"]}'
        )
    )
    assert [(r.raw, r.reference, r.source) for r in refs] == [
        ("gs://triton-models/repo", "gs://triton-models/repo", "triton"),
        ("s3://bucket/repo", "s3://bucket/repo", "triton"),
        ("/models", None, "triton"),
        ("as://account/container/repo", "as://account/container/repo", "triton"),
    ]
    assert "a path inside the container" in (refs[2].unresolvable or "")


def test_sglang_and_huggingfaceserver() -> None:
    refs = extract(
        """
        kind: Pod
        spec:
          containers:
          - name: sglang
            image: lmsysorg/sglang:latest
            command: ["python3", "-m", "sglang.launch_server", "--model-path",
                      "Qwen/Qwen2.5-7B-Instruct", "--trust-remote-code"]
          - name: hf
            image: kserve/huggingfaceserver:v0.15.0
            args: ["--model_name=bert", "--model_id=google-bert/bert-base-uncased",
                   "--model_revision=main", "--model_dir=/mnt/models"]
        """
    )
    assert [(r.container, r.source, r.reference, r.trust_remote_code) for r in refs] == [
        ("sglang", "sglang", "hf://Qwen/Qwen2.5-7B-Instruct", True),
        ("hf", "huggingfaceserver", "hf://google-bert/bert-base-uncased@main", False),
        ("hf", "huggingfaceserver", None, False),
    ]
    assert refs[2].raw == "/mnt/models"

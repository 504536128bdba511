"""The object is judged as ``request.kind`` (a mismatching ``object.kind`` is denied), and model
flags are read on any container, not only on recognised model servers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from modelward.admission.review.core import review
from modelward.admission.workloads.extract import extract_references
from tests.admission.core_helpers import REVISION, deployment, make_env, pod, review_of

UNVETTED = f"hf://acme/unvetted@{REVISION}"
CUSTOM = "registry.example.com/team/inference:1.4"


def answer(result: Any) -> dict[str, Any]:
    return result.response["response"]  # type: ignore[no-any-return]


def custom(*args: str, **extra: Any) -> dict[str, Any]:
    """A container of an image no recognised model server runs."""
    return {"name": "app", "image": CUSTOM, "args": list(args), **extra}


def with_kind(document: dict[str, Any], **kind: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["request"]["kind"].update(kind)
    return changed


# --- request.kind ----------------------------------------------------------------------------


def test_an_object_whose_kind_differs_from_the_requests_is_denied() -> None:
    obj = pod(custom("--model-id", UNVETTED))
    obj["kind"] = "ConfigMap"  # read as its own kind, nothing would be extracted
    document = with_kind(review_of(obj), group="", version="v1", kind="Pod")
    result = review(document, make_env())
    assert answer(result)["allowed"] is False
    assert result.audit["problems"] == ["kind-mismatch"]
    assert result.audit["kind"] == "Pod"
    message = answer(result)["status"]["message"]
    assert "the object is not the Pod the request names" in message
    assert "object.kind is 'ConfigMap' but request.kind is 'Pod'" in message


def test_an_object_in_another_api_group_is_denied() -> None:
    document = review_of(deployment(custom("--model-id", UNVETTED)))
    document["request"]["object"]["apiVersion"] = "example.com/v1"
    result = review(document, make_env())
    assert result.audit["problems"] == ["kind-mismatch"]
    assert (
        "object.apiVersion is 'example.com/v1' but request.kind is in apps"
        in (answer(result)["status"]["message"])
    )


def test_an_object_without_a_kind_is_judged_as_the_requests_kind() -> None:
    obj = deployment(custom("--model-id", UNVETTED))
    del obj["kind"], obj["apiVersion"]
    document = with_kind(review_of(obj), group="apps", version="v1", kind="Deployment")
    result = review(document, make_env())
    assert [m["deny"] for m in result.audit["models"]] == [["model-unvetted"]]
    assert result.audit["models"][0]["origin"] == "spec.template.spec.containers[0].args[1]"


def test_matching_kinds_are_judged_as_before() -> None:
    result = review(review_of(deployment(custom("--model-id", UNVETTED))), make_env())
    assert result.audit["problems"] == [] and answer(result)["allowed"] is False


# --- model flags on any container ------------------------------------------------------------


def refs_of(container: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(r.reference, r.source) for r in extract_references(pod(container))]


def test_model_id_on_an_unrecognised_image_is_extracted_and_judged() -> None:
    assert refs_of(custom("--model-id", UNVETTED)) == [(UNVETTED, "args")]
    result = review(review_of(pod(custom("--model-id", UNVETTED))), make_env())
    assert answer(result)["allowed"] is False
    model = result.audit["models"][0]
    assert model["deny"] == ["model-unvetted"] and model["origin"] == "spec.containers[0].args[1]"


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--model-id", "acme/m"], "hf://acme/m"),
        (["--model_id=acme/m"], "hf://acme/m"),
        (["--model=acme/m@main"], "hf://acme/m@main"),
        (["--model", "acme/m", "--revision", REVISION], f"hf://acme/m@{REVISION}"),
        (["--model-id", "acme/m", "--model-revision=v2"], "hf://acme/m@v2"),
        (["--model-name-or-path", "acme/m"], "hf://acme/m"),
        (["--model-path", "s3://bucket/models/m"], "s3://bucket/models/m"),
        (["--model-uri=gs://bucket/m"], "gs://bucket/m"),
        (["--model", f"oci+native://reg.example.com/m@sha256:{'a' * 64}"],
         f"oci://reg.example.com/m@sha256:{'a' * 64}"),
        (["--model-id", "hf://acme/m", "--revision", REVISION], "hf://acme/m"),
    ],
)  # fmt: skip
def test_model_flags_that_name_a_reference(args: list[str], expected: str) -> None:
    assert refs_of(custom(*args)) == [(expected, "args")]


@pytest.mark.parametrize(
    "args",
    [
        ["--model", "gpt-4o"],  # a bare name: an API model, a served alias
        ["--model", "/mnt/models/llama"],  # a path: what it holds cannot be seen
        ["--model", "./models/llama"],
        ["--model-id", "https://api.example.com/v1"],  # an endpoint
        ["--model-path", "acme/m"],  # not an id flag: a relative folder
        ["--model-dir", "gs://bucket/checkpoints"],  # where a model is written
        ["--served-model-name", "acme/m"],
        ["--output-dir", "s3://bucket/out"],
        ["--dataset", "hf://acme/data"],
        ["--model-id", "a/b/c"],
        ["--model"],
        ["--model", "--port", "8080"],
    ],
)
def test_flags_that_name_no_reference(args: list[str]) -> None:
    assert refs_of(custom(*args)) == []


def test_model_flags_in_a_shell_script_with_variables() -> None:
    script = 'python serve.py --model "$M" --trust-remote-code && other --model-id "$UNSET"'
    container = custom(env=[{"name": "M", "value": "acme/m"}])
    container.update(command=["sh", "-c", script], args=[])
    found = extract_references(pod(container))
    assert [(r.reference, r.trust_remote_code) for r in found] == [("hf://acme/m", True)]


def test_runtime_values_are_left_to_the_variables_that_hold_them() -> None:
    secret = {"name": "MODEL_ID", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    container = custom("--model-id", "$(MODEL_ID)", env=[secret])
    found = extract_references(pod(container))
    assert [(r.source, r.reference, r.origin) for r in found] == [
        ("env", None, "spec.containers[0].env[0].valueFrom")
    ]


def test_recognised_servers_keep_their_own_reading() -> None:
    vllm = {"name": "vllm", "image": "vllm/vllm-openai:v0.6.0", "args": ["--model", "acme/m"]}
    assert refs_of(vllm) == [("hf://acme/m", "vllm")]
    tgi = {"name": "tgi", "image": "ghcr.io/huggingface/text-generation-inference:2",
           "args": ["--model-id", "acme/m"]}  # fmt: skip
    assert refs_of(tgi) == [("hf://acme/m", "tgi")]
    wrapped = custom(command=["python", "-m", "vllm.entrypoints.openai.api_server"])
    wrapped["args"] = ["--model", "acme/m"]
    assert refs_of(wrapped) == [("hf://acme/m", "vllm")]


def test_a_command_beside_a_server_is_read_for_flags_too() -> None:
    script = "vllm serve acme/m & python sidecar.py --model-id acme/other"
    container = custom(command=["sh", "-c", script])
    assert sorted(refs_of(container)) == [("hf://acme/m", "vllm"), ("hf://acme/other", "args")]

"""Hostile request bodies: every one is refused as not a review (HTTP 400) or answered with a
decision. Nothing else may escape the core: no crash, no hang, no allow by accident."""

from __future__ import annotations

import copy
import json
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelward.admission.errors import InvalidReview
from modelward.admission.review.core import MAX_BODY_BYTES, ReviewResult, parse_review, review
from tests.admission.core_helpers import REVISION, container, make_env, pod, review_of

MODEL = f"hf://acme/unvetted@{REVISION}"
ENV = make_env()


def base_review() -> dict[str, Any]:
    return review_of(pod(container("vllm", model=MODEL)))


def decide(body: bytes) -> ReviewResult | None:
    """None when refused as not a review; otherwise the decision (which must be well formed)."""
    try:
        parsed = parse_review(body)
    except InvalidReview:
        return None
    result = review(parsed, ENV)
    answer = result.response["response"]
    assert answer["uid"] == parsed["request"]["uid"]
    assert isinstance(answer["allowed"], bool)
    assert result.response["apiVersion"] == parsed["apiVersion"]
    json.dumps(result.audit)
    return result


def refused(body: bytes, match: str) -> None:
    with pytest.raises(InvalidReview, match=re.escape(match)):
        parse_review(body)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe{", "not JSON"),
        (b"{'apiVersion': 1}", "not JSON"),
        (b"[]", "must be a JSON object, got an array"),
        (b"null", "got null"),
        (b'{"apiVersion": NaN}', "not JSON"),
        (b'{"kind": "AdmissionReview"}', "apiVersion must be one of"),
        (b'{"apiVersion": "admission.k8s.io/v2", "kind": "AdmissionReview"}', "apiVersion"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "Pod"}', "kind must be AdmissionReview"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}', "request is missing"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": []}',
         "request must be an object"),
    ],
)  # fmt: skip
def test_bodies_that_are_not_reviews(body: bytes, match: str) -> None:
    refused(body, match)


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("uid",), "", "request.uid is empty"),
        (("uid",), "  ", "request.uid is empty"),
        (("uid",), 42, "request.uid must be a string, got a number"),
        (("operation",), "PATCH", "request.operation must be one of"),
        (("operation",), None, "request.operation is missing"),
        (("kind",), "Pod", "request.kind must be an object"),
        (("kind", "kind"), ["Pod"], "request.kind.kind must be a string"),
        (("namespace",), {"name": "ml"}, "request.namespace must be a string"),
        (("name",), 1.5, "request.name must be a string"),
        (("userInfo",), "alice", "request.userInfo must be an object"),
        (("userInfo", "groups"), ["a", 1], "groups must be a list of strings"),
        (("dryRun",), "yes", "request.dryRun must be a boolean"),
        (("object",), ["not", "an", "object"], "request.object must be an object"),
        (("object",), None, "request.object is missing for CREATE"),
        (("object", "metadata"), "m", "request.object.metadata must be an object"),
    ],
)
def test_request_fields_of_the_wrong_type(path: tuple[str, ...], value: Any, match: str) -> None:
    body = base_review()
    target = body["request"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    refused(json.dumps(body).encode(), match)


def test_bodies_over_3_mib_are_refused_before_parsing() -> None:
    body = json.dumps(base_review()).encode()
    padded = body[:-1] + b" " * (MAX_BODY_BYTES + 1 - len(body)) + b"}"
    assert len(padded) == MAX_BODY_BYTES + 1
    refused(padded, "over the 3145728-byte limit")
    refused(b"[" * (4 * 1024 * 1024), "over the")
    exactly = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"
    assert decide(exactly) is not None


def test_deep_nesting_is_refused() -> None:
    refused(b"[" * 200_000 + b"]" * 200_000, "nested too deeply")
    nested = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    refused(nested, "nested too deeply")


def test_deeply_nested_fields_inside_the_object_are_a_deny() -> None:
    body = base_review()
    deep: Any = "org/m"
    for _ in range(500):
        deep = [deep]
    body["request"]["object"]["spec"]["containers"][0]["args"] = deep
    result = decide(json.dumps(body).encode())
    assert result is not None and result.response["response"]["allowed"] is False


def test_a_huge_object_is_decided_quickly() -> None:
    body = base_review()
    spec = body["request"]["object"]["spec"]
    spec["containers"] = [container(f"c{i}", model=f"hf://acme/m{i % 7}@{REVISION}")
                          for i in range(8_000)]  # fmt: skip
    spec["volumes"] = [{"name": f"v{i}", "emptyDir": {}} for i in range(5_000)]
    encoded = json.dumps(body).encode()
    assert len(encoded) < MAX_BODY_BYTES
    started = time.perf_counter()
    result = decide(encoded)
    assert time.perf_counter() - started < 20
    assert result is not None and result.response["response"]["allowed"] is False
    assert result.audit["problems"] in (["too-many-models"], ["malformed-object"])


def test_huge_strings_are_bounded() -> None:
    body = base_review()
    body["request"]["object"]["metadata"]["annotations"] = {
        "modelward.dev/models": "hf://acme/" + "x" * (2 * 1024 * 1024)
    }
    result = decide(json.dumps(body).encode())
    assert result is not None and result.response["response"]["allowed"] is False
    assert len(result.response["response"]["status"]["message"].encode()) <= 4096


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=25,
)  # fmt: skip
PATHS = [
    ("apiVersion",),
    ("request",),
    ("request", "uid"),
    ("request", "kind"),
    ("request", "namespace"),
    ("request", "userInfo"),
    ("request", "dryRun"),
    ("request", "object"),
    ("request", "object", "kind"),
    ("request", "object", "metadata"),
    ("request", "object", "metadata", "annotations"),
    ("request", "object", "spec"),
    ("request", "object", "spec", "containers"),
    ("request", "object", "spec", "containers", 0),
    ("request", "object", "spec", "containers", 0, "args"),
    ("request", "object", "spec", "containers", 0, "env"),
    ("request", "object", "spec", "containers", 0, "name"),
    ("request", "object", "spec", "initContainers"),
    ("request", "object", "spec", "volumes"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=JSON)
def test_any_value_in_any_field_is_refused_or_decided(path: tuple[Any, ...], value: Any) -> None:
    body = copy.deepcopy(base_review())
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    decide(json.dumps(body).encode())


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=512) | st.text(max_size=512).map(str.encode))
def test_arbitrary_bytes_are_refused_or_decided(body: bytes) -> None:
    decide(body)

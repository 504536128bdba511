"""Real AdmissionReviews from another admission controller's test suite (read from shared/).

Every well-formed one gets a valid answer in its own apiVersion with its uid; none of them
references a model, so all are admitted. The broken one is refused as not a review.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelward.admission.errors import InvalidReview
from modelward.admission.review.core import parse_review, review
from tests.admission.core_helpers import Recorder, make_env

FIXTURES = "fixtures/admission"
BROKEN = "connaisseur__21_broken_admission_request.json"
NAMES = [
    "connaisseur__01_deployment.json",
    "connaisseur__02_pod.json",
    "connaisseur__09_dply_multi_image.json",
    "connaisseur__10_update_replicaset.json",
    "connaisseur__16_mismatch_uid.json",
    "connaisseur__19_pod_initcontainer.json",
    "connaisseur__20_pod_ephemeralcontainer.json",
]


def test_every_fixture_is_covered(shared: Path) -> None:
    on_disk = {p.name for p in (shared / FIXTURES).glob("*.json")}
    assert on_disk == {*NAMES, BROKEN}


@pytest.mark.parametrize("name", NAMES)
def test_fixture_gets_a_valid_answer(shared: Path, name: str) -> None:
    body = (shared / FIXTURES / name).read_bytes()
    original = json.loads(body)
    recorder = Recorder()
    result = review(parse_review(body), make_env(evaluate=recorder))
    assert set(result.response) == {"apiVersion", "kind", "response"}
    assert result.response["apiVersion"] == original["apiVersion"]
    assert result.response["kind"] == "AdmissionReview"
    assert result.response["response"] == {"uid": original["request"]["uid"], "allowed": True}
    assert recorder.inputs == []  # container images are not models
    audit = result.audit
    assert audit["uid"] == original["request"]["uid"]
    assert audit["kind"] == original["request"]["kind"]["kind"]
    assert audit["namespace"] == original["request"]["namespace"]
    assert audit["operation"] == original["request"]["operation"]
    assert audit["user"] == original["request"]["userInfo"]["username"]
    assert audit["name"], "the name falls back to the object's metadata"
    assert json.loads(json.dumps(result.response)) == result.response


def test_v1beta1_fixtures_are_answered_as_v1beta1(shared: Path) -> None:
    versions = {}
    for name in NAMES:
        body = (shared / FIXTURES / name).read_bytes()
        versions[name] = review(parse_review(body), make_env()).response["apiVersion"]
    assert versions["connaisseur__01_deployment.json"] == "admission.k8s.io/v1beta1"
    assert versions["connaisseur__09_dply_multi_image.json"] == "admission.k8s.io/v1beta1"
    assert versions["connaisseur__02_pod.json"] == "admission.k8s.io/v1"


def test_names_come_from_the_request_or_the_object(shared: Path) -> None:
    def name_of(fixture: str) -> str:
        body = (shared / FIXTURES / fixture).read_bytes()
        return str(review(parse_review(body), make_env()).audit["name"])

    assert name_of("connaisseur__09_dply_multi_image.json") == "test"  # request.name
    assert name_of("connaisseur__01_deployment.json") == "charlie-deployment"  # metadata.name
    assert name_of("connaisseur__02_pod.json").startswith("charlie-deployment-")  # generateName


def test_broken_fixture_is_not_a_review(shared: Path) -> None:
    with pytest.raises(InvalidReview, match=r"request\.uid is missing"):
        parse_review((shared / FIXTURES / BROKEN).read_bytes())


def test_fixture_with_a_model_in_its_pod_is_judged(shared: Path) -> None:
    """The same real envelope, with a model reference added to its pod, is evaluated."""
    review_json = json.loads((shared / FIXTURES / "connaisseur__02_pod.json").read_bytes())
    spec = review_json["request"]["object"]["spec"]
    spec["containers"][0]["env"] = [{"name": "HF_MODEL_ID", "value": "acme/unvetted"}]
    result = review(parse_review(json.dumps(review_json).encode()), make_env())
    assert result.response["response"]["allowed"] is False
    denied = {i for m in result.audit["models"] for i in m["deny"]}
    assert denied == {"model-unvetted", "unpinned-reference"}

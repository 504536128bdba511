"""Facts for every corpus file, and every policy sample, validate against the published schema."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from modelward.engine.facts import Facts, facts_json_schema
from modelward.engine.pipeline import collect_facts
from tests.conftest import corpus_manifest

VALIDATOR = jsonschema.Draft202012Validator(facts_json_schema())
SAMPLES = sorted(Path(str(files("modelward.policies"))).glob("*/*/samples/*/*.json"))


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(facts_json_schema())


@pytest.mark.parametrize("row", corpus_manifest(), ids=lambda r: r["file"])
def test_corpus_facts_validate(row: dict[str, str], corpus_files: Path) -> None:
    facts = collect_facts(str(corpus_files / row["file"]))
    document = json.loads(json.dumps(facts.to_json_dict()))
    VALIDATOR.validate(document)
    assert all(s.status != "error" for s in facts.collection.collectors.values())
    assert Facts.model_validate(document) == facts  # the JSON round-trips


def test_whole_corpus_directory_validates(corpus_files: Path) -> None:
    facts = collect_facts(str(corpus_files))
    VALIDATOR.validate(facts.to_json_dict())
    assert len(facts.files) == len(corpus_manifest())


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_policy_samples_are_valid_facts(sample: Path) -> None:
    policy_input = json.loads(sample.read_text())
    model = policy_input["model"]
    verdict = (policy_input.get("admission") or {}).get("verdict") or {}
    if "admission" in policy_input and (not verdict.get("trusted") or verdict.get("revoked")):
        # Without a trusted verdict admission knows only the reference, and a revocation
        # carries only the subject it revokes: a subject, no facts.
        assert set(model) == {"schema", "subject"}
        assert {"ref", "pinned"} <= set(model["subject"])
        return
    VALIDATOR.validate(model)

"""The BOM collector: the shared ML-BOM fixtures, BOMs in the model, invalid BOMs, file hashes."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.bom.cyclonedx import validate
from modelward.engine.bom.read import identity, read_bom
from modelward.engine.collectors import bom as bom_module
from modelward.engine.facts import BomFacts
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve
from modelward.engine.source import ModelSource
from tests.bom.helpers import (
    deny_ids,
    evaluate,
    facts_of,
    make_model,
    minimal_bom,
    warn_ids,
    write_json,
)

SPEC_16 = "cyclonedx-spec/valid-machine-learning-1.6.json"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "model", {"config.json": "{}\n", "weights.bin": b"\x00" * 64})


def bom_fixture(shared: Path, rel: str) -> Path:
    return shared / "fixtures" / "bom" / rel


def load_fixture(shared: Path, rel: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(bom_fixture(shared, rel).read_text())
    return document


@pytest.mark.parametrize(
    ("rel", "version", "datasets"),
    [
        (SPEC_16, "1.6", ["Training Data"]),
        ("cyclonedx-spec/valid-machine-learning-1.7.json", "1.7", ["Training Data"]),
        ("cyclonedx-spec/valid-machine-learning-considerations-env-1.6.json", "1.6", []),
        ("k8s-aibom/vllm-deployment-output.cdx.json", "1.6", []),
    ],
)
def test_fixture_boms_validate(
    shared: Path, model: Path, rel: str, version: str, datasets: list[str]
) -> None:
    path = bom_fixture(shared, rel)
    facts = facts_of(model, bom=path)
    assert facts.bom == BomFacts(
        present=True,
        source=str(path),
        format="CycloneDX",
        spec_version=version,
        valid=True,
        datasets=datasets,
    )
    assert "bom-invalid" not in deny_ids(evaluate(facts))


def test_fixture_models_are_read_raw(shared: Path) -> None:
    # The library's object model drops modelCard; the raw reader keeps every field it needs.
    spec = read_bom(load_fixture(shared, SPEC_16))
    assert spec.datasets == ["Training Data"]
    k8s = load_fixture(shared, "k8s-aibom/vllm-deployment-output.cdx.json")
    models = [c for c in k8s["components"] if c["type"] == "machine-learning-model"]
    assert {identity(m) for m in models} == {"meta-llama/Llama-3.1-8B-Instruct"}


def test_the_scraper_input_is_not_a_bom(shared: Path, model: Path) -> None:
    facts = facts_of(model, bom=bom_fixture(shared, "k8s-aibom/vllm-deployment-input.scrape.json"))
    assert facts.bom is not None and facts.bom.present and not facts.bom.valid
    assert facts.bom.errors == ["not a CycloneDX document (bomFormat is not 'CycloneDX')"]
    assert "bom-invalid" in deny_ids(evaluate(facts))


def test_licence_with_id_and_name_is_invalid(shared: Path, model: Path, tmp_path: Path) -> None:
    document = load_fixture(shared, SPEC_16)
    document["components"][0]["licenses"] = [{"license": {"id": "MIT", "name": "MIT"}}]
    facts = facts_of(model, bom=write_json(tmp_path / "both.cdx.json", document))
    assert facts.bom is not None and not facts.bom.valid
    assert any(e.startswith("components[0].licenses:") for e in facts.bom.errors)
    assert facts.bom.licenses == ["MIT"]  # still read, for the messages
    decision = evaluate(facts)
    assert "bom-invalid" in deny_ids(decision)
    [finding] = [f for f in decision.deny if f.id == "bom-invalid"]
    assert "components[0].licenses" in finding.msg


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{not json", "not a JSON document"),
        (b"\xff\xfe{}", "not a JSON document"),
        ("[" * 100_000 + "]" * 100_000, "not a JSON document"),
        ('{"bomFormat": "SPDX"}', "not a CycloneDX document"),
        ('{"bomFormat": "CycloneDX"}', "specVersion: missing"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.1"}', "is not a supported version"),
        ('{"bomFormat": "CycloneDX", "specVersion": "9.9"}', "is not a supported version"),
    ],
)
def test_broken_boms_are_invalid(
    model: Path, tmp_path: Path, text: str | bytes, error: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    facts = facts_of(model, bom=path)
    assert facts.bom is not None and facts.bom.present and not facts.bom.valid
    assert error in facts.bom.errors[0]
    assert "bom-invalid" in deny_ids(evaluate(facts))


def test_truncated_copy_of_a_fixture_is_invalid(shared: Path, model: Path, tmp_path: Path) -> None:
    raw = bom_fixture(shared, SPEC_16).read_bytes()
    path = tmp_path / "truncated.json"
    path.write_bytes(raw[: len(raw) // 2])
    facts = facts_of(model, bom=path)
    assert facts.bom is not None and not facts.bom.valid
    assert "bom-invalid" in deny_ids(evaluate(facts))


def test_oversized_bom_is_invalid(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bom_module, "MAX_BOM_BYTES", 100)
    path = write_json(tmp_path / "big.json", minimal_bom(description="x" * 200))
    facts = facts_of(model, bom=path)
    assert facts.bom is not None and facts.bom.errors == ["larger than 100 bytes"]


def test_missing_bom_file_is_a_collector_error(model: Path, tmp_path: Path) -> None:
    facts = facts_of(model, bom=tmp_path / "nope.json")
    assert facts.bom is None
    assert facts.collection.collectors["bom"].status == "error"
    assert "collector-failed" in deny_ids(evaluate(facts))


def test_no_bom_is_not_present(model: Path) -> None:
    facts = facts_of(model)
    assert facts.bom == BomFacts(present=False)
    assert "bom-required" in deny_ids(evaluate(facts, require_bom=True))
    assert not {"bom-required", "bom-invalid"} & deny_ids(evaluate(facts))


def test_bom_in_the_model_is_found(tmp_path: Path) -> None:
    bom = json.dumps(minimal_bom(licenses=[{"license": {"id": "Apache-2.0"}}]))
    model = make_model(tmp_path / "m", {"config.json": "{}", "model.cdx.json": bom})
    facts = facts_of(model)
    assert facts.bom is not None
    assert (facts.bom.source, facts.bom.valid, facts.bom.licenses) == (
        "model.cdx.json",
        True,
        ["Apache-2.0"],
    )


def test_bom_names_are_tried_in_order(tmp_path: Path) -> None:
    names = ["sbom.json", "a.cdx.json", "bom.json", "bom.cdx.json"]
    model = make_model(tmp_path / "m", {n: json.dumps(minimal_bom()) for n in names})
    assert [f.path for f in bom_module.bom_candidates(_source(model))] == [
        "bom.cdx.json",
        "bom.json",
        "a.cdx.json",
        "sbom.json",
    ]
    nested = make_model(tmp_path / "n", {"sub/bom.json": json.dumps(minimal_bom())})
    assert facts_of(nested).bom == BomFacts(present=False)


def test_spdx_sbom_json_is_left_alone(tmp_path: Path) -> None:
    spdx = json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"})
    model = make_model(tmp_path / "m", {"sbom.json": spdx})
    assert facts_of(model).bom == BomFacts(present=False)
    cyclonedx = make_model(tmp_path / "c", {"sbom.json": json.dumps(minimal_bom())})
    facts = facts_of(cyclonedx)
    assert facts.bom is not None and facts.bom.source == "sbom.json" and facts.bom.valid


def test_command_line_bom_wins(shared: Path, tmp_path: Path) -> None:
    model = make_model(tmp_path / "m", {"bom.json": "{broken"})
    facts = facts_of(model, bom=bom_fixture(shared, SPEC_16))
    assert facts.bom is not None and facts.bom.valid


def file_component(name: str, content: bytes | str) -> dict[str, Any]:
    digest = content if isinstance(content, str) else hashlib.sha256(content).hexdigest()
    return {"type": "file", "name": name, "hashes": [{"alg": "SHA-256", "content": digest}]}


def test_file_hashes_are_compared(model: Path, tmp_path: Path) -> None:
    files = [
        file_component("config.json", b"{}\n"),
        file_component("./weights.bin", b"\x01" * 64),  # differs
        file_component("missing.bin", b""),  # not in the model: nothing to compare
    ]
    document = minimal_bom(components=files)
    facts = facts_of(model, bom=write_json(tmp_path / "b.json", document))
    assert facts.bom is not None and facts.bom.valid
    assert facts.bom.hash_mismatches == ["weights.bin"]
    decision = evaluate(facts)
    assert "bom-hash-mismatch" in deny_ids(decision)

    files[1] = file_component("weights.bin", b"\x00" * 64)
    same = write_json(tmp_path / "same.json", minimal_bom(components=files))
    facts = facts_of(model, bom=same)
    assert facts.bom is not None and facts.bom.hash_mismatches == []
    assert "bom-hash-mismatch" not in deny_ids(evaluate(facts))


def test_uppercase_digests_and_other_algorithms(model: Path, tmp_path: Path) -> None:
    upper = file_component("weights.bin", hashlib.sha256(b"\x00" * 64).hexdigest().upper())
    sha1_only = {
        "type": "file",
        "name": "config.json",
        "hashes": [{"alg": "SHA-1", "content": "0" * 40}],
    }
    bom = write_json(tmp_path / "b.json", minimal_bom(components=[upper, sha1_only]))
    facts = facts_of(model, bom=bom)
    assert facts.bom is not None and facts.bom.hash_mismatches == []


def test_base_models_datasets_and_enclosing_licences(tmp_path: Path) -> None:
    model: dict[str, Any] = {
        "type": "machine-learning-model",
        "name": "tuned",
        "licenses": [{"expression": "Apache-2.0 OR MIT"}],
        "pedigree": {
            "ancestors": [
                {
                    "type": "machine-learning-model",
                    "name": "x",
                    "purl": "pkg:huggingface/org/base@abc",
                },
                {"type": "machine-learning-model", "group": "grp", "name": "other"},
                {"type": "machine-learning-model", "name": "plain"},
            ]
        },
        "modelCard": {
            "modelParameters": {
                "datasets": [
                    {"ref": "data-1"},
                    {"ref": "dangling"},
                    {"type": "dataset", "name": "inline"},
                ]
            }
        },
    }
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": {"licenses": [{"license": {"id": "CC0-1.0"}}]},
        "components": [
            {
                "type": "library",
                "name": "pkg",
                "licenses": [{"license": {"id": "MIT"}}],
                "components": [model],
            },
            {"type": "data", "bom-ref": "data-1", "name": "corpus"},
            {
                "type": "library",
                "name": "unrelated",
                "licenses": [{"license": {"name": "Proprietary"}}],
            },
        ],
    }
    assert validate(json.dumps(document), "1.6") == []
    content = read_bom(document)
    assert content.base_models == ["org/base", "grp/other", "plain"]
    assert content.datasets == ["corpus", "dangling", "inline"]
    assert content.licenses == ["MIT", "Apache-2.0 OR MIT"]


def test_base_model_policies_on_collected_facts(tmp_path: Path) -> None:
    card = "---\nlicense: apache-2.0\nbase_model: org/base\n---\n"
    ancestors = {"ancestors": [{"type": "machine-learning-model", "name": "other/base"}]}
    bom = json.dumps(minimal_bom(pedigree=ancestors, licenses=[{"license": {"id": "Apache-2.0"}}]))
    model = make_model(tmp_path / "m", {"README.md": card, "bom.json": bom})
    facts = facts_of(model)
    assert facts.card is not None and facts.card.base_model == ["org/base"]
    assert facts.bom is not None and facts.bom.base_models == ["other/base"]
    assert "base-model-inconsistent" in warn_ids(evaluate(facts))
    decision = evaluate(facts, allowed_base_models=["org/*"])
    assert "base-model-not-allowed" in deny_ids(decision)
    assert "license-inconsistent" not in warn_ids(decision)


def test_a_bom_without_licence_warns(tmp_path: Path) -> None:
    model = make_model(tmp_path / "m", {"bom.json": json.dumps(minimal_bom())})
    assert "license-unknown" in warn_ids(evaluate(facts_of(model)))


def test_validation_errors_are_short_and_bounded(shared: Path) -> None:
    document = copy.deepcopy(load_fixture(shared, SPEC_16))
    document["components"] = [{"type": "nonsense", "name": str(i)} for i in range(50)]
    errors = validate(json.dumps(document), "1.6")
    assert 1 < len(errors) <= 21
    assert all(len(e) < 300 and "\n" not in e for e in errors)


def _source(model: Path) -> ModelSource:
    return resolve(ModelRef.parse(str(model)))

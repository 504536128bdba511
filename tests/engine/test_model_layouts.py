"""The real MiniLM model as it sits on disk in real workflows is judged like the plain folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import scan_cache_dir

from modelward.engine.facts import Facts, SkippedPath
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve
from modelward.engine.resolvers.local import NoModelFiles
from tests.cli.helpers import run, scan_json
from tests.engine.model_layouts import (
    COMMIT,
    HUB_REPO,
    copy_model,
    git,
    git_repository,
    hf_cache,
    local_dir_download,
    real_model,
    sha256_hex,
    with_lfs_pointers,
)

BUNDLE = PolicyBundle.builtin()
EVALUATOR = EmbeddedEvaluator()


def judged(path: Path) -> tuple[Facts, dict[str, Any]]:
    """Facts and decision, the decision reduced to what must not depend on the layout."""
    facts = collect_facts(str(path))
    decision = decide(facts, BUNDLE, EVALUATOR)
    summary = {
        "outcome": decision.outcome,
        "deny": [(d.id, d.msg) for d in decision.deny],
        "warn": [(w.id, w.msg) for w in decision.warn],
    }
    return facts, summary


def files_of(facts: Facts) -> list[tuple[str, int, str | None, str, str | None]]:
    return [(f.path, f.size, f.sha256, f.format, f.extension_format) for f in facts.files]


@pytest.fixture(scope="module")
def plain() -> tuple[Facts, dict[str, Any]]:
    return judged(real_model())


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("layouts")


def assert_same_as_plain(
    facts: Facts, decision: dict[str, Any], plain: tuple[Facts, dict[str, Any]]
) -> None:
    plain_facts, plain_decision = plain
    assert plain_decision["outcome"] == "allow"
    assert decision == plain_decision
    assert files_of(facts) == files_of(plain_facts)
    assert facts.subject.digest == plain_facts.subject.digest
    assert facts.scan.findings == plain_facts.scan.findings == []
    assert facts.scan.complete


def test_the_plain_folder_is_allowed_with_nothing_skipped(
    plain: tuple[Facts, dict[str, Any]],
) -> None:
    facts, decision = plain
    assert decision["outcome"] == "allow"
    assert facts.scan.skipped == []
    assert {f.path: f.format for f in facts.files}["README.md"] == "markdown"


def test_a_hugging_face_cache_snapshot_is_judged_like_the_plain_folder(
    plain: tuple[Facts, dict[str, Any]], layouts: Path
) -> None:
    snapshot = hf_cache(real_model(), layouts / "hub")
    (cached,) = scan_cache_dir(layouts / "hub").repos  # huggingface_hub reads it as its own
    assert cached.repo_id == HUB_REPO and {r.commit_hash for r in cached.revisions} == {COMMIT}

    facts, decision = judged(snapshot)

    assert_same_as_plain(facts, decision, plain)
    assert facts.scan.skipped == []


def test_a_git_clone_is_judged_like_the_plain_folder(
    plain: tuple[Facts, dict[str, Any]], layouts: Path
) -> None:
    clone = git_repository(copy_model(real_model(), layouts / "clone"))
    assert any((clone / ".git" / "objects").rglob("*"))

    facts, decision = judged(clone)

    assert_same_as_plain(facts, decision, plain)
    assert facts.scan.skipped == [SkippedPath(path=".git", reason="version-control metadata")]


def test_an_hf_download_local_dir_is_judged_like_the_plain_folder(
    plain: tuple[Facts, dict[str, Any]], layouts: Path
) -> None:
    folder = local_dir_download(real_model(), layouts / "local-dir")
    assert (folder / ".cache" / "huggingface" / "download" / "config.json.metadata").is_file()

    facts, decision = judged(folder)

    assert_same_as_plain(facts, decision, plain)
    download = SkippedPath(path=".cache/huggingface", reason="download metadata")
    assert facts.scan.skipped == [download]


def test_a_clone_with_lfs_pointers_is_denied_as_incomplete(layouts: Path) -> None:
    clone = git_repository(with_lfs_pointers(copy_model(real_model(), layouts / "pointers")))

    code, doc = scan_json(clone)

    assert code == 1
    assert doc["decision"]["outcome"] == "deny"
    scan = doc["facts"]["scan"]
    assert scan["complete"] is False and scan["unanalysed"] == ["model.safetensors"]
    (missing,) = [f for f in scan["findings"] if f["id"] == "file.content_not_present"]
    assert missing["file"] == "model.safetensors"
    assert "content is not present" in missing["message"] and "git lfs pull" in missing["message"]
    assert "scan-incomplete" in {d["id"] for d in doc["decision"]["deny"]}
    assert scan["skipped"] == [{"path": ".git", "reason": "version-control metadata"}]


def test_the_cli_judges_a_cache_snapshot_like_the_plain_folder(
    plain: tuple[Facts, dict[str, Any]], layouts: Path
) -> None:
    snapshot = hf_cache(real_model(), layouts / "cli-hub")

    code, doc = scan_json(snapshot)

    plain_facts = plain[0].to_json_dict()
    assert code == 0 and doc["decision"]["outcome"] == "allow"
    assert doc["facts"]["files"] == plain_facts["files"]
    assert doc["facts"]["subject"]["digest"] == plain_facts["subject"]["digest"]


# --- cache blobs are checked against their names -------------------------------------------


def test_a_changed_lfs_blob_is_a_critical_finding(tmp_path: Path) -> None:
    snapshot = hf_cache(real_model(), tmp_path / "hub")
    blob = (snapshot / "model.safetensors").resolve()
    named = blob.name
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF  # a weight changes; the file stays valid safetensors
    blob.write_bytes(bytes(data))

    facts, decision = judged(snapshot)

    (finding,) = [f for f in facts.scan.findings if f.id == "source.blob_mismatch"]
    assert finding.severity == "critical" and finding.file == "model.safetensors"
    assert named in finding.message and sha256_hex(bytes(data)) in finding.message
    assert decision["outcome"] == "deny"


def test_a_changed_small_blob_is_a_critical_finding(tmp_path: Path) -> None:
    snapshot = hf_cache(real_model(), tmp_path / "hub")
    blob = (snapshot / "config.json").resolve()
    blob.write_bytes(blob.read_bytes().replace(b'"bert"', b'"gpt2"'))

    facts, decision = judged(snapshot)

    (finding,) = [f for f in facts.scan.findings if f.id == "source.blob_mismatch"]
    assert finding.severity == "critical" and finding.file == "config.json"
    assert f"git blob id {blob.name}" in finding.message
    assert decision["outcome"] == "deny"


def test_a_single_file_of_a_snapshot_keeps_its_name_and_is_checked(tmp_path: Path) -> None:
    snapshot = hf_cache(real_model(), tmp_path / "hub")
    blob = (snapshot / "config.json").resolve()

    clean = resolve(ModelRef.parse(str(snapshot / "config.json")))
    blob.write_bytes(b"{}")
    tampered = resolve(ModelRef.parse(str(snapshot / "config.json")))

    assert [f.path for f in clean.files] == ["config.json"] and clean.findings == []
    assert [f.id for f in tampered.findings] == ["source.blob_mismatch"]


# --- links that are not followed ------------------------------------------------------------


def test_a_link_out_of_the_cache_is_still_an_escape(tmp_path: Path) -> None:
    snapshot = hf_cache(real_model(), tmp_path / "hub")
    (snapshot / "extra.txt").symlink_to("/etc/hostname")

    source = resolve(ModelRef.parse(str(snapshot)))

    (escape,) = source.findings
    assert escape.id == "source.symlink_escape" and escape.severity == "high"
    assert escape.file == "extra.txt" and "/etc/hostname" in escape.message
    assert "extra.txt" not in [f.path for f in source.files]


def test_a_link_into_another_cache_repository_is_an_escape(tmp_path: Path) -> None:
    snapshot = hf_cache(real_model(), tmp_path / "hub")
    other = hf_cache(real_model(), tmp_path / "hub", repo="someone/else")
    (snapshot / "other.json").symlink_to((other / "config.json").resolve())

    source = resolve(ModelRef.parse(str(snapshot)))

    assert [(f.id, f.file) for f in source.findings] == [("source.symlink_escape", "other.json")]


def test_a_non_hash_name_in_blobs_is_an_escape(tmp_path: Path) -> None:
    snapshot = hf_cache(real_model(), tmp_path / "hub")
    odd = snapshot.parents[1] / "blobs" / "not-a-hash"
    odd.write_text("{}")
    (snapshot / "odd.json").symlink_to(os.path.relpath(odd, snapshot))

    source = resolve(ModelRef.parse(str(snapshot)))

    assert [(f.id, f.file) for f in source.findings] == [("source.symlink_escape", "odd.json")]


def test_a_link_loop_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "a.bin").symlink_to("b.bin")
    (tmp_path / "b.bin").symlink_to("a.bin")

    source = resolve(ModelRef.parse(str(tmp_path)))

    assert [(f.id, f.file) for f in source.findings] == [
        ("source.broken_symlink", "a.bin"),
        ("source.broken_symlink", "b.bin"),
    ]
    assert "loop" in source.findings[0].message


# --- what is skipped, and folders with nothing to scan --------------------------------------


@pytest.mark.parametrize(
    ("skipped", "reason"),
    [
        (".git", "version-control metadata"),
        (".hg", "version-control metadata"),
        (".svn", "version-control metadata"),
        ("sub/.git", "version-control metadata"),
        (".cache/huggingface", "download metadata"),
    ],
)
def test_metadata_folders_are_skipped_and_recorded(
    tmp_path: Path, skipped: str, reason: str
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "config.json").write_text("{}")
    (tmp_path / skipped).mkdir(parents=True)
    (tmp_path / skipped / "objects.bin").write_bytes(b"x\x9c" + b"\x00" * 16)

    source = resolve(ModelRef.parse(str(tmp_path)))

    assert [f.path for f in source.files] == ["sub/config.json"]
    assert source.skipped == [SkippedPath(path=skipped, reason=reason)]


def test_git_files_and_other_caches_stay_model_files(tmp_path: Path) -> None:
    (tmp_path / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    (tmp_path / ".gitignore").write_text("*.tmp\n")
    (tmp_path / ".cache" / "other").mkdir(parents=True)
    (tmp_path / ".cache" / "other" / "x.json").write_text("{}")

    source = resolve(ModelRef.parse(str(tmp_path)))

    paths = [f.path for f in source.files]
    assert paths == [".cache/other/x.json", ".gitattributes", ".gitignore"]
    assert source.skipped == []


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty-subfolder").mkdir()
    with pytest.raises(NoModelFiles):
        resolve(ModelRef.parse(str(tmp_path)))

    proc = run("scan", str(tmp_path))

    assert proc.returncode == 2
    assert f"error: {tmp_path}: the folder holds no model files (it is empty)" in proc.stderr


def test_a_folder_holding_only_git_metadata_is_an_error(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")

    proc = run("scan", str(tmp_path), "--format", "json")

    assert proc.returncode == 2 and proc.stdout == ""
    assert f"{tmp_path}: the folder holds no model files; only .git" in proc.stderr
    assert "(version-control metadata), which is not model content" in proc.stderr


def test_a_folder_whose_only_file_escapes_says_why(tmp_path: Path) -> None:
    (tmp_path / "model.bin").symlink_to("/etc/hostname")

    with pytest.raises(NoModelFiles) as raised:
        resolve(ModelRef.parse(str(tmp_path)))

    assert "no model files that could be read" in str(raised.value)
    assert "model.bin: symbolic link points outside the model root" in str(raised.value)


def test_a_cache_repository_folder_names_its_snapshots(tmp_path: Path) -> None:
    snapshot = hf_cache(real_model(), tmp_path / "hub")
    shutil.rmtree(snapshot / "1_Pooling")

    proc = run("scan", str(snapshot.parents[1]))

    assert proc.returncode == 2
    assert "a Hugging Face cache repository folder, not one model" in proc.stderr
    assert str(snapshot) in proc.stderr

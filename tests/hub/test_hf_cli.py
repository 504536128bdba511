"""``modelward scan hf://...`` as a user runs it, against a fake Hub on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import (
    EVIL,
    EVIL_COMMIT,
    FLAGGED,
    FLAGGED_COMMIT,
    LOOKALIKE,
    LOOKALIKE_COMMIT,
    MINILM,
    MINILM_COMMIT,
    SMALL,
    SMALL_COMMIT,
    TAMPERED,
    TAMPERED_COMMIT,
    deny_ids,
    modelward,
    scan,
    warn_ids,
)
from tests.hub.fake_hub import FakeHub

MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def _without_timings(facts: dict[str, Any]) -> dict[str, Any]:
    facts = json.loads(json.dumps(facts))
    facts["collection"]["started_at"] = None
    for status in facts["collection"]["collectors"].values():
        status["seconds"] = None
    return facts


def test_pinned_model_downloads_checks_and_is_allowed_then_works_offline(
    hub: FakeHub, hf_env: dict[str, str], tmp_path: Path
) -> None:
    ref = f"hf://{MINILM}@{MINILM_COMMIT}"
    code, online = scan(ref, hf_env)

    assert code == 0, online["decision"]
    assert online["decision"]["outcome"] == "allow"
    facts = online["facts"]
    assert facts["subject"]["resolved_revision"] == MINILM_COMMIT
    assert facts["subject"]["pinned"] is True
    files = {f["path"]: f for f in facts["files"]}
    assert files["model.safetensors"]["sha256"] == MINILM_SAFETENSORS_SHA256
    assert "1_Pooling/config.json" in files
    publisher = facts["publisher"]
    assert publisher["source"] == "huggingface"
    assert publisher["repo"] == MINILM
    assert publisher["author"] == "sentence-transformers"
    assert publisher["gated"] is False and publisher["private"] is False
    assert publisher["downloads"] == 98765432
    assert publisher["hub_scan"] == {"status": "safe", "files_with_issues": []}
    assert publisher["lookalike_of"] is None
    assert publisher["lfs_mismatches"] == []
    if facts["card"] is not None and facts["card"]["present"]:
        assert facts["card"]["license"] == "apache-2.0"
    resolve = f"/{MINILM}/resolve/{MINILM_COMMIT}/model.safetensors"
    assert ("GET", resolve) in hub.requests
    blobs = Path(hf_env["HF_HUB_CACHE"]) / f"models--{MINILM.replace('/', '--')}" / "blobs"
    assert (blobs / MINILM_SAFETENSORS_SHA256).is_file()

    hub.stop()
    offline_env = {**hf_env, "HF_HUB_OFFLINE": "1"}
    code, offline = scan(ref, offline_env)

    assert code == 0, offline["decision"]
    assert _without_timings(offline["facts"]) == _without_timings(facts)
    assert offline["decision"]["deny"] == online["decision"]["deny"]
    assert offline["decision"]["warn"] == online["decision"]["warn"]


def test_unpinned_reference_records_the_commit_and_is_denied(hf_env: dict[str, str]) -> None:
    code, report = scan(f"hf://{SMALL}", hf_env)

    assert code == 1
    subject = report["facts"]["subject"]
    assert subject["pinned"] is False and subject["revision"] is None
    assert subject["resolved_revision"] == SMALL_COMMIT
    assert "unpinned-reference" in deny_ids(report)


def test_malicious_checkpoint_is_denied_although_the_hub_scan_missed_it(
    hf_env: dict[str, str], canary: Path
) -> None:
    code, report = scan(f"hf://{EVIL}@{EVIL_COMMIT}", hf_env)

    assert code == 1
    assert report["facts"]["publisher"]["hub_scan"]["status"] == "safe"
    assert {"scan-finding", "unsafe-serialization"} <= deny_ids(report)
    assert not canary.exists()


def test_lookalike_organisation_is_denied(hf_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "trusted.yaml"
    config.write_text("trusted_publishers: [meta-llama, microsoft, google, mistralai]\n")

    code, report = scan(f"hf://{LOOKALIKE}@{LOOKALIKE_COMMIT}", hf_env, "--data", str(config))

    assert code == 1
    assert report["facts"]["publisher"]["lookalike_of"] == "meta-llama"
    assert {"publisher-lookalike", "publisher-untrusted"} <= deny_ids(report)


def test_lookalike_organisation_is_denied_with_the_default_config(hf_env: dict[str, str]) -> None:
    code, report = scan(f"hf://{LOOKALIKE}@{LOOKALIKE_COMMIT}", hf_env)

    assert code == 1
    assert "publisher-lookalike" in deny_ids(report)


def test_bytes_that_differ_from_the_hub_lfs_sha256_are_denied(hf_env: dict[str, str]) -> None:
    code, report = scan(f"hf://{TAMPERED}@{TAMPERED_COMMIT}", hf_env)

    assert code == 1
    assert report["facts"]["publisher"]["lfs_mismatches"] == ["model.safetensors"]
    assert "hub-hash-mismatch" in deny_ids(report)


def test_model_the_hub_flags_is_denied(hf_env: dict[str, str]) -> None:
    code, report = scan(f"hf://{FLAGGED}@{FLAGGED_COMMIT}", hf_env)

    assert code == 1
    hub_scan = report["facts"]["publisher"]["hub_scan"]
    assert hub_scan == {
        "status": "unsafe",
        "files_with_issues": [{"path": "model.safetensors", "level": "unsafe"}],
    }
    assert "hub-scan-flagged" in deny_ids(report)


def test_rate_limited_hub_without_cache_is_an_error(hub: FakeHub, hf_env: dict[str, str]) -> None:
    hub.rate_limited = True

    proc = modelward("scan", f"hf://{SMALL}@{SMALL_COMMIT}", "--format", "json", env=hf_env)

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"hf://{SMALL}@{SMALL_COMMIT}" in proc.stderr
    assert "HTTP 429" in proc.stderr


def test_rate_limited_hub_with_cache_reports_unavailable_not_clean(
    hub: FakeHub, hf_env: dict[str, str]
) -> None:
    ref = f"hf://{TAMPERED}@{TAMPERED_COMMIT}"
    scan(ref, hf_env)
    hub.rate_limited = True

    code, report = scan(ref, hf_env)

    publisher = report["facts"]["publisher"]
    assert publisher["hub_scan"]["status"] == "unavailable"
    assert publisher["author"] == "acme-research"  # from the reference, the Hub did not say
    assert publisher["downloads"] is None
    # the cache still knows what the Hub advertised, so tampering is still caught
    assert publisher["lfs_mismatches"] == ["model.safetensors"]
    assert code == 1
    assert "hub-hash-mismatch" in deny_ids(report)
    assert "hub-scan-unavailable" in warn_ids(report)


def test_offline_without_cache_is_an_error(hf_env: dict[str, str]) -> None:
    env = {**hf_env, "HF_HUB_OFFLINE": "1"}

    proc = modelward("scan", f"hf://{SMALL}@{SMALL_COMMIT}", env=env)

    assert proc.returncode == 2
    assert SMALL in proc.stderr and "offline" in proc.stderr


def test_unknown_repository_is_an_error(hf_env: dict[str, str]) -> None:
    proc = modelward("scan", "hf://nobody/nothing@main", env=hf_env)

    assert proc.returncode == 2
    assert "hf://nobody/nothing@main" in proc.stderr
    assert "repository not found" in proc.stderr


@pytest.mark.slow  # huggingface_hub retries a refused connection for about 25 s
def test_unreachable_hub_is_an_error(hub: FakeHub, hf_env: dict[str, str]) -> None:
    hub.stop()

    proc = modelward("scan", f"hf://{SMALL}@{SMALL_COMMIT}", env=hf_env)

    assert proc.returncode == 2
    assert SMALL in proc.stderr and "cannot reach" in proc.stderr

"""``HfResolver`` and the publisher collector in process, against the fake Hub."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import constants as hf_constants

from modelward.engine.collectors import CollectContext, CollectorSkipped
from modelward.engine.collectors.publisher import PublisherCollector
from modelward.engine.errors import ResolveError
from modelward.engine.pipeline import collect_facts
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve
from modelward.engine.source import ModelSource
from tests.hub.conftest import (
    MINILM,
    REAL_MODEL,
    SMALL,
    SMALL_COMMIT,
    TAMPERED,
    TAMPERED_COMMIT,
    minilm_files,
)
from tests.hub.fake_hub import FakeHub, git_blob_id

SMALL_REF = f"hf://{SMALL}@{SMALL_COMMIT}"


@pytest.fixture
def cache(tmp_path: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty Hugging Face cache, the fake Hub as endpoint, online."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    # read once, at import: without it huggingface_hub asks its default endpoint for telemetry
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    yield tmp_path / "hf-cache"


def repo_folder(cache: Path, repo: str) -> Path:
    return cache / f"models--{repo.replace('/', '--')}"


def go_offline(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_download_records_the_commit_and_the_hub_facts(cache: Path) -> None:
    source = resolve(ModelRef.parse(SMALL_REF))

    assert source.ref.raw == SMALL_REF
    assert source.metadata["resolved_revision"] == SMALL_COMMIT
    hub = source.metadata["hub"]
    assert hub["status"] == "ok" and hub["origin"] == "hub"
    assert hub["author"] == "acme-research"
    assert hub["security"] == {"status": "safe", "files_with_issues": []}
    assert hub["files"]["model.safetensors"]["lfs_sha256"] is not None
    assert hub["files"]["config.json"]["lfs_sha256"] is None
    assert [f.path for f in source.files] == ["README.md", "config.json", "model.safetensors"]
    folder = repo_folder(cache, SMALL).resolve()
    assert all(f.real.is_relative_to(folder / "blobs") for f in source.files)
    assert source.findings == []


def test_collecting_a_resolved_source_asks_the_hub_nothing_more(cache: Path, hub: FakeHub) -> None:
    source = resolve(ModelRef.parse(SMALL_REF))
    asked = len(hub.requests)

    facts = collect_facts(source)

    assert len(hub.requests) == asked
    assert facts.subject.resolved_revision == SMALL_COMMIT


def test_offline_resolution_reports_the_saved_hub_facts(
    cache: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    online = resolve(ModelRef.parse(f"hf://{SMALL}")).metadata["hub"]
    go_offline(hub, monkeypatch)

    offline_source = resolve(ModelRef.parse(f"hf://{SMALL}"))  # main, from refs/main

    offline = offline_source.metadata["hub"]
    assert offline_source.metadata["resolved_revision"] == SMALL_COMMIT
    assert offline["origin"] == "cache"
    for key in ("author", "gated", "downloads", "created_at", "security", "files"):
        assert offline[key] == online[key], key


def test_offline_without_saved_facts_is_unavailable_but_still_checks_hashes(
    cache: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = f"hf://{TAMPERED}@{TAMPERED_COMMIT}"
    resolve(ModelRef.parse(ref))
    shutil.rmtree(repo_folder(cache, TAMPERED) / "modelward")
    go_offline(hub, monkeypatch)

    facts = collect_facts(ref)

    assert facts.publisher is not None
    assert facts.publisher.hub_scan is not None
    assert facts.publisher.hub_scan.status == "unavailable"
    assert facts.publisher.author == "acme-research"
    assert facts.publisher.lfs_mismatches == ["model.safetensors"]


def test_a_symlink_out_of_the_cache_is_not_followed(
    cache: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = resolve(ModelRef.parse(SMALL_REF))
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    link = source.root / "config.json"
    link.unlink()
    link.symlink_to(outside)
    go_offline(hub, monkeypatch)

    again = resolve(ModelRef.parse(SMALL_REF))

    assert "config.json" not in [f.path for f in again.files]
    assert [f.id for f in again.findings] == ["source.symlink_escape"]


def test_a_snapshot_linked_out_of_the_cache_is_refused(
    cache: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = resolve(ModelRef.parse(SMALL_REF))
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(source.root, elsewhere)
    shutil.rmtree(source.root)
    source.root.symlink_to(elsewhere)
    go_offline(hub, monkeypatch)

    with pytest.raises(ResolveError, match="not inside"):
        resolve(ModelRef.parse(SMALL_REF))


def test_files_changed_or_added_in_the_cache_are_mismatches(
    cache: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = resolve(ModelRef.parse(SMALL_REF))
    blob = (source.root / "config.json").resolve()
    blob.write_bytes(b'{"model_type": "gpt"}\n')  # a small (non-LFS) file: git blob id differs
    (source.root / "extra.py").write_text("print('not from the hub')\n")
    go_offline(hub, monkeypatch)

    facts = collect_facts(SMALL_REF)

    assert facts.publisher is not None
    assert facts.publisher.lfs_mismatches == ["config.json", "extra.py"]


def test_per_file_security_failure_is_unavailable_not_safe(cache: Path, hub: FakeHub) -> None:
    hub.broken.add("paths-info")

    hub_facts = resolve(ModelRef.parse(SMALL_REF)).metadata["hub"]

    assert hub_facts["status"] == "ok"
    assert hub_facts["security"]["status"] == "unavailable"


def test_model_info_failure_after_download_is_unavailable(cache: Path, hub: FakeHub) -> None:
    hub.broken.add("revision")

    facts = collect_facts(SMALL_REF)

    assert facts.subject.resolved_revision == SMALL_COMMIT
    assert facts.publisher is not None
    assert facts.publisher.hub_scan is not None
    assert facts.publisher.hub_scan.status == "unavailable"
    assert facts.publisher.downloads is None
    assert facts.publisher.lfs_mismatches == []  # checked against the cached tree listing


def test_unknown_revision_is_an_error(cache: Path) -> None:
    with pytest.raises(ResolveError, match="revision does not exist"):
        resolve(ModelRef.parse(f"hf://{SMALL}@{'0' * 40}"))


def test_rate_limited_resolution_names_the_repository_and_the_reason(
    cache: Path, hub: FakeHub
) -> None:
    hub.rate_limited = True

    with pytest.raises(ResolveError) as raised:
        resolve(ModelRef.parse(f"hf://{SMALL}"))

    message = str(raised.value)
    assert f"hf://{SMALL}" in message and "HTTP 429" in message


def test_publisher_collector_skips_models_without_hub_facts(tmp_path: Path) -> None:
    source = ModelSource(ModelRef.parse(str(tmp_path)), tmp_path)

    with pytest.raises(CollectorSkipped, match="not a hub model"):
        PublisherCollector().collect(source, CollectContext())


def test_fake_hub_blob_ids_are_the_real_repository_ones(shared: Path) -> None:
    manifest = shared / "fixtures" / "hub" / "packaged-model-all-MiniLM-L6-v2" / "files.json"
    real = {f["path"]: f for f in json.loads(manifest.read_text())["files"]}
    files = minilm_files()
    for path, content in files.items():
        if isinstance(content, bytes):
            assert git_blob_id(content) == real[path]["git_blob_sha1"], path
    assert REAL_MODEL.is_dir() and MINILM.endswith("all-MiniLM-L6-v2")

"""``gs://`` through the S3-compatible API, and a real model read from a bucket exactly as from
its folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelward.engine.pipeline import collect_facts
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.buckets.client import GS_ENDPOINT, endpoint_of, make_client
from modelward.engine.resolvers.buckets.resolver import S3Resolver
from modelward.engine.resolvers.fetch import FetchSettings
from tests.hub.conftest import REAL_MODEL
from tests.sources.objectstore import S3Server


def test_gs_uses_the_gcs_endpoint_unless_overridden(
    s3_env: S3Server, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert endpoint_of(make_client("gs", settings)) == GS_ENDPOINT
    monkeypatch.setenv("MODELWARD_GS_ENDPOINT", "http://127.0.0.1:9")
    assert endpoint_of(make_client("gs", settings)) == "http://127.0.0.1:9"


def test_gs_prefix(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("MODELWARD_GS_ENDPOINT", s3_env.endpoint)
    monkeypatch.setenv("MODELWARD_GS_REGION", s3_env.region)
    s3.put_object(Bucket=bucket, Key="gcs/model/config.json", Body=b"{}")
    source = S3Resolver(settings).resolve(ModelRef.parse(f"gs://{bucket}/gcs/model"))
    assert [f.path for f in source.files] == ["config.json"]
    assert source.metadata["origin"]["scheme"] == "gs"
    assert source.metadata["object_store"] == {"endpoint": s3_env.endpoint}


def test_real_model_from_a_bucket_has_the_facts_of_its_folder(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    if not (REAL_MODEL / "model.safetensors").is_file():
        pytest.fail(f"{REAL_MODEL} is missing; fetch it with `make models`")
    for path in sorted(REAL_MODEL.rglob("*")):
        if path.is_file():
            key = f"hub/minilm/{path.relative_to(REAL_MODEL).as_posix()}"
            s3.upload_file(str(path), bucket, key)
    source = S3Resolver(settings).resolve(ModelRef.parse(f"s3://{bucket}/hub/minilm/"))
    remote = collect_facts(source)
    local = collect_facts(str(REAL_MODEL))

    def files(facts: Any) -> list[tuple[str, int, str | None]]:
        return [(f.path, f.size, f.sha256) for f in facts.files]

    assert files(remote) == files(local)
    assert len(files(remote)) >= 5
    assert remote.manifest is not None and local.manifest is not None
    assert remote.manifest.digest == local.manifest.digest
    assert remote.subject.resolved_revision == source.metadata["resolved_revision"]
    assert not [f for f in remote.scan.findings if f.id.startswith("source.")]


def test_tampered_cache_copy_is_a_critical_finding(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    s3.put_object(Bucket=bucket, Key="t/config.json", Body=b'{"a": 1}')
    S3Resolver(settings).resolve(ModelRef.parse(f"s3://{bucket}/t/"))
    blobs = [p for p in (settings.cache_dir / "s3" / "objects").rglob("*") if p.is_file()]
    blob = next(p for p in blobs if not p.name.endswith(".json"))
    blob.write_bytes(b'{"a": 2}')  # same size, other bytes, after the download
    facts = collect_facts(S3Resolver(settings).resolve(ModelRef.parse(f"s3://{bucket}/t/")))
    mismatches = [f for f in facts.scan.findings if f.id == "source.blob_mismatch"]
    assert [(f.file, f.severity) for f in mismatches] == [("config.json", "critical")]


def test_files_are_read_from_the_object_cache(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    s3.put_object(Bucket=bucket, Key="l/a.bin", Body=b"a")
    source = S3Resolver(settings).resolve(ModelRef.parse(f"s3://{bucket}/l/"))
    objects = (settings.cache_dir / "s3" / "objects").resolve()
    assert all(Path(f.real).is_relative_to(objects) for f in source.files)

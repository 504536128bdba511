"""The object cache: reuse, offline resolution, swapped versions, resumed downloads."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.errors import ResolveError
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.buckets.cache import ObjectCache
from modelward.engine.resolvers.buckets.objects import ObjectEntry
from modelward.engine.resolvers.buckets.resolver import S3Resolver
from modelward.engine.resolvers.fetch import FetchSettings
from modelward.engine.source import ModelSource
from tests.sources.objectstore import S3Server


def contents(source: ModelSource) -> dict[str, bytes]:
    return {f.path: f.real.read_bytes() for f in source.files}


def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("offline mode opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_offline_resolves_from_what_an_online_run_recorded(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.put_object(Bucket=bucket, Key="m/a.bin", Body=b"aaa")
    s3.put_object(Bucket=bucket, Key="m/sub/b.bin", Body=b"bb")
    online = S3Resolver(settings).resolve(ModelRef.parse(f"s3://{bucket}/m/"))
    s3.put_object(Bucket=bucket, Key="m/a.bin", Body=b"changed after the online run")
    no_network(monkeypatch)
    offline_settings = FetchSettings(settings.cache_dir, offline=True)
    offline = S3Resolver(offline_settings).resolve(ModelRef.parse(f"s3://{bucket}/m/"))
    assert contents(offline) == {"a.bin": b"aaa", "sub/b.bin": b"bb"}
    assert offline.metadata["resolved_revision"] == online.metadata["resolved_revision"]


def test_offline_without_a_previous_run(
    s3_env: S3Server, bucket: str, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_network(monkeypatch)
    offline = FetchSettings(settings.cache_dir, offline=True)
    with pytest.raises(ResolveError, match="never resolved online with this cache"):
        S3Resolver(offline).resolve(ModelRef.parse(f"s3://{bucket}/m/"))


def test_offline_needs_version_ids(
    s3_env: S3Server, s3: Any, plain_bucket: str, settings: FetchSettings
) -> None:
    s3.put_object(Bucket=plain_bucket, Key="m/a.bin", Body=b"a")
    S3Resolver(settings).resolve(ModelRef.parse(f"s3://{plain_bucket}/m/"))
    offline = FetchSettings(settings.cache_dir, offline=True)
    with pytest.raises(ResolveError, match="no version id to pin them by"):
        S3Resolver(offline).resolve(ModelRef.parse(f"s3://{plain_bucket}/m/"))


def test_offline_pinned_version_from_the_object_cache(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = s3.put_object(Bucket=bucket, Key="m/w.bin", Body=b"weights")["VersionId"]
    S3Resolver(settings).resolve(ModelRef.parse(f"s3://{bucket}/m/"))  # caches the object
    no_network(monkeypatch)
    offline = FetchSettings(settings.cache_dir, offline=True)
    ref = ModelRef.parse(f"s3://{bucket}/m/w.bin?versionId={version}")
    assert contents(S3Resolver(offline).resolve(ref)) == {"w.bin": b"weights"}


def test_swapped_version_is_an_error(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    version = s3.put_object(Bucket=bucket, Key="m/w.bin", Body=b"weights")["VersionId"]
    ref = ModelRef.parse(f"s3://{bucket}/m/w.bin?versionId={version}")
    S3Resolver(settings).resolve(ref)
    # The record of what this version was when downloaded now disagrees with the store.
    cache = ObjectCache(settings, s3_env.endpoint, bucket)
    blob = cache.blob(ObjectEntry("m/w.bin", version, "", 0))
    record_path = blob.with_name(blob.name + ".json")
    record = json.loads(record_path.read_text())
    record["object"]["etag"] = '"0123456789abcdef0123456789abcdef"'
    record_path.write_text(json.dumps(record))
    with pytest.raises(ResolveError) as info:
        S3Resolver(settings).resolve(ref)
    assert f"version {version} changed" in info.value.reason
    assert f"s3://{bucket}/m/w.bin" in info.value.reason


def test_cached_objects_are_not_downloaded_again(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    s3.put_object(Bucket=bucket, Key="m/w.bin", Body=b"w" * 1000)
    received: list[int] = []

    def progress(label: str, total: int | None) -> Any:
        return received.append

    S3Resolver(settings, progress).resolve(ModelRef.parse(f"s3://{bucket}/m/"))
    assert sum(received) == 1000
    S3Resolver(settings, progress).resolve(ModelRef.parse(f"s3://{bucket}/m/"))
    assert sum(received) == 1000


def test_resume_of_a_partial_download(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    version = s3.put_object(Bucket=bucket, Key="m/big.bin", Body=body)["VersionId"]
    etag = s3.head_object(Bucket=bucket, Key="m/big.bin")["ETag"]
    cache = ObjectCache(settings, s3_env.endpoint, bucket)
    blob = cache.blob(ObjectEntry("m/big.bin", version, etag, len(body)))
    blob.parent.mkdir(parents=True)
    Path(f"{blob}.partial").write_bytes(body[:300_000])  # an interrupted earlier run
    received: list[int] = []

    def progress(label: str, total: int | None) -> Any:
        return received.append

    source = S3Resolver(settings, progress).resolve(ModelRef.parse(f"s3://{bucket}/m/big.bin"))
    assert contents(source) == {"big.bin": body}
    assert sum(received) == len(body) - 300_000  # only the rest came over the network
    assert not Path(f"{blob}.partial").exists()

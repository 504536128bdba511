"""Every way an ``s3://`` reference fails is a ``ResolveError`` naming the object and why."""

from __future__ import annotations

import time
from typing import Any

import pytest

from modelward.engine.errors import ResolveError
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.buckets.resolver import S3Resolver
from modelward.engine.resolvers.fetch import FetchSettings
from tests.e2e.kube import free_port
from tests.sources.objectstore import S3Server


def failure(ref: str, settings: FetchSettings, **kwargs: Any) -> ResolveError:
    with pytest.raises(ResolveError) as info:
        S3Resolver(settings, **kwargs).resolve(ModelRef.parse(ref))
    assert info.value.path == ref
    return info.value


def test_deleted_pinned_version(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    old = s3.put_object(Bucket=bucket, Key="m/w.bin", Body=b"old")["VersionId"]
    s3.put_object(Bucket=bucket, Key="m/w.bin", Body=b"new")
    s3.delete_object(Bucket=bucket, Key="m/w.bin", VersionId=old)
    error = failure(f"s3://{bucket}/m/w.bin?versionId={old}", settings)
    assert f"s3://{bucket}/m/w.bin" in error.reason
    assert f"version {old} does not exist" in error.reason


def test_unknown_version_id(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    s3.put_object(Bucket=bucket, Key="m/w.bin", Body=b"x")
    error = failure(f"s3://{bucket}/m/w.bin?versionId=01NOSUCHVERSION0000000000", settings)
    assert "version 01NOSUCHVERSION0000000000 does not exist" in error.reason


def test_missing_bucket(s3_env: S3Server, settings: FetchSettings) -> None:
    error = failure("s3://no-such-bucket-here/models/", settings)
    assert "s3://no-such-bucket-here/models/" in error.reason
    assert "the bucket does not exist" in error.reason


def test_missing_key_and_empty_prefix(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    error = failure(f"s3://{bucket}/nothing/here.bin", settings)
    assert str(error) == f"s3://{bucket}/nothing/here.bin: no objects to scan"


def test_wrong_secret_key(
    s3_env: S3Server, bucket: str, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    error = failure(f"s3://{bucket}/m/", settings)
    assert "SignatureDoesNotMatch" in error.reason
    assert s3_env.endpoint in error.reason


def test_unknown_access_key(
    s3_env: S3Server, bucket: str, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOBODY")
    error = failure(f"s3://{bucket}/m/w.bin", settings)
    assert "InvalidAccessKeyId" in error.reason


def test_no_credentials(
    s3_env: S3Server, bucket: str, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    error = failure(f"s3://{bucket}/m/", settings)
    assert "no credentials found" in error.reason


def test_unreachable_endpoint(
    s3_env: S3Server, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    started = time.monotonic()
    error = failure("s3://some-bucket/m/", settings)
    assert f"cannot connect to {endpoint}" in error.reason
    assert time.monotonic() - started < 15


def test_too_many_objects(s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings) -> None:
    for name in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=f"many/{name}", Body=b"x")
    error = failure(f"s3://{bucket}/many/", settings, max_objects=2)
    assert "more than 2 objects under the prefix" in error.reason


def test_too_many_bytes(s3_env: S3Server, s3: Any, bucket: str, tmp_path: Any) -> None:
    s3.put_object(Bucket=bucket, Key="big/a", Body=b"x" * 100)
    s3.put_object(Bucket=bucket, Key="big/b", Body=b"x" * 100)
    settings = FetchSettings(tmp_path / "cache", max_download=150)
    error = failure(f"s3://{bucket}/big/", settings)
    assert "200 bytes in 2 objects is more than MODELWARD_MAX_DOWNLOAD=150" in error.reason
    assert not (tmp_path / "cache" / "s3" / "objects").exists()

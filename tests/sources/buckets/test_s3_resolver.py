"""``s3://`` references against a real S3 server: single objects, versions, prefixes, cache."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve
from modelward.engine.resolvers.buckets.objects import listing_digest
from modelward.engine.resolvers.buckets.resolver import S3Resolver
from modelward.engine.resolvers.fetch import FetchSettings
from modelward.engine.source import ModelSource
from tests.sources.objectstore import S3Server


def put(s3: Any, bucket: str, key: str, body: bytes) -> str | None:
    return s3.put_object(Bucket=bucket, Key=key, Body=body).get("VersionId")


def read_all(source: ModelSource) -> dict[str, bytes]:
    out = {}
    for f in source.files:
        with f.open() as stream:
            out[f.path] = stream.read()
    return out


def resolve_s3(ref: str, settings: FetchSettings, **kwargs: Any) -> ModelSource:
    return S3Resolver(settings, **kwargs).resolve(ModelRef.parse(ref))


def test_single_object_latest_version(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    put(s3, bucket, "team/model.bin", b"first")
    latest = put(s3, bucket, "team/model.bin", b"second!")
    source = resolve_s3(f"s3://{bucket}/team/model.bin", settings)
    assert read_all(source) == {"model.bin": b"second!"}
    assert source.single_file
    assert source.metadata["resolved_revision"] == latest
    origin = source.metadata["origin"]
    assert origin["scheme"] == "s3"
    assert origin["location"] == f"{bucket}/team/model.bin"
    assert origin["digest"] is None
    assert [(o["key"], o["version_id"], o["size"]) for o in origin["objects"]] == [
        ("team/model.bin", latest, 7)
    ]
    assert source.metadata["expected_sha256"] == {
        "model.bin": hashlib.sha256(b"second!").hexdigest()
    }


def test_pinned_version_keeps_its_bytes_after_a_new_upload(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    old = put(s3, bucket, "m/weights.bin", b"old weights")
    ref = f"s3://{bucket}/m/weights.bin?versionId={old}"
    assert read_all(resolve_s3(ref, settings)) == {"weights.bin": b"old weights"}
    put(s3, bucket, "m/weights.bin", b"new weights, swapped in")
    again = resolve_s3(ref, FetchSettings(settings.cache_dir.parent / "fresh-cache"))
    assert read_all(again) == {"weights.bin": b"old weights"}
    assert again.metadata["resolved_revision"] == old
    assert ModelRef.parse(ref).pinned


def test_prefix_with_nested_keys_and_its_pin(
    s3_env: S3Server, s3: Any, bucket: str, settings: FetchSettings
) -> None:
    put(s3, bucket, "models/bert/config.json", b"{}")
    put(s3, bucket, "models/bert/onnx/model.onnx", b"onnx bytes")
    put(s3, bucket, "models/bert/", b"")  # a folder marker, as consoles create them
    put(s3, bucket, "models/bert-old/config.json", b"not this one")
    put(s3, bucket, "models/bert/gone.txt", b"deleted later")
    s3.delete_object(Bucket=bucket, Key="models/bert/gone.txt")
    source = resolve_s3(f"s3://{bucket}/models/bert/", settings)
    assert read_all(source) == {"config.json": b"{}", "onnx/model.onnx": b"onnx bytes"}
    objects = source.metadata["origin"]["objects"]
    assert [o["key"] for o in objects] == [
        "models/bert/",
        "models/bert/config.json",
        "models/bert/onnx/model.onnx",
    ]
    # versitygw keeps a folder marker as a directory, without a version
    assert all(o["version_id"] for o in objects if not o["key"].endswith("/"))
    pin = source.metadata["resolved_revision"]
    assert pin.startswith("sha256:") and source.metadata["origin"]["digest"] == pin
    # Without the trailing slash the key names no object: it is the same prefix.
    same = resolve_s3(f"s3://{bucket}/models/bert", settings)
    assert same.metadata["resolved_revision"] == pin
    put(s3, bucket, "models/bert/config.json", b'{"v": 2}')
    changed = resolve_s3(f"s3://{bucket}/models/bert/", settings)
    assert changed.metadata["resolved_revision"] != pin
    assert read_all(changed)["config.json"] == b'{"v": 2}'


def test_resolve_routes_s3_references(
    s3_env: S3Server, s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELWARD_CACHE_DIR", str(tmp_path / "env-cache"))
    put(s3, bucket, "a/model.safetensors", b"bytes")
    source = resolve(ModelRef.parse(f"s3://{bucket}/a/model.safetensors"))
    assert [f.path for f in source.files] == ["model.safetensors"]
    assert source.files[0].real.is_relative_to(tmp_path / "env-cache" / "s3" / "objects")


def test_unversioned_bucket(
    s3_env: S3Server, s3: Any, plain_bucket: str, settings: FetchSettings
) -> None:
    put(s3, plain_bucket, "p/m.bin", b"v1")
    source = resolve_s3(f"s3://{plain_bucket}/p/", settings)
    assert read_all(source) == {"m.bin": b"v1"}
    assert [o["version_id"] for o in source.metadata["origin"]["objects"]] == [None]
    put(s3, plain_bucket, "p/m.bin", b"v2 (overwritten in place)")
    # Same key, new ETag and size: the cached copy of v1 is not reused.
    assert read_all(resolve_s3(f"s3://{plain_bucket}/p/", settings)) == {
        "m.bin": b"v2 (overwritten in place)"
    }


def test_listing_digest_is_order_independent() -> None:
    from modelward.engine.resolvers.buckets.objects import ObjectEntry

    a = ObjectEntry("p/a", "1", '"e1"', 1)
    b = ObjectEntry("p/b", "2", '"e2"', 2)
    assert listing_digest([a, b]) == listing_digest([b, a])
    assert listing_digest([a, b]) != listing_digest([a, ObjectEntry("p/b", "3", '"e2"', 2)])

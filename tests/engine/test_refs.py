from __future__ import annotations

import pytest

from modelward.engine.errors import InvalidReference, UnsupportedReference
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("ref", "scheme", "location", "revision", "pinned"),
    [
        ("./model", "local", "./model", None, False),
        ("/abs/model.safetensors", "local", "/abs/model.safetensors", None, False),
        ("file:///models/m", "file", "/models/m", None, False),
        ("hf://org/name", "hf", "org/name", None, False),
        ("hf://org/name@main", "hf", "org/name", "main", False),
        (f"hf://org/name@{SHA}", "hf", "org/name", SHA, True),
        (f"hf://org/name:{SHA}", "hf", "org/name", SHA, True),
        ("oci://reg.io/models/m:1.0", "oci", "reg.io/models/m:1.0", None, False),
        (
            f"oci://reg.io/m@sha256:{'a' * 64}",
            "oci",
            f"reg.io/m@sha256:{'a' * 64}",
            f"sha256:{'a' * 64}",
            True,
        ),
        ("s3://bucket/path/model", "s3", "bucket/path/model", None, False),
        ("gs://bucket/model", "gs", "bucket/model", None, False),
        ("pvc://claim/models/m", "pvc", "claim/models/m", None, False),
        ("https://example.com/m.bin", "https", "example.com/m.bin", None, False),
        ("http://example.com/m.bin", "http", "example.com/m.bin", None, False),
        ("model-registry://reg/model/v1", "model-registry", "reg/model/v1", None, False),
        ("kit://jozu.ml/org/model:latest", "kit", "jozu.ml/org/model:latest", None, False),
        (
            f"kit://jozu.ml/org/model@sha256:{'b' * 64}",
            "kit",
            f"jozu.ml/org/model@sha256:{'b' * 64}",
            f"sha256:{'b' * 64}",
            True,
        ),
    ],
)
def test_parse(ref: str, scheme: str, location: str, revision: str | None, pinned: bool) -> None:
    parsed = ModelRef.parse(ref)
    assert (parsed.scheme, parsed.location, parsed.revision, parsed.pinned) == (
        scheme,
        location,
        revision,
        pinned,
    )


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("", "empty reference"),
        ("ftp://host/x", "unknown scheme 'ftp'"),
        ("hf://", "nothing after the scheme"),
        ("hf://org/name/extra", "hf://org/name[@revision]"),
        ("hf://org/name@", "empty revision"),
        ("s3:///nobucket", "needs a host, bucket"),
        ("./a\nb", "control characters"),
    ],
)
def test_invalid(ref: str, reason: str) -> None:
    with pytest.raises(InvalidReference, match="invalid model reference") as info:
        ModelRef.parse(ref)
    assert reason in info.value.reason


@pytest.mark.parametrize(
    "ref",
    [
        "oci://r/m:1",
        "s3://b/m",
        "gs://b/m",
        "pvc://c/m",
        "https://h/m",
        "model-registry://r/m/1",
        "kit://r/m:1",
    ],
)
def test_remote_schemes_are_not_supported_yet(ref: str) -> None:
    with pytest.raises(UnsupportedReference, match="not supported yet"):
        resolve(ModelRef.parse(ref))

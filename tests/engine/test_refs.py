from __future__ import annotations

import pytest

from modelward.engine.errors import InvalidReference, UnsupportedReference
from modelward.engine.refs import ModelRef, OciName
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
        ("oci://reg.io/models/m:1.0", "oci", "reg.io/models/m", "1.0", False),
        (
            f"oci://reg.io/m@sha256:{'a' * 64}",
            "oci",
            "reg.io/m",
            f"sha256:{'a' * 64}",
            True,
        ),
        ("s3://bucket/path/model", "s3", "bucket/path/model", None, False),
        ("gs://bucket/model", "gs", "bucket/model", None, False),
        ("pvc://claim/models/m", "pvc", "claim/models/m", None, False),
        ("https://example.com/m.bin", "https", "example.com/m.bin", None, False),
        ("http://example.com/m.bin", "http", "example.com/m.bin", None, False),
        ("model-registry://reg/model/v1", "model-registry", "reg/model/v1", None, False),
        ("kit://jozu.ml/org/model:latest", "kit", "jozu.ml/org/model", "latest", False),
        (
            f"kit://jozu.ml/org/model@sha256:{'b' * 64}",
            "kit",
            "jozu.ml/org/model",
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
        ("s3://b/?versionId=1", "versionId names one object, not a prefix"),
        ("s3://b/k?versionId=1&x=2", "the only query allowed is ?versionId="),
        ("s3://b/k?prefix=x", "the only query allowed is ?versionId="),
        ("s3://b/k?versionId=", "versionId must be 1-1024 printable"),
        ("s3://-b/k", "is not a bucket name"),
        ("https://user:pw@h/m.bin", "credentials in the URL are not allowed"),
        ("https://h/m.bin#top", "the only fragment allowed is #sha256="),
        ("https://h/m.bin#sha256=abc", "the only fragment allowed is #sha256="),
        ("https:///m.bin", "needs a host"),
        ("./a\nb", "control characters"),
    ],
)
def test_invalid(ref: str, reason: str) -> None:
    with pytest.raises(InvalidReference, match="invalid model reference") as info:
        ModelRef.parse(ref)
    assert reason in info.value.reason


SHA256 = "ab" * 32


@pytest.mark.parametrize(
    ("ref", "location", "revision", "pinned", "canonical"),
    [
        ("s3://b/models/", "b/models/", None, False, "s3://b/models/"),
        ("S3://b/models///", "b/models/", None, False, "s3://b/models/"),
        ("s3://b", "b", None, False, "s3://b"),
        ("s3://b/m.bin?versionId=3HL4k.q_", "b/m.bin", "3HL4k.q_", True, "s3://b/m.bin?versionId=3HL4k.q_"),
        ("s3://b/m?versionId=a+b%2Fc", "b/m", "a+b/c", True, "s3://b/m?versionId=a%2Bb%2Fc"),
        ("gs://b/p/x", "b/p/x", None, False, "gs://b/p/x"),
        (f"https://Host.Example:8443/a/m.bin#sha256={SHA256.upper()}", "host.example:8443/a/m.bin",
         f"sha256:{SHA256}", True, f"https://host.example:8443/a/m.bin#sha256={SHA256}"),
        ("https://h/a/m.bin?sig=1", "h/a/m.bin?sig=1", None, False, "https://h/a/m.bin?sig=1"),
    ],
)  # fmt: skip
def test_bucket_and_url_references(
    ref: str, location: str, revision: str | None, pinned: bool, canonical: str
) -> None:
    parsed = ModelRef.parse(ref)
    assert (parsed.location, parsed.revision, parsed.pinned) == (location, revision, pinned)
    assert parsed.canonical == canonical


@pytest.mark.parametrize(
    "ref",
    [
        "pvc://c/m",
        "model-registry://r/m/1",
    ],
)
def test_remote_schemes_are_not_supported_yet(ref: str) -> None:
    with pytest.raises(UnsupportedReference, match="not supported yet"):
        resolve(ModelRef.parse(ref))


D = "c" * 64


@pytest.mark.parametrize(
    ("ref", "canonical", "pinned"),
    [
        ("oci://ubuntu", "oci://docker.io/library/ubuntu:latest", False),
        ("oci://ubuntu:22.04", "oci://docker.io/library/ubuntu:22.04", False),
        ("oci://org/model", "oci://docker.io/org/model:latest", False),
        ("oci://index.docker.io/org/model:1", "oci://docker.io/org/model:1", False),
        ("oci://docker.io/ubuntu", "oci://docker.io/library/ubuntu:latest", False),
        ("oci://localhost/m", "oci://localhost/m:latest", False),
        ("oci://127.0.0.1:5000/a/b/c:v1.2", "oci://127.0.0.1:5000/a/b/c:v1.2", False),
        ("oci://[::1]:5000/m:t", "oci://[::1]:5000/m:t", False),
        (f"oci://reg.io/m:tag@sha256:{D}", f"oci://reg.io/m@sha256:{D}", True),
        (f"oci://reg.io/m@sha256:{D}", f"oci://reg.io/m@sha256:{D}", True),
        ("kit://jozu.ml/org/model:1", "oci://jozu.ml/org/model:1", False),
        (f"kit://jozu.ml/org/model@sha256:{D}", f"oci://jozu.ml/org/model@sha256:{D}", True),
        ("oci://Reg.IO:443/m_x/y-z__w", "oci://Reg.IO:443/m_x/y-z__w:latest", False),
    ],
)
def test_oci_canonical(ref: str, canonical: str, pinned: bool) -> None:
    parsed = ModelRef.parse(ref)
    assert (parsed.canonical, parsed.pinned) == (canonical, pinned)
    assert ModelRef.parse(parsed.canonical).canonical == canonical


def test_oci_name_keeps_tag_and_digest() -> None:
    name = OciName.parse(f"reg.io:5000/org/m:v1@sha256:{D}")
    assert (name.registry, name.repository, name.tag, name.digest) == (
        "reg.io:5000", "org/m", "v1", f"sha256:{D}",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("oci://reg.io/Upper/m", "not a repository name"),
        ("oci://reg.io/m:", "not a tag"),
        ("oci://reg.io/m:bad tag", "not a tag"),
        ("oci://reg.io/", "not a repository name"),
        ("oci://reg.io/m@sha256:abc", "64 lowercase hex"),
        (f"oci://reg.io/m@sha512:{'a' * 128}", "only sha256 digests"),
        ("oci://reg.io/a//b", "not a repository name"),
        ("oci://reg_io.x/m", "not a registry"),
        ("kit://reg.io/m/../x", "not a repository name"),
        ("oci://reg.io/m:" + "t" * 200, "not a tag"),
    ],
)
def test_oci_invalid(ref: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as info:
        ModelRef.parse(ref)
    assert reason in info.value.reason
    assert "REGISTRY/REPOSITORY" in info.value.reason

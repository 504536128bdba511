"""The OCI cache: offline use, reuse, resumed downloads, referrers."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from modelward.engine.errors import ResolveError
from modelward.engine.resolvers.oci.client import RegistryClient
from modelward.engine.resolvers.oci.manifests import Descriptor
from modelward.engine.resolvers.oci.referrers import Blob, list_referrers, push_referrer
from tests.sources.oci.artifacts import MODELPACK_CONFIG, MODELPACK_RAW, safetensors
from tests.sources.oci.helpers import file_facts, resolve
from tests.sources.registry import OCI_MANIFEST, Pusher, RegistryServer, start_registry


def _push_pack(server: RegistryServer, repo: str, data: bytes) -> tuple[str, dict[str, object]]:
    push = Pusher(server, repo)
    layer = push.blob(data, MODELPACK_RAW, {"org.cncf.model.filepath": "w.safetensors"})
    return push.artifact("v1", (b"{}", MODELPACK_CONFIG), [layer]), layer


def test_offline_from_cache_after_the_registry_is_gone(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with start_registry(tmp_path / "reg") as server:
        digest, _ = _push_pack(server, "models/offline", safetensors(6))
        ref = f"oci://{server.host}/models/offline:v1"
        online = resolve(ref, cache)
    offline = resolve(ref, cache, offline=True)
    assert file_facts(offline) == file_facts(online)
    assert offline.metadata["resolved_revision"] == digest
    with pytest.raises(ResolveError, match="cannot connect"):
        resolve(ref, cache)  # online, the registry is gone


def test_offline_rebuilds_the_tree_from_cached_blobs(
    registry: RegistryServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    digest, _ = _push_pack(registry, "models/rebuild", safetensors(7))
    ref = f"oci://{registry.host}/models/rebuild@{digest}"
    first = resolve(ref, cache)
    shutil.rmtree(first.root)
    again = resolve(ref, cache, offline=True)
    assert file_facts(again) == file_facts(resolve(ref, cache))


def test_offline_without_cache(registry: RegistryServer, tmp_path: Path) -> None:
    _push_pack(registry, "models/never", safetensors(2))
    with pytest.raises(ResolveError) as info:
        resolve(f"oci://{registry.host}/models/never:v1", tmp_path / "empty", offline=True)
    assert "offline (MODELWARD_OFFLINE)" in info.value.reason
    assert "never resolved into this cache" in info.value.reason


def test_a_partial_download_resumes(registry: RegistryServer, tmp_path: Path) -> None:
    data = safetensors(4096)
    _, layer = _push_pack(registry, "models/resume", data)
    hex_ = str(layer["digest"])[7:]
    cache = tmp_path / "cache"
    partial = cache / "oci/blobs/sha256" / f"{hex_}.partial"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(data[:5000])
    source = resolve(f"oci://{registry.host}/models/resume:v1", cache)
    assert (source.root / "w.safetensors").read_bytes() == data
    assert not partial.exists()
    assert hashlib.sha256((cache / "oci/blobs/sha256" / hex_).read_bytes()).hexdigest() == hex_


def test_the_opener_resumes_with_range(registry: RegistryServer) -> None:
    data = safetensors(1024)
    _, layer = _push_pack(registry, "models/range", data)
    client = RegistryClient(registry.host, "models/range", timeout=10, label="test")
    opener = client.blob_opener(str(layer["digest"]))
    assert b"".join(opener(1000)) == data[1000:]
    assert b"".join(opener(len(data))) == b""
    assert b"".join(opener(0)) == data


def test_referrers_push_and_list(registry: RegistryServer) -> None:
    digest, _ = _push_pack(registry, "models/signed", safetensors(3))
    client = RegistryClient(registry.host, "models/signed", timeout=10, label="test")
    size = len(client.manifest(digest).body)
    subject = Descriptor(OCI_MANIFEST, digest, size)
    assert list_referrers(client, digest) == []
    sig = push_referrer(
        client, subject, "application/vnd.dev.sigstore.bundle.v0.3+json",
        [Blob(b'{"bundle": 1}', "application/vnd.dev.sigstore.bundle.v0.3+json")],
    )  # fmt: skip
    other = push_referrer(
        client, subject, "application/vnd.example.sbom", [Blob(b"{}", "application/json")]
    )
    listed = list_referrers(client, digest)
    assert [d.digest for d in listed] == [sig.digest, other.digest]
    only = list_referrers(client, digest, "application/vnd.example.sbom")
    assert [d.digest for d in only] == [other.digest]
    assert only[0].artifact_type == "application/vnd.example.sbom"

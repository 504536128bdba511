"""Hostile artifacts: every untrusted layer is left out with a finding (never a crash, never
"clean"), the other layers are still scanned, and nothing unverified is cached."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from modelward.engine.resolvers.oci.limits import UnpackLimits
from tests.sources.oci.artifacts import (
    IMAGE_CONFIG,
    LAYER_GZIP,
    MODELPACK_CONFIG,
    MODELPACK_RAW,
    MODELPACK_TAR,
    Entry,
    safetensors,
    tar,
    tgz,
)
from tests.sources.oci.helpers import finding_ids, resolve
from tests.sources.registry import Pusher, RegistryServer

GOOD = safetensors(4)


def _pack(registry: RegistryServer, repo: str, bad: bytes, media_type: str = MODELPACK_TAR) -> str:
    """A ModelPack with one good raw layer and ``bad`` as a second layer."""
    push = Pusher(registry, repo)
    layers = [
        push.blob(GOOD, MODELPACK_RAW, {"org.cncf.model.filepath": "good.safetensors"}),
        push.blob(bad, media_type),
    ]
    push.artifact("v1", (b"{}", MODELPACK_CONFIG), layers)
    return f"oci://{registry.host}/{repo}:v1"


@pytest.mark.parametrize(
    ("bad", "finding"),
    [
        (tar(Entry("../evil.txt", b"x")), "source.layer.path_traversal"),
        (tar(Entry("a/../../evil.txt", b"x")), "source.layer.path_traversal"),
        (tar(Entry("/etc/cron.d/evil", b"x")), "source.layer.path_traversal"),
        (tar(Entry("link", kind=tarfile.SYMTYPE, link="../../../etc/passwd")),
         "source.layer.link_outside"),
        (tar(Entry("abs", kind=tarfile.SYMTYPE, link="/etc/passwd")), "source.layer.link_outside"),
        (tar(Entry("d", kind=tarfile.SYMTYPE, link="."), Entry("d/x.txt", b"x")),
         "source.layer.path_traversal"),
        (tar(Entry("hard", kind=tarfile.LNKTYPE, link="../../etc/passwd")),
         "source.layer.path_traversal"),
        (tar(Entry("dev/null", kind=tarfile.CHRTYPE)), "source.layer.device"),
        (tar(Entry("dev/sda", kind=tarfile.BLKTYPE)), "source.layer.device"),
        (tar(Entry("fifo", kind=tarfile.FIFOTYPE)), "source.layer.device"),
        (b"not a tar archive at all" * 100, "source.layer.corrupt"),
    ],
)  # fmt: skip
def test_untrusted_layer_is_left_out(
    registry: RegistryServer, tmp_path: Path, bad: bytes, finding: str
) -> None:
    source = resolve(_pack(registry, "hostile/layer", bad), tmp_path / "cache")
    assert finding_ids(source)[finding] in ("critical", "high")
    assert [f.path for f in source.files] == ["good.safetensors"]
    assert not (tmp_path / "evil.txt").exists()
    assert all("left out" in f.message for f in source.findings)


def test_write_through_a_link_from_a_lower_image_layer(
    registry: RegistryServer, tmp_path: Path
) -> None:
    push = Pusher(registry, "hostile/image")
    lower = tgz(
        Entry("real", kind=tarfile.DIRTYPE), Entry("sub", kind=tarfile.SYMTYPE, link="real")
    )
    upper = tgz(Entry("sub/planted.txt", b"x"))
    layers = [push.blob(lower, LAYER_GZIP), push.blob(upper, LAYER_GZIP)]
    push.artifact("v1", (b"{}", IMAGE_CONFIG), layers)
    source = resolve(f"oci://{registry.host}/hostile/image:v1", tmp_path / "cache")
    assert finding_ids(source)["source.layer.path_traversal"] == "critical"
    assert not (source.root / "real/planted.txt").exists()


def test_decompression_bomb(registry: RegistryServer, tmp_path: Path) -> None:
    bomb = tgz(Entry("zeros.bin", bytes(4 << 20)))
    assert len(bomb) < 10_000
    ref = _pack(registry, "hostile/bomb", bomb, "application/vnd.cncf.model.weight.v1.tar+gzip")
    limits = UnpackLimits(ratio=10, layer_floor=64 << 10)
    source = resolve(ref, tmp_path / "cache", limits=limits)
    assert finding_ids(source)["source.layer.too_large"] == "critical"
    assert [f.path for f in source.files] == ["good.safetensors"]


def test_too_many_members(registry: RegistryServer, tmp_path: Path) -> None:
    many = tar(*(Entry(f"f{i}.txt", b"x") for i in range(20)))
    source = resolve(
        _pack(registry, "hostile/members", many),
        tmp_path / "c",
        limits=UnpackLimits(max_members=10),
    )
    assert finding_ids(source)["source.layer.too_many_members"] == "high"
    assert [f.path for f in source.files] == ["good.safetensors"]


def test_too_many_layers(registry: RegistryServer, tmp_path: Path) -> None:
    push = Pusher(registry, "hostile/layers")
    layers = [
        push.blob(
            safetensors(i + 1), MODELPACK_RAW, {"org.cncf.model.filepath": f"w{i}.safetensors"}
        )
        for i in range(4)
    ]
    push.artifact("v1", (b"{}", MODELPACK_CONFIG), layers)
    source = resolve(
        f"oci://{registry.host}/hostile/layers:v1",
        tmp_path / "c",
        limits=UnpackLimits(max_layers=2),
    )
    assert finding_ids(source)["source.layer.too_many_layers"] == "critical"
    assert [f.path for f in source.files] == ["w0.safetensors", "w1.safetensors"]


def test_unknown_layer_type_is_reported(registry: RegistryServer, tmp_path: Path) -> None:
    push = Pusher(registry, "hostile/unknown")
    layers = [push.blob(b"???", "application/x-mystery")]
    push.artifact("v1", (b"{}", IMAGE_CONFIG), layers)
    source = resolve(f"oci://{registry.host}/hostile/unknown:v1", tmp_path / "c")
    assert finding_ids(source) == {"source.layer.unknown_media_type": "high"}
    assert source.files == []


def test_blob_that_does_not_match_its_digest(registry: RegistryServer, tmp_path: Path) -> None:
    push = Pusher(registry, "hostile/tampered")
    honest = tar(Entry("weights.safetensors", safetensors(9)))
    good = push.blob(GOOD, MODELPACK_RAW, {"org.cncf.model.filepath": "good.safetensors"})
    tampered = push.blob(honest, MODELPACK_TAR)
    digest = push.artifact("v1", (b"{}", MODELPACK_CONFIG), [good, tampered])
    data = registry.blob_data(tampered["digest"])
    data.write_bytes(
        tar(Entry("weights.safetensors", b"\x80\x04evil pickle" + bytes(30)))[: len(honest)].ljust(
            len(honest), b"\0"
        )
    )  # same size, other bytes

    cache = tmp_path / "cache"
    source = resolve(f"oci://{registry.host}/hostile/tampered:v1", cache)

    assert finding_ids(source) == {"source.digest_mismatch": "critical"}
    assert [f.path for f in source.files] == ["good.safetensors"]
    blobs = cache / "oci/blobs/sha256"
    assert not (blobs / tampered["digest"][7:]).exists()
    assert not list(blobs.glob("*.partial"))
    assert not (cache / "oci/trees/sha256" / digest[7:]).exists()
    again = resolve(f"oci://{registry.host}/hostile/tampered:v1", cache)
    assert finding_ids(again) == {"source.digest_mismatch": "critical"}


@pytest.mark.parametrize("path", ["../escape.safetensors", "/etc/escape", ".", "a/../../x"])
def test_raw_layer_path_outside_the_tree(
    registry: RegistryServer, tmp_path: Path, path: str
) -> None:
    push = Pusher(registry, "hostile/raw")
    layers = [
        push.blob(GOOD, MODELPACK_RAW, {"org.cncf.model.filepath": "good.safetensors"}),
        push.blob(safetensors(2), MODELPACK_RAW, {"org.cncf.model.filepath": path}),
    ]
    push.artifact("v1", (b"{}", MODELPACK_CONFIG), layers)
    source = resolve(f"oci://{registry.host}/hostile/raw:v1", tmp_path / "cache")
    assert finding_ids(source)["source.layer.path_traversal"] in ("critical", "high")
    assert [f.path for f in source.files] == ["good.safetensors"]
    assert not (tmp_path / "escape.safetensors").exists()

"""Each artifact layout, pushed to a real registry and resolved: the files scanned are the files
pushed, exactly as a local scan of the same files sees them."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import tool_binary
from tests.sources.oci.artifacts import (
    IMAGE_CONFIG,
    KIT_CONFIG,
    KIT_DOCS,
    KIT_MODEL,
    LAYER_GZIP,
    MODELPACK_ARTIFACT,
    MODELPACK_CONFIG,
    MODELPACK_CONFIG_TAR,
    MODELPACK_RAW,
    MODELPACK_TAR,
    Entry,
    safetensors,
    tar,
    tgz,
    write_tree,
)
from tests.sources.oci.helpers import file_facts, local_facts, resolve
from tests.sources.registry import OCI_INDEX, OCI_MANIFEST, Pusher, RegistryServer


def test_modelpack_raw_and_tar_layers(registry: RegistryServer, tmp_path: Path) -> None:
    push = Pusher(registry, "models/pack")
    files = {
        "model.safetensors": safetensors(8),
        "shards/part-1.safetensors": safetensors(3, "b"),
        "config.json": b'{"architectures": ["LlamaForCausalLM"]}',
    }
    layers = [
        push.blob(
            files["model.safetensors"], MODELPACK_RAW,
            {"org.cncf.model.filepath": "model.safetensors"},
        ),
        push.blob(tar(Entry("shards/part-1.safetensors", files["shards/part-1.safetensors"])),
                  MODELPACK_TAR),
        push.blob(tar(Entry("config.json", files["config.json"])), MODELPACK_CONFIG_TAR),
    ]  # fmt: skip
    config = (json.dumps({"descriptor": {"name": "pack"}}).encode(), MODELPACK_CONFIG)
    digest = push.artifact("v1", config, layers, artifact_type=MODELPACK_ARTIFACT)

    source = resolve(f"oci://{registry.host}/models/pack:v1", tmp_path / "cache")

    assert source.findings == []
    assert file_facts(source) == local_facts(write_tree(tmp_path / "local", files))
    assert source.metadata["resolved_revision"] == digest
    origin = source.metadata["origin"]
    assert (origin["layout"], origin["tag"], origin["digest"]) == ("modelpack", "v1", digest)
    assert origin["location"] == f"{registry.host}/models/pack"
    assert origin["artifact_type"] == MODELPACK_ARTIFACT
    assert [layer["digest"] for layer in origin["layers"]] == [d["digest"] for d in layers]
    assert str(source.ref.raw).endswith("pack:v1")


def test_pinned_digest_and_cached_tree(registry: RegistryServer, tmp_path: Path) -> None:
    push = Pusher(registry, "models/pinned")
    data = safetensors(5)
    layer = push.blob(data, MODELPACK_RAW, {"org.cncf.model.filepath": "w.safetensors"})
    digest = push.artifact("v1", (b"{}", MODELPACK_CONFIG), [layer])
    first = resolve(f"oci://{registry.host}/models/pinned@{digest}", tmp_path / "c")
    second = resolve(f"kit://{registry.host}/models/pinned:v1@{digest}", tmp_path / "c")
    assert first.root == second.root == tmp_path / "c/oci/trees/sha256" / digest[7:]
    assert second.metadata["origin"]["tag"] == "v1"
    assert [f.path for f in second.files] == ["w.safetensors"]


def test_modelcar_image_with_whiteouts(registry: RegistryServer, tmp_path: Path) -> None:
    push = Pusher(registry, "kserve/modelcar")
    weights, busybox = safetensors(6), b"\x7fELF busybox"
    base = tgz(
        Entry("bin", kind=tarfile.DIRTYPE),
        Entry("bin/busybox", busybox),
        Entry("bin/sh", kind=tarfile.SYMTYPE, link="/bin/busybox"),
        Entry("models", kind=tarfile.DIRTYPE),
        Entry("models/model.safetensors", weights),
        Entry("models/old.bin", b"stale weights"),
        Entry("models/cache/a.txt", b"a"),
        Entry("models/cache/b.txt", b"b"),
    )
    top = tgz(
        Entry("models/.wh.old.bin"),
        Entry("models/cache/.wh..wh..opq"),
        Entry("models/cache/new.txt", b"new"),
        Entry("models/config.json", b"{}"),
    )
    layers = [push.blob(base, LAYER_GZIP), push.blob(top, LAYER_GZIP)]
    push.artifact("1.0", (b'{"architecture": "amd64", "os": "linux"}', IMAGE_CONFIG), layers)

    source = resolve(f"oci://{registry.host}/kserve/modelcar:1.0", tmp_path / "cache")

    local = write_tree(tmp_path / "local", {
        "bin/busybox": busybox, "models/model.safetensors": weights,
        "models/cache/new.txt": b"new", "models/config.json": b"{}",
    })  # fmt: skip
    (local / "bin/sh").symlink_to("busybox")
    assert source.findings == []
    assert file_facts(source) == local_facts(local)
    assert source.metadata["origin"]["layout"] == "image"
    assert source.metadata["origin"]["artifact_type"] is None


def test_modelkit_keeps_the_kitfile(registry: RegistryServer, tmp_path: Path) -> None:
    push = Pusher(registry, "jozu/kit")
    kitfile = json.dumps({"manifestVersion": "1.0", "model": {"path": "model.safetensors"}})
    files = {
        "Kitfile": kitfile.encode(),
        "model.safetensors": safetensors(4),
        "docs/README.md": b"# model card\n",
    }
    layers = [
        push.blob(tgz(Entry("model.safetensors", files["model.safetensors"])), KIT_MODEL),
        push.blob(tar(Entry("docs/README.md", files["docs/README.md"])), KIT_DOCS),
    ]
    push.artifact("latest", (files["Kitfile"], KIT_CONFIG), layers)

    source = resolve(f"kit://{registry.host}/jozu/kit", tmp_path / "cache")

    assert source.findings == []
    assert file_facts(source) == local_facts(write_tree(tmp_path / "local", files))
    assert source.metadata["origin"]["layout"] == "modelkit"
    assert source.metadata["origin"]["tag"] == "latest"


def test_many_layers_fetched_at_once_one_blob_shared(
    registry: RegistryServer, tmp_path: Path
) -> None:
    push = Pusher(registry, "models/shards")
    files = {f"shard-{i}.safetensors": safetensors(i + 1, f"t{i}") for i in range(8)}
    files["copy/shard-3.safetensors"] = files["shard-3.safetensors"]  # the same blob twice
    layers = [
        push.blob(data, MODELPACK_RAW, {"org.cncf.model.filepath": path})
        for path, data in files.items()
    ]
    push.artifact("v1", (b"{}", MODELPACK_CONFIG), layers, artifact_type=MODELPACK_ARTIFACT)
    cache = tmp_path / "cache"

    source = resolve(f"oci://{registry.host}/models/shards:v1", cache)

    assert source.findings == []
    assert file_facts(source) == local_facts(write_tree(tmp_path / "local", files))
    blobs = cache / "oci/blobs/sha256"
    assert {layer["digest"][7:] for layer in layers} <= {p.name for p in blobs.iterdir()}
    assert not list(blobs.glob("*.partial"))


def test_generic_artifact_pushed_with_oras(registry: RegistryServer, tmp_path: Path) -> None:
    files = {"model.safetensors": safetensors(7), "notes.txt": b"trained on public data\n"}
    work = write_tree(tmp_path / "push", files)
    done = subprocess.run(
        [str(tool_binary("oras")), "push", "--plain-http", "--artifact-type",
         "application/vnd.example.model", f"{registry.host}/generic/art:v2",
         "model.safetensors:application/octet-stream", "notes.txt:text/plain"],
        cwd=work, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    source = resolve(f"oci://{registry.host}/generic/art:v2", tmp_path / "cache")

    assert source.findings == []
    assert file_facts(source) == local_facts(write_tree(tmp_path / "local", files))
    origin = source.metadata["origin"]
    assert (origin["layout"], origin["artifact_type"]) == ("oras", "application/vnd.example.model")
    assert {layer["title"] for layer in origin["layers"]} == set(files)


@pytest.mark.parametrize(
    ("platform", "expected"),
    [(None, "amd64"), ("linux/arm64", "arm64"), ("linux/arm64/v8", "arm64")],
)
def test_image_index_picks_the_platform(
    registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    platform: str | None, expected: str,
) -> None:  # fmt: skip
    push = Pusher(registry, "multi/arch")
    entries = []
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        layer = push.blob(tgz(Entry("arch.txt", arch.encode())), LAYER_GZIP)
        config = json.dumps({"architecture": arch, "os": "linux"}).encode()
        digest = push.artifact(f"only-{arch}", (config, IMAGE_CONFIG), [layer])
        size = len(json.dumps(_manifest_doc(push, f"only-{arch}")).encode())
        plat = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                        "platform": plat})  # fmt: skip
    index = push.manifest("multi", {"schemaVersion": 2, "mediaType": OCI_INDEX,
                                    "manifests": entries}, OCI_INDEX)  # fmt: skip
    if platform:
        monkeypatch.setenv("MODELWARD_PLATFORM", platform)
    else:
        monkeypatch.delenv("MODELWARD_PLATFORM", raising=False)

    source = resolve(f"oci://{registry.host}/multi/arch:multi", tmp_path / "cache")

    assert (source.root / "arch.txt").read_text() == expected
    origin = source.metadata["origin"]
    assert origin["digest"] == index == source.metadata["resolved_revision"]
    assert origin["platform"] == ("linux/amd64" if expected == "amd64" else "linux/arm64/v8")


def _manifest_doc(push: Pusher, tag: str) -> dict[str, object]:
    url = f"{push.server.url}/v2/{push.repository}/manifests/{tag}"
    response = push.session.get(url, headers={"Accept": OCI_MANIFEST}, timeout=10)
    return dict(json.loads(response.content))

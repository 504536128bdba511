"""``modelward facts``/``scan``/``vet`` on every remote scheme against the real servers: the facts
of the real MiniLM model fetched from a registry, a bucket or an HTTPS server are the facts of
the same files scanned locally (files, hashes, manifest digest, scan findings), and the facts
say where the bytes came from."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import MODELWARD
from tests.conftest import REPO
from tests.sources.objectstore import S3Server
from tests.sources.oci.artifacts import (
    KIT_CONFIG,
    KIT_MODEL,
    MODELPACK_ARTIFACT,
    MODELPACK_CONFIG,
    MODELPACK_RAW,
    MODELPACK_TAR,
    Entry,
    tar,
    tgz,
)
from tests.sources.registry import Pusher, RegistryServer
from tests.sources.webserver import WebServer

MINILM = REPO / ".cache" / "models" / "all-minilm-l6-v2"
WEIGHTS = "model.safetensors"


@pytest.fixture(scope="module")
def minilm() -> dict[str, bytes]:
    if not (MINILM / WEIGHTS).is_file():
        pytest.fail(f"{MINILM} is missing: run `make models`")
    files = sorted(p for p in MINILM.rglob("*") if p.is_file() and p.name != ".gitattributes")
    return {p.relative_to(MINILM).as_posix(): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def local_tree(minilm: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("minilm")
    for name, data in minilm.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.fixture
def env(tmp_path: Path, s3_server: S3Server, https_server: WebServer) -> Iterator[dict[str, str]]:
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE")
    }
    yield {
        **inherited,
        **s3_server.env(),
        "MODELWARD_CACHE_DIR": str(tmp_path / "cache"),
        "SSL_CERT_FILE": str(https_server.ca_file),
        "RUST_BACKTRACE": "0",
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MODELWARD), *args], capture_output=True, text=True, env=env, timeout=300
    )


def facts(env: dict[str, str], ref: str) -> dict[str, Any]:
    done = cli(env, "facts", ref)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on where the files came from."""
    return {
        "files": doc["files"],
        "formats": doc["formats"],
        "manifest": doc["manifest"],
        "digest": doc["subject"]["digest"],
        "findings": sorted((f["id"], f["file"]) for f in doc["scan"]["findings"]),
        "complete": doc["scan"]["complete"],
    }


def push_modelpack(registry: RegistryServer, files: dict[str, bytes]) -> str:
    push = Pusher(registry, "models/minilm")
    layers = [
        push.blob(data, MODELPACK_RAW, {"org.cncf.model.filepath": name})
        for name, data in files.items()
    ]
    config = (json.dumps({"descriptor": {"name": "minilm"}}).encode(), MODELPACK_CONFIG)
    return push.artifact("v1", config, layers, artifact_type=MODELPACK_ARTIFACT)


def test_oci_by_digest_and_tag_equals_local(
    registry: RegistryServer, minilm: dict[str, bytes], local_tree: Path, env: dict[str, str]
) -> None:
    digest = push_modelpack(registry, minilm)
    local = comparable(facts(env, str(local_tree)))
    by_digest = facts(env, f"oci://{registry.host}/models/minilm@{digest}")
    by_tag = facts(env, f"oci://{registry.host}/models/minilm:v1")
    assert comparable(by_digest) == local == comparable(by_tag)
    assert by_digest["subject"]["pinned"] is True
    assert by_tag["subject"]["pinned"] is False
    for doc in (by_digest, by_tag):
        assert doc["subject"]["resolved_revision"] == digest
        assert doc["origin"]["digest"] == digest
        assert doc["origin"]["layout"] == "modelpack"
        assert {layer["title"] for layer in doc["origin"]["layers"]} == set(minilm)
    assert by_tag["origin"]["tag"] == "v1"


def test_kit_reference_equals_local_plus_kitfile(
    registry: RegistryServer, minilm: dict[str, bytes], local_tree: Path, env: dict[str, str]
) -> None:
    push = Pusher(registry, "kits/minilm")
    kitfile = json.dumps({"manifestVersion": "1.0", "model": {"path": WEIGHTS}}).encode()
    layer = tgz(*(Entry(name, data) for name, data in minilm.items()))
    push.artifact("v1", (kitfile, KIT_CONFIG), [push.blob(layer, KIT_MODEL)])
    doc = facts(env, f"kit://{registry.host}/kits/minilm:v1")
    local = comparable(facts(env, str(local_tree)))
    paths = [f["path"] for f in doc["files"]]
    assert "Kitfile" in paths
    doc["files"] = [f for f in doc["files"] if f["path"] != "Kitfile"]
    assert doc["files"] == local["files"]
    assert doc["origin"]["layout"] == "modelkit"


def test_s3_prefix_and_versioned_object_equal_local(
    s3_server: S3Server, minilm: dict[str, bytes], local_tree: Path, env: dict[str, str]
) -> None:
    s3 = s3_server.client()
    s3.create_bucket(Bucket="cli-models")
    s3.put_bucket_versioning(Bucket="cli-models", VersioningConfiguration={"Status": "Enabled"})
    versions = {
        name: s3.put_object(Bucket="cli-models", Key=f"minilm/{name}", Body=data)["VersionId"]
        for name, data in minilm.items()
    }
    prefix = facts(env, "s3://cli-models/minilm")
    assert comparable(prefix) == comparable(facts(env, str(local_tree)))
    assert prefix["subject"]["pinned"] is False
    assert prefix["origin"]["digest"].startswith("sha256:")
    listed = {o["key"]: o["version_id"] for o in prefix["origin"]["objects"]}
    assert listed == {f"minilm/{name}": version for name, version in versions.items()}

    single = facts(env, f"s3://cli-models/minilm/{WEIGHTS}?versionId={versions[WEIGHTS]}")
    assert single["subject"]["pinned"] is True
    assert comparable(single) == comparable(facts(env, str(local_tree / WEIGHTS)))


def test_https_with_digest_equals_local(
    https_server: WebServer, minilm: dict[str, bytes], local_tree: Path, env: dict[str, str]
) -> None:
    https_server.files["/minilm/" + WEIGHTS] = minilm[WEIGHTS]
    hexdigest = hashlib.sha256(minilm[WEIGHTS]).hexdigest()
    doc = facts(env, https_server.url(f"/minilm/{WEIGHTS}#sha256={hexdigest}"))
    assert doc["subject"]["pinned"] is True
    assert doc["origin"]["digest"] == f"sha256:{hexdigest}"
    assert comparable(doc) == comparable(facts(env, str(local_tree / WEIGHTS)))


def test_vet_publishes_pinned_remote_models_like_local_ones(
    registry: RegistryServer,
    minilm: dict[str, bytes],
    local_tree: Path,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    digest = push_modelpack(registry, minilm)
    keys = cli(env, "keys", "generate", "--out-dir", str(tmp_path / "keys"))
    assert keys.returncode == 0, keys.stderr
    key = tmp_path / "keys" / "verdict.key"
    db = f"sqlite:///{tmp_path / 'verdicts.db'}"
    ref = f"oci://{registry.host}/models/minilm@{digest}"
    vet = cli(env, "vet", ref, "--signing-key", str(key), "--publish", "--registry", db)
    assert vet.returncode == 0, vet.stdout + vet.stderr  # pinned, clean: allowed like the files
    shown = cli(env, "registry", "show", ref, "--registry", db, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert digest in shown.stdout
    tagged = cli(env, "scan", f"oci://{registry.host}/models/minilm:v1", "--quiet")
    assert tagged.returncode == 1  # a tag can move: the unpinned-reference policy denies
    assert "DENY" in tagged.stdout


def test_model_whose_every_layer_is_refused_is_denied(
    registry: RegistryServer, env: dict[str, str]
) -> None:
    """No file survives unpacking: the findings alone must make the decision deny."""
    push = Pusher(registry, "models/hostile")
    layer = push.blob(tar(Entry("../../etc/cron.d/job", b"* * * * * root id\n")), MODELPACK_TAR)
    config = (b'{"descriptor": {"name": "hostile"}}', MODELPACK_CONFIG)
    digest = push.artifact("v1", config, [layer], artifact_type=MODELPACK_ARTIFACT)
    done = cli(env, "scan", f"oci://{registry.host}/models/hostile@{digest}", "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["decision"]["outcome"] == "deny"
    assert report["facts"]["files"] == []
    ids = {f["id"] for f in report["facts"]["scan"]["findings"]}
    assert "source.layer.path_traversal" in ids

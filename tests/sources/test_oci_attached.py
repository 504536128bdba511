"""Signatures and verdict attestations attached to OCI models (referrers), on the real registry:
``modelward sign oci://…`` attaches a signature that scans find and verify; a signature made
for another digest does not verify; ``vet --to-oci`` attaches a verdict attestation that
verifies with the verdict key and with no other."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.fetch import FetchSettings
from modelward.engine.resolvers.oci.attached import (
    SIGNATURE_TYPE,
    attach,
    model_manifest,
    newest_attached,
)
from tests.cli.helpers import MODELWARD
from tests.signature.keys import ec_key_pair
from tests.sources.oci.artifacts import (
    MODELPACK_ARTIFACT,
    MODELPACK_CONFIG,
    MODELPACK_RAW,
    safetensors,
)
from tests.sources.registry import Pusher, RegistryServer


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "MODELWARD_CACHE_DIR": str(tmp_path / "cache"), "RUST_BACKTRACE": "0"}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MODELWARD), *args], capture_output=True, text=True, env=env, timeout=300
    )


def push_model(registry: RegistryServer, repository: str, weights: bytes) -> str:
    push = Pusher(registry, repository)
    files = {"model.safetensors": weights, "config.json": b'{"model_type": "bert"}'}
    layers = [
        push.blob(data, MODELPACK_RAW, {"org.cncf.model.filepath": name})
        for name, data in files.items()
    ]
    config = (json.dumps({"descriptor": {"name": repository}}).encode(), MODELPACK_CONFIG)
    digest = push.artifact("v1", config, layers, artifact_type=MODELPACK_ARTIFACT)
    return f"oci://{registry.host}/{repository}@{digest}"


def signature_facts(env: dict[str, str], ref: str, public: Path) -> dict[str, Any]:
    done = cli(env, "facts", ref, "--key", str(public))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["signature"]  # type: ignore[no-any-return]


def test_signed_in_the_registry_verifies(
    registry: RegistryServer, env: dict[str, str], tmp_path: Path
) -> None:
    ref = push_model(registry, "signed/model", safetensors(16))
    private, public = ec_key_pair(tmp_path)
    assert signature_facts(env, ref, public)["present"] is False
    signed = cli(env, "sign", ref, "--key", str(private))
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert "attached to sha256:" in signed.stdout
    facts = signature_facts(env, ref, public)
    assert (facts["present"], facts["verified"], facts["covers_all_files"]) == (True, True, True)
    assert sorted(facts["signed_files"]) == ["config.json", "model.safetensors"]
    _, other_public = ec_key_pair(tmp_path, "other")
    assert signature_facts(env, ref, other_public)["verified"] is False


def test_a_signature_for_another_digest_does_not_verify(
    registry: RegistryServer, env: dict[str, str], tmp_path: Path
) -> None:
    genuine = push_model(registry, "pair/genuine", safetensors(8))
    swapped = push_model(registry, "pair/swapped", safetensors(8, "x"))
    private, public = ec_key_pair(tmp_path)
    assert cli(env, "sign", genuine, "--key", str(private)).returncode == 0
    # The genuine model's signature, attached to the other model's manifest.
    bundle = _attached_bundle(genuine, tmp_path)
    target = model_manifest(ModelRef.parse(swapped), FetchSettings(tmp_path / "attach-cache"))
    attach(target, SIGNATURE_TYPE, bundle, SIGNATURE_TYPE)
    facts = signature_facts(env, swapped, public)
    assert facts["present"] is True
    assert facts["verified"] is False
    scan = cli(env, "scan", swapped, "--key", str(public), "--quiet")
    assert scan.returncode == 1, scan.stdout + scan.stderr


def _attached_bundle(ref: str, tmp_path: Path) -> bytes:
    model = model_manifest(ModelRef.parse(ref), FetchSettings(tmp_path / "bundle-cache"))
    found = newest_attached(model.remote, model.descriptor.digest, SIGNATURE_TYPE)
    assert found is not None
    return found.read_bytes()


def test_verdict_attestation_verifies_with_the_verdict_key_only(
    registry: RegistryServer, env: dict[str, str], tmp_path: Path
) -> None:
    ref = push_model(registry, "attested/model", safetensors(4))
    keys = tmp_path / "keys"
    assert cli(env, "keys", "generate", "--out-dir", str(keys)).returncode == 0
    assert cli(env, "keys", "generate", "--out-dir", str(keys), "--name", "rogue").returncode == 0
    missing = cli(env, "registry", "attestation", ref, "--key", str(keys / "verdict.pub"))
    assert missing.returncode == 2
    assert "no verdict attestation" in missing.stderr
    db = f"sqlite:///{tmp_path / 'verdicts.db'}"
    vet = cli(
        env, "vet", ref, "--signing-key", str(keys / "verdict.key"), "--publish", "--to-oci",
        "--registry", db,
    )  # fmt: skip
    assert vet.returncode == 0, vet.stdout + vet.stderr
    verified = cli(env, "registry", "attestation", ref, "--key", str(keys / "verdict.pub"))
    assert verified.returncode == 0, verified.stderr
    assert "is allow" in verified.stdout
    rogue = cli(env, "registry", "attestation", ref, "--key", str(keys / "rogue.pub"))
    assert rogue.returncode == 2
    assert "not signed by a trusted verdict key" in rogue.stderr


def test_to_oci_needs_an_oci_model(env: dict[str, str], tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert cli(env, "keys", "generate", "--out-dir", str(keys)).returncode == 0
    model = tmp_path / "m.safetensors"
    model.write_bytes(safetensors(2))
    done = cli(env, "vet", str(model), "--signing-key", str(keys / "verdict.key"), "--to-oci")
    assert done.returncode == 2
    assert "--to-oci needs an oci://" in done.stderr

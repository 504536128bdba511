"""``modelward keys``, ``vet`` and ``registry`` as a user runs them, on real and hostile models."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.verdicts.signed import (
    SignedVerdict,
    VerdictKeys,
    generate_keypair,
    sign_verdict,
)
from tests.cli.helpers import MODELWARD
from tests.engine.verdict_builders import flip_payload_byte

REPO = Path(__file__).resolve().parents[2]
REAL_MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"
S3_COPY = "s3://models-bucket/minilm/v1"


def mw(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELWARD_")}
    full = {**clean, "RUST_BACKTRACE": "0", **(env or {})}
    return subprocess.run(
        [str(MODELWARD), *args], capture_output=True, text=True, timeout=180, env=full
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("verdicts")


@pytest.fixture(scope="module")
def keys(workdir: Path) -> tuple[Path, Path, str]:
    proc = mw("keys", "generate", "--out-dir", str(workdir / "keys"))
    assert proc.returncode == 0, proc.stderr
    kid = proc.stdout.split("key id:")[1].strip()
    return workdir / "keys" / "verdict.key", workdir / "keys" / "verdict.pub", kid


@pytest.fixture(scope="module")
def evil_checkpoint(workdir: Path) -> Path:
    out = workdir / "demo" / "evil_model.pt"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_demo_pickle.py"), str(out)], check=True
    )
    return out


@pytest.fixture(scope="module")
def db(workdir: Path) -> str:
    return str(workdir / "registry" / "verdicts.db")


@pytest.fixture(scope="module")
def vetted(
    keys: tuple[Path, Path, str], evil_checkpoint: Path, db: str
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Both models vetted and published once for the whole module."""
    common = ("--publish", "--registry", db, "--signing-key", str(keys[0]), "--format", "json")
    return {
        "real": mw("vet", str(REAL_MODEL), *common),
        "evil": mw("vet", str(evil_checkpoint), *common),
        "s3": mw("vet", str(REAL_MODEL), "--reference", S3_COPY, *common),
    }


def registry_json(db: str, *args: str) -> Any:
    proc = mw("registry", *args, "--registry", db, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_keys_generate_writes_a_private_key_only_the_owner_reads(
    keys: tuple[Path, Path, str],
) -> None:
    private, public, kid = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert VerdictKeys.from_paths([public]).key_ids == [kid]
    proc = mw("keys", "id", str(public))
    assert proc.returncode == 0 and proc.stdout.split()[0] == kid


def test_keys_generate_refuses_to_overwrite(keys: tuple[Path, Path, str]) -> None:
    before = keys[0].read_bytes()
    proc = mw("keys", "generate", "--out-dir", str(keys[0].parent))
    assert proc.returncode == 2
    assert "already exists; refusing to overwrite" in proc.stderr
    assert keys[0].read_bytes() == before


def test_encrypted_key_with_password_from_the_environment(tmp_path: Path) -> None:
    env = {"MODELWARD_KEY_PASSWORD": "pass phrase"}
    assert (
        mw("keys", "generate", "--out-dir", str(tmp_path), "--name", "ci", env=env).returncode == 0
    )
    key = tmp_path / "ci.key"
    assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    args = ("vet", str(REAL_MODEL), "--signing-key", str(key), "--format", "json")
    locked = mw(*args)
    assert locked.returncode == 2 and "MODELWARD_KEY_PASSWORD" in locked.stderr
    unlocked = mw(*args, env=env)
    assert unlocked.returncode == 0, unlocked.stderr
    assert "not published" in unlocked.stderr


def test_vet_needs_a_signing_key() -> None:
    proc = mw("vet", str(REAL_MODEL))
    assert proc.returncode == 2
    assert "vet needs a signing key" in proc.stderr


def test_vet_real_model_publishes_an_allow(
    vetted: dict[str, subprocess.CompletedProcess[str]], keys: tuple[Path, Path, str], db: str
) -> None:
    proc = vetted["real"]
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # the same report `scan --format json` prints
    assert report["decision"]["outcome"] == "allow"
    assert f"signed by key {keys[2]}" in proc.stderr
    assert f"published to {db}" in proc.stderr
    shown = registry_json(db, "show", str(REAL_MODEL), "--key", str(keys[1]))
    assert shown["outcome"] == "allow" and shown["check"]["trusted"] is True
    assert shown["digest"] == report["facts"]["subject"]["digest"]


def test_vet_malicious_pickle_publishes_a_deny(
    vetted: dict[str, subprocess.CompletedProcess[str]],
    keys: tuple[Path, Path, str],
    db: str,
    evil_checkpoint: Path,
) -> None:
    proc = vetted["evil"]
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["decision"]["outcome"] == "deny"
    assert "verdict: DENY" in proc.stderr and "published to" in proc.stderr
    assert not (evil_checkpoint.parent / "LOADED-A-MALICIOUS-MODEL").exists()
    table = mw("registry", "show", str(evil_checkpoint), "--registry", db, "--key", str(keys[1]))
    assert table.returncode == 1, table.stderr  # trusted, but admission would not admit it
    assert "outcome    deny" in table.stdout and "signature  verified" in table.stdout
    assert "admission  NOT ADMITTED (deny)" in table.stdout
    assert "not admitted (deny)" in table.stderr
    assert "deny [unsafe-serialization]" in table.stdout


def test_vet_reference_records_the_uri_workloads_use(
    vetted: dict[str, subprocess.CompletedProcess[str]], keys: tuple[Path, Path, str], db: str
) -> None:
    proc = vetted["s3"]
    assert proc.returncode == 0, proc.stderr
    assert f"verdict: ALLOW for {S3_COPY}" in proc.stderr
    assert "recorded under --reference" in proc.stderr and "is not pinned" in proc.stderr
    shown = registry_json(db, "show", S3_COPY, "--key", str(keys[1]))
    assert shown["reference"] == S3_COPY and shown["check"]["trusted"]


def test_vet_canonicalises_hf_references(keys: tuple[Path, Path, str], tmp_path: Path) -> None:
    db = str(tmp_path / "hf.db")
    revision = "a" * 40
    proc = mw("vet", str(REAL_MODEL), "--reference", f"hf://sentence-transformers/all-MiniLM-L6-v2:{revision}",
              "--signing-key", str(keys[0]), "--publish", "--registry", db)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "not pinned" not in proc.stderr
    listed = registry_json(db, "list")
    assert [v["reference"] for v in listed] == [
        f"hf://sentence-transformers/all-MiniLM-L6-v2@{revision}"
    ]


def test_registry_list_and_export(
    vetted: dict[str, subprocess.CompletedProcess[str]],
    keys: tuple[Path, Path, str],
    db: str,
    evil_checkpoint: Path,
    tmp_path: Path,
) -> None:
    listed = registry_json(db, "list")
    assert sorted((v["reference"], v["outcome"]) for v in listed) == sorted(
        [(str(REAL_MODEL), "allow"), (str(evil_checkpoint), "deny"), (S3_COPY, "allow")]
    )
    assert all(v["key_id"] == keys[2] for v in listed)
    assert {v["status"] for v in listed} == {"unverified"}  # no --key: nothing was checked
    table = mw("registry", "list", "--registry", db)
    header = ["REFERENCE", "OUTCOME", "CREATED", "EXPIRES", "KEY", "STATUS"]
    assert table.stdout.splitlines()[0].split() == header
    assert len(table.stdout.splitlines()) == 4
    assert all(line.endswith("unverified") for line in table.stdout.splitlines()[1:])
    assert "unverified: these fields are what the payloads claim" in table.stderr
    checked = registry_json(db, "list", "--key", str(keys[1]))
    assert sorted((v["reference"], v["status"]) for v in checked) == sorted(
        [(str(REAL_MODEL), "admit"), (str(evil_checkpoint), "deny"), (S3_COPY, "admit")]
    )

    out = tmp_path / "export.json"
    assert mw("registry", "export", "--registry", db, "--output", str(out)).returncode == 0
    exported = json.loads(out.read_text())
    trusted = VerdictKeys.from_paths([keys[1]])
    for item in exported:
        verdict = SignedVerdict.from_envelope(item["envelope"])
        assert trusted.check(verdict, item["reference"]).trusted

    copy_db = str(tmp_path / "copy.db")
    proc = mw("registry", "import", str(out), "--registry", copy_db)
    assert proc.returncode == 0 and "imported 3 verdict(s)" in proc.stdout
    assert registry_json(copy_db, "list") == listed


def test_forged_envelopes_are_untrusted(
    vetted: dict[str, subprocess.CompletedProcess[str]],
    keys: tuple[Path, Path, str],
    db: str,
    tmp_path: Path,
) -> None:
    shown = registry_json(db, "show", str(REAL_MODEL))
    original = SignedVerdict.from_envelope(shown["envelope"])
    trusted = VerdictKeys.from_paths([keys[1]])

    tampered = flip_payload_byte(original)
    check = trusted.check(tampered, str(REAL_MODEL))
    assert not check.trusted and check.reason.startswith("bad signature")

    payload = original.unverified_verdict()
    assert payload is not None
    attacker_key, _ = generate_keypair()
    resigned = sign_verdict(payload, attacker_key)
    check = trusted.check(resigned, str(REAL_MODEL))
    assert not check.trusted and "unknown key id" in check.reason

    # a forged verdict stored in a registry is shown as untrusted, with the reason
    forged_db = str(tmp_path / "forged.db")
    export = tmp_path / "forged.json"
    export.write_text(json.dumps([resigned.to_json_dict()]))
    assert mw("registry", "import", str(export), "--registry", forged_db).returncode == 0
    table = mw("registry", "show", str(REAL_MODEL), "--registry", forged_db, "--key", str(keys[1]))
    assert table.returncode == 1
    assert "signature  UNTRUSTED: signed by unknown key id" in table.stdout
    assert "not admitted (untrusted): signed by unknown key id" in table.stderr


def test_registry_delete(
    keys: tuple[Path, Path, str], evil_checkpoint: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "delete.db")
    vet = mw(
        "vet", str(evil_checkpoint), "--publish", "--registry", db, "--signing-key", str(keys[0])
    )
    assert vet.returncode == 1, vet.stderr
    assert "decision: DENY" in vet.stdout  # the table report, as `scan` prints it
    proc = mw("registry", "delete", str(evil_checkpoint), "--registry", db)
    assert proc.returncode == 0 and proc.stdout.startswith("deleted 1 verdict(s)")
    assert registry_json(db, "list") == []
    missing = mw("registry", "show", str(evil_checkpoint), "--registry", db)
    assert missing.returncode == 2 and "no verdict stored for" in missing.stderr


def test_registry_location_from_environment(keys: tuple[Path, Path, str], tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    vet = mw("vet", str(REAL_MODEL), "--publish", "--signing-key", str(keys[0]), env=env)
    assert vet.returncode == 0, vet.stderr
    assert (tmp_path / "data" / "modelward" / "verdicts.db").is_file()
    assert len(registry_json(str(tmp_path / "data" / "modelward" / "verdicts.db"), "list")) == 1
    explicit = {"MODELWARD_REGISTRY": f"sqlite:///{tmp_path}/env.db"}
    assert (
        mw(
            "vet", str(REAL_MODEL), "--publish", "--signing-key", str(keys[0]), env=explicit
        ).returncode
        == 0
    )
    listed = mw("registry", "list", "--format", "json", env=explicit)
    assert [v["reference"] for v in json.loads(listed.stdout)] == [str(REAL_MODEL)]


def test_unavailable_registries_are_errors(tmp_path: Path) -> None:
    missing = mw("registry", "list", "--registry", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and "none.db: no such file" in missing.stderr
    env = {"HOME": str(tmp_path), "KUBECONFIG": ""}
    kube = mw("registry", "list", "--registry", "kubernetes://modelward", env=env)
    assert kube.returncode == 2 and "no Kubernetes credentials" in kube.stderr

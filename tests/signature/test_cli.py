"""``modelward sign`` / ``verify`` (and ``scan`` with a key) on a real model and the fixtures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modelward.cli.main import app
from modelward.engine.signatures import SignatureConfigError
from tests.cli.helpers import run, scan_json
from tests.conftest import REPO
from tests.signature.conftest import IDENTITY, ISSUER
from tests.signature.keys import ca, ec_key_pair, leaf

MINILM = REPO / ".cache" / "models" / "all-minilm-l6-v2"
RUNNER = CliRunner()


def invoke(*args: str | Path) -> Any:
    return RUNNER.invoke(app, [str(a) for a in args])


@pytest.fixture
def minilm(tmp_path: Path) -> Path:
    if not (MINILM / "model.safetensors").is_file():
        pytest.fail(f"{MINILM} is missing; fetch it with `python3 scripts/models.py`")
    return Path(shutil.copytree(MINILM, tmp_path / "all-minilm-l6-v2"))


def test_sign_verify_and_scan_a_real_model(minilm: Path, tmp_path: Path) -> None:
    private, public = ec_key_pair(tmp_path)
    signed = run("sign", str(minilm), "--key", str(private))
    assert signed.returncode == 0, signed.stderr
    assert "model.safetensors" in signed.stdout
    assert (minilm / "model.sig").is_file()

    verified = run("verify", str(minilm), "--key", str(public), "--format", "json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    facts = json.loads(verified.stdout)
    assert facts["verified"] is True
    assert facts["covers_all_files"] is True
    assert "model.safetensors" in facts["signed_files"]
    assert facts["method"] == "key"

    code, report = scan_json(minilm, "--key", str(public))
    signature = report["facts"]["signature"]
    assert (signature["verified"], signature["covers_all_files"]) == (True, True)
    assert signature == facts  # verify prints exactly the scan's signature section
    assert report["decision"]["outcome"] == "allow"
    assert code == 0

    weights = minilm / "model.safetensors"
    with weights.open("r+b") as fp:
        fp.seek(weights.stat().st_size // 2)
        byte = fp.read(1)
        fp.seek(-1, 1)
        fp.write(bytes([byte[0] ^ 0x01]))
    code, report = scan_json(minilm, "--key", str(public))
    assert code == 1
    assert report["facts"]["signature"]["verified"] is False
    assert "model.safetensors" in report["facts"]["signature"]["error"]
    assert "signature-invalid" in {f["id"] for f in report["decision"]["deny"]}
    assert run("verify", str(minilm), "--key", str(public)).returncode == 1


def test_usage_errors_exit_2(mt: Path, certs: Path, tmp_path: Path) -> None:
    key = str(certs / "signing-key-pub.pem")
    both = run("verify", str(mt / "v1.1.0-elliptic-key"), "--key", key,
               "--certificate-chain", str(certs / "ca-cert.pem"))  # fmt: skip
    assert both.returncode == 2
    assert "either --key or --certificate-chain" in both.stderr
    assert run("verify", str(tmp_path / "absent")).returncode == 2
    unsigned = run("sign", str(tmp_path / "absent"), "--key", key)
    assert unsigned.returncode == 2


@pytest.mark.parametrize(
    ("name", "args", "identity"),
    [
        ("v1.1.0-sigstore", ["--identity", IDENTITY, "--issuer", ISSUER], IDENTITY),
        ("v1.0.0-sigstore", ["--trust-root", "production.client_trust_config.json"], IDENTITY),
        ("v1.1.0-elliptic-key", ["--key", "signing-key-pub.pem"], None),
        ("v1.1.0-certificate", ["--certificate-chain", "ca-cert.pem"], "intermediate-ca"),
    ],
)
def test_verify_fixtures(
    mt: Path, certs: Path, trust: Path, name: str, args: list[str], identity: str | None
) -> None:
    resolved = [
        str(trust / a) if a.endswith(".json") else str(certs / a) if a.endswith(".pem") else a
        for a in args
    ]
    result = invoke("verify", mt / name, *resolved, "--format", "json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert facts["verified"] is True
    assert facts["identity"] == identity
    table = invoke("verify", mt / name, *resolved)
    assert table.exit_code == 0
    assert "VERIFIED" in table.stdout
    assert "signme-1, signme-2" in table.stdout


def test_verify_a_signature_without_its_model(mt: Path, tmp_path: Path) -> None:
    signature = mt / "v1.1.0-sigstore" / "model.sig"
    result = invoke("verify", tmp_path / "absent", "--signature", signature, "--format", "json")
    assert result.exit_code == 1
    facts = json.loads(result.stdout)
    assert facts["files_present"] is False
    assert facts["signed_files"] == ["signme-1", "signme-2"]
    assert facts["identity"] == IDENTITY
    assert facts["verified"] is False


def test_verify_an_empty_directory_with_a_signature(mt: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    signature = mt / "v1.0.0-sigstore" / "model.sig"
    result = invoke("verify", empty, "--signature", signature, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["files_present"] is False


def test_verify_reports_an_unsigned_model(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\0" * 16)
    result = invoke("verify", tmp_path)
    assert result.exit_code == 1
    assert "NOT SIGNED" in result.stdout


def test_verified_but_incomplete_exits_1(mt: Path, tmp_path: Path) -> None:
    model = Path(shutil.copytree(mt / "v1.1.0-sigstore", tmp_path / "m"))
    (model / "extra.bin").write_bytes(b"\0" * 16)
    result = invoke("verify", model)
    assert result.exit_code == 1
    assert "NOT EVERY FILE IS COVERED" in result.stdout
    assert "extra.bin" in result.stdout


def test_sign_and_verify_with_a_certificate(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\1" * 64)
    (model / "config.json").write_text("{}")
    ca_key, ca_cert = ca(tmp_path)
    key, cert = leaf(tmp_path, ca_key, ca_cert, "release@example.com")
    out = tmp_path / "release.sig"
    signed = invoke("sign", model, "--key", key, "--signing-cert", cert,
                    "--certificate-chain", ca_cert, "--signature", out)  # fmt: skip
    assert signed.exit_code == 0, signed.output
    assert "certificate" in signed.stdout
    result = invoke("verify", model, "--signature", out, "--certificate-chain", ca_cert,
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert (facts["method"], facts["identity"]) == ("certificate", "release@example.com")
    assert facts["issuer"] == "CN=test-root"
    assert facts["certificate_fingerprint"].startswith("sha256:")
    other = tmp_path / "other"
    other.mkdir()
    _, other_ca = ca(other, "other-root")
    rejected = invoke("verify", model, "--signature", out, "--certificate-chain", other_ca)
    assert rejected.exit_code == 1


def test_sign_needs_a_signing_certificate_for_a_chain(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\1")
    key, _ = ec_key_pair(tmp_path)
    result = invoke("sign", tmp_path, "--key", key, "--certificate-chain", key)
    assert result.exit_code != 0
    assert "--signing-cert" in str(result.exception)


def test_verify_rejects_identity_with_a_key(mt: Path, certs: Path) -> None:
    result = invoke("verify", mt / "v1.1.0-elliptic-key", "--key",
                    certs / "signing-key-pub.pem", "--identity", IDENTITY)  # fmt: skip
    assert isinstance(result.exception, SignatureConfigError)


def test_re_signing_never_signs_the_old_signature(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\2" * 32)
    key, public = ec_key_pair(tmp_path)
    for _ in range(2):
        signed = invoke("sign", model, "--key", key)
        assert signed.exit_code == 0, signed.output
        assert "  model.sig" not in signed.stdout.splitlines()
    result = invoke("verify", model, "--key", public, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["signed_files"] == ["weights.bin"]

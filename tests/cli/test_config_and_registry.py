"""One registry default for every command, schema-checked policy configuration, and ordinary
mistakes that end as one clear error line (exit 2), never a traceback or "internal error"."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.admission.core_helpers import container, pod
from tests.cli.helpers import MODELWARD

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REFERENCE = f"hf://acme/tiny-encoder@{COMMIT}"


def mw(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MODELWARD_", "XDG_"))}
    return subprocess.run(
        [str(MODELWARD), *args], capture_output=True, text=True, timeout=180,
        env={**clean, "RUST_BACKTRACE": "0", **env}, cwd=cwd,
    )  # fmt: skip


def assert_clean_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2 with one explanation naming what went wrong; no traceback, no internal error."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "Traceback" not in output and "internal error" not in output, output
    for needle in needles:
        assert needle in output, output


def tiny_model(folder: Path) -> Path:
    """A safetensors file with one float32 tensor and a model card: allowed by default."""
    model = folder / "model"
    model.mkdir()
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    body = struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, 2.0)
    (model / "model.safetensors").write_bytes(body)
    (model / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tiny encoder\n")
    return model


@pytest.fixture(scope="module")
def vetting(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("config-registry")
    keys = folder / "keys"
    proc = mw("keys", "generate", "--out-dir", str(keys), env={})
    assert proc.returncode == 0, proc.stderr
    manifest = folder / "deploy.yaml"
    manifest.write_text(yaml.safe_dump(pod(container("vllm", model=REFERENCE))))
    return {"folder": folder, "key": keys / "verdict.key", "pub": keys / "verdict.pub",
            "model": tiny_model(folder), "manifest": manifest}  # fmt: skip


def publish(vetting: dict[str, Path], env: dict[str, str], cwd: Path | None = None) -> None:
    vet = mw("vet", str(vetting["model"]), "--reference", REFERENCE, "--publish", env=env, cwd=cwd)
    assert vet.returncode == 0, vet.stdout + vet.stderr


def test_publish_then_check_with_the_defaults_admits(vetting: dict[str, Path]) -> None:
    env = {"XDG_DATA_HOME": str(vetting["folder"] / "data"),
           "MODELWARD_SIGNING_KEY": str(vetting["key"])}  # fmt: skip
    check = mw("admission", "check", str(vetting["manifest"]), env=env)
    assert check.returncode == 1 and "registry-unavailable" in check.stdout, check.stdout
    assert "data/modelward/verdicts.db" in " ".join(check.stdout.split())  # the same default
    publish(vetting, env)
    assert (vetting["folder"] / "data" / "modelward" / "verdicts.db").is_file()
    check = mw("admission", "check", str(vetting["manifest"]), env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert REFERENCE in check.stdout and "allow" in check.stdout


def test_check_takes_registry_and_key_like_registry_show(vetting: dict[str, Path]) -> None:
    db = vetting["folder"] / "explicit.db"
    env = {"MODELWARD_SIGNING_KEY": str(vetting["key"]), "MODELWARD_REGISTRY": f"sqlite:///{db}"}
    publish(vetting, env)  # sqlite:////abs/path: SQLAlchemy's absolute form
    flags = ("--registry", str(db), "--key", str(vetting["pub"]))
    check = mw("admission", "check", str(vetting["manifest"]), *flags, env={})
    assert check.returncode == 0, check.stdout + check.stderr
    show = mw("registry", "show", REFERENCE, *flags, env={})
    assert show.returncode == 0, show.stdout + show.stderr
    other = mw("keys", "generate", "--out-dir", str(vetting["folder"] / "other"), env={})
    assert other.returncode == 0
    untrusted = ("--key", str(vetting["folder"] / "other" / "verdict.pub"))
    check = mw("admission", "check", str(vetting["manifest"]), "--registry", str(db), *untrusted,
               env={})  # fmt: skip
    assert check.returncode == 1 and "verdict-untrusted" in check.stdout, check.stdout


def test_relative_sqlite_url_is_relative_to_the_working_folder(vetting: dict[str, Path]) -> None:
    work = vetting["folder"] / "work"
    work.mkdir()
    env = {"MODELWARD_SIGNING_KEY": str(vetting["key"]), "MODELWARD_REGISTRY": "sqlite:///rel.db"}
    publish(vetting, env, cwd=work)
    assert (work / "rel.db").is_file()
    check = mw("admission", "check", str(vetting["manifest"]), env=env, cwd=work)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("sqlite://host/v.db", "has no host part"),
        ("sqlite://", "names no file"),
        ("postgresql://db/verdicts", "unsupported registry URL"),
        ("kubernetes://Bad_Name", "is not a namespace name"),
    ],
)
def test_bad_registry_urls_fail_before_any_scan(
    vetting: dict[str, Path], url: str, needle: str
) -> None:
    env = {"MODELWARD_SIGNING_KEY": str(vetting["key"])}
    vet = mw("vet", str(vetting["model"]), "--publish", "--registry", url, "--format", "json",
             env=env)  # fmt: skip
    assert_clean_error(vet, needle)
    assert vet.stdout == ""  # refused before the scan: no report was written
    check = mw("admission", "check", str(vetting["manifest"]), "--registry", url, env=env)
    assert_clean_error(check, needle)


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        ("require_signatur: true\n", ["unknown configuration key 'require_signatur'",
                                      "did you mean 'require_signature'"]),
        ("trusted_publishers: 5\n", ["'trusted_publishers' must be array", "not integer (5)"]),
        ("require_pinned: 'no'\n", ["'require_pinned' must be boolean", "not string"]),
    ],
)  # fmt: skip
def test_bad_config_keys_fail_scan_eval_and_vet(
    vetting: dict[str, Path], data: str, needles: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "policy-config.yaml"
    config.write_text(data)
    facts = tmp_path / "facts.json"
    scan = mw("scan", str(vetting["model"]), "--format", "json", env={})
    assert scan.returncode == 0, scan.stderr
    facts.write_text(json.dumps(json.loads(scan.stdout)["facts"]))
    env = {"MODELWARD_SIGNING_KEY": str(vetting["key"])}
    for command in (
        ("scan", str(vetting["model"])),
        ("eval", "--input", str(facts)),
        ("vet", str(vetting["model"])),
    ):
        proc = mw(*command, "--data", str(config), env=env)
        assert_clean_error(proc, str(config), *needles)


def test_webhook_config_checks_its_data_file(vetting: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text("require_signatur: true\n")
    (tmp_path / "webhook.yaml").write_text("data: data.yaml\n")
    check = mw("admission", "check", str(vetting["manifest"]), "-c",
               str(tmp_path / "webhook.yaml"), env={})  # fmt: skip
    assert_clean_error(check, "webhook.yaml: data:", str(tmp_path / "data.yaml"),
                       "'require_signatur'")  # fmt: skip
    serve = mw("webhook", "serve", "--config", str(tmp_path / "webhook.yaml"),
               "--tls-cert", str(tmp_path / "tls.crt"), "--tls-key", str(tmp_path / "tls.key"),
               env={})  # fmt: skip
    assert_clean_error(serve, "webhook.yaml: data:", "'require_signatur'")
    from modelward.admission.config import load_webhook_config
    from modelward.admission.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown configuration key 'require_signatur'"):
        load_webhook_config(tmp_path / "webhook.yaml")
    (tmp_path / "data.yaml").write_text("require_signature: true\ntrusted_publishers: [acme]\n")
    assert load_webhook_config(tmp_path / "webhook.yaml").data == tmp_path / "data.yaml"


def test_config_schema_is_published() -> None:
    proc = mw("schema", "config", env={})
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["trusted_publishers"]["type"] == ["array", "null"]
    assert props["require_signature"] == {"type": ["boolean", "null"], "default": False}
    assert "verdict_max_age" in props


def test_ordinary_mistakes_are_one_clear_error(vetting: dict[str, Path], tmp_path: Path) -> None:
    model = str(vetting["model"])
    missing_dir = tmp_path / "no-such-folder" / "report.json"
    assert_clean_error(mw("scan", model, "-o", str(missing_dir), env={}), "does not exist")
    assert not missing_dir.parent.exists()
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert_clean_error(mw("scan", str(loop), env={}), "symbolic link loop")
    bad_rego = tmp_path / "bad-policy"
    bad_rego.mkdir()
    (bad_rego / "broken.rego").write_text("package broken\n\nthis is not rego {{{\n")
    assert_clean_error(mw("scan", model, "--policy", str(bad_rego), env={}), "broken.rego:3:")
    bad_yaml = tmp_path / "config.yaml"
    bad_yaml.write_text("trusted_publishers: [acme\n")
    proc = mw("scan", model, "--data", str(bad_yaml), env={})
    assert_clean_error(proc, f"{bad_yaml}:2:1: invalid YAML")
    assert "<unicode string>" not in proc.stderr
    bad_value = tmp_path / "max-age.yaml"
    bad_value.write_text("verdict_max_age: soon\n")
    env = {"MODELWARD_SIGNING_KEY": str(vetting["key"])}
    assert_clean_error(mw("vet", model, "--data", str(bad_value), env=env), "verdict_max_age")
    bad_manifest = tmp_path / "deploy.yaml"
    bad_manifest.write_text("kind: [\n")
    proc = mw("admission", "check", str(bad_manifest), env={})
    assert_clean_error(proc, f"{bad_manifest}: document 1: not valid YAML: line 2, column 1")
    assert "<unicode string>" not in proc.stderr


CUSTOM_POLICY = """package modelward.policies.custom.limit

import data.modelward.lib

# METADATA
# title: Too many files
# custom:
#   id: too-many-files
#   severity: low
#   remediation: Split the model.
#   config:
#     max_files: integer
deny contains {"id": "too-many-files"} if {
\tcount(input.model.files) > data.modelward.config.max_files
}

# METADATA
# title: Noted
# custom:
#   id: noted
#   severity: info
#   remediation: Nothing to do.
warn contains {"id": "noted", "level": level} if {
\tlevel := lib.config("note_level", "info")
}
"""


def test_custom_bundle_keys_come_from_metadata_and_rego(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "limit.rego").write_text(CUSTOM_POLICY)
    schema = json.loads(mw("schema", "config", "--policy", str(bundle), env={}).stdout)
    assert schema["properties"]["max_files"] == {"type": ["number", "null"]}
    assert schema["properties"]["note_level"] == {"type": ["string", "null"]}
    assert "require_signature" not in schema["properties"]  # not read by this bundle
    config = tmp_path / "custom.yaml"
    config.write_text("max_files: many\n")
    model = str(tiny_model(tmp_path))
    proc = mw("scan", model, "--policy", str(bundle), "--data", str(config), env={})
    assert_clean_error(proc, str(config), "'max_files' must be number", "not string ('many')")

"""``pip install`` of the built wheel into a clean virtualenv, without extras and without network.

The wheel is built from this checkout; the base dependencies come from ``uv.lock`` out of uv's
cache (filled by ``make setup``), then pip installs the wheel with ``--no-index``, so the
compatible ranges in the package metadata must accept the locked versions. The installed
``modelward`` must scan a local model, and every command that needs an extra must name it.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
#: Libraries that only extras (or the dev group) bring; none may be in a base install.
EXTRA_ONLY = [
    "huggingface_hub",
    "httpx2",
    "kubernetes",
    "uvicorn",
    "uvloop",
    "prometheus_client",
    "opa_client",
    "requests",
    "aiohttp",
    "model_signing",
    "sigstore",
    "OpenSSL",
    "oras",
    "zstandard",
    "boto3",
    "botocore",
    "urllib3",
    "fickling",
]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(UV_OFFLINE="1", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", NO_COLOR="1")
    return env


def _run(args: list[str | Path], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600
    )


def _checked(args: list[str | Path]) -> None:
    done = _run(args)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with ``modelward`` (no extras) installed by pip from its wheel."""
    uv = shutil.which("uv")
    assert uv is not None, "uv is not on PATH; run `make setup` first"
    root = tmp_path_factory.mktemp("install")
    _checked([uv, "build", "--wheel", "--offline", "--quiet", "--out-dir", root / "dist", REPO])
    (wheel,) = (root / "dist").glob("modelward-*.whl")
    venv = root / "venv"
    _checked([sys.executable, "-m", "venv", venv])
    sync = [uv, "sync", "--frozen", "--offline", "--no-dev", "--no-install-project", "--inexact"]
    done = subprocess.run(
        [*sync, "--quiet", "--project", str(REPO)],
        env={**_env(), "UV_PROJECT_ENVIRONMENT": str(venv)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    _checked([venv / "bin" / "python", "-m", "pip", "install", "--no-index", "--quiet", wheel])
    return venv


def test_base_install_satisfies_its_metadata_without_extras(base_venv: Path) -> None:
    python = base_venv / "bin" / "python"
    checked = _run([python, "-m", "pip", "check"])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    probe = "import importlib.util as u, sys; print([m for m in sys.argv[1:] if u.find_spec(m)])"
    found = _run([python, "-c", probe, *EXTRA_ONLY])
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"
    assert _run([python, "-c", "import modelward.engine, regorus"]).returncode == 0


def _tiny_safetensors(path: Path) -> Path:
    header = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + struct.pack("<2f", 1.0, 2.0))
    return path


def test_base_install_scans_a_local_model(base_venv: Path, tmp_path: Path) -> None:
    model = _tiny_safetensors(tmp_path / "tiny.safetensors")
    done = _run([base_venv / "bin" / "modelward", "scan", model], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tiny.safetensors" in done.stdout
    assert "safetensors" in done.stdout.split("FORMAT", 1)[1]
    assert "decision: ALLOW" in done.stdout


def test_installed_package_uses_the_stored_policy_index(base_venv: Path) -> None:
    """The wheel ships the built-in library's METADATA index, and it matches the shipped Rego."""
    probe = (
        "from modelward.engine.policy import index\n"
        "from modelward.engine.policy.bundle import PolicyBundle\n"
        "bundle, digest = PolicyBundle.parse_builtin()\n"
        "print(index.INDEX_PATH.is_file(), index.read_index(digest) is not None)\n"
    )
    done = _run([base_venv / "bin" / "python", "-c", probe])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_help_lists_every_command_without_extras(base_venv: Path) -> None:
    done = _run([base_venv / "bin" / "modelward", "--help"])
    assert done.returncode == 0, done.stderr
    for command in ("scan", "sign", "registry", "admission", "webhook"):
        assert command in done.stdout


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["scan", "hf://org/model"], "hub"),
        (["scan", "s3://bucket/model/"], "s3"),
        (["scan", "https://127.0.0.1:9/model.bin"], "https"),
        (["scan", "{model}", "--engine", "opa", "--opa-url", "http://127.0.0.1:9"], "opa"),
        (["sign", "{dir}", "--key", "{dir}/missing.pem"], "signing"),
        (["registry", "list", "--registry", "kubernetes://default"], "kubernetes"),
        (["webhook", "serve", "--tls-cert", "cert.pem", "--tls-key", "key.pem"], "webhook"),
    ],
)
def test_a_command_that_needs_an_extra_names_it(
    base_venv: Path, tmp_path: Path, args: list[str], extra: str
) -> None:
    model = _tiny_safetensors(tmp_path / "tiny.safetensors")
    filled = [a.format(model=model, dir=tmp_path) for a in args]
    done = _run([base_venv / "bin" / "modelward", *filled], cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"pip install 'modelward[{extra}]'" in done.stderr
    assert f"the {extra!r} extra is not installed" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "internal error" not in done.stderr


def test_shell_completion_completes_commands_and_options(base_venv: Path) -> None:
    modelward = base_venv / "bin" / "modelward"
    script = _run([modelward, "--show-completion", "bash"])
    assert script.returncode == 0, script.stderr
    assert "_MODELWARD_COMPLETE=complete_bash" in script.stdout
    env = {**_env(), "_MODELWARD_COMPLETE": "complete_bash", "COMP_CWORD": "1"}
    words = subprocess.run(
        [str(modelward)], env={**env, "COMP_WORDS": "modelward sc"}, capture_output=True, text=True
    )
    assert words.stdout.split() == ["scan", "scan-files", "schema"]
    options = subprocess.run(
        [str(modelward)],
        env={**env, "COMP_WORDS": "modelward scan --eng", "COMP_CWORD": "2"},
        capture_output=True,
        text=True,
    )
    assert options.stdout.split() == ["--engine"]

"""Fixtures for the Hugging Face tests: repositories, a fake Hub serving them, the CLI's env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.fake_hub import FakeHub, Repo, make_files, sha256_of
from tests.scan.builders import safetensors_bytes, system_pickle, torch_zip

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_MODEL = REPO_ROOT / ".cache" / "models" / "all-minilm-l6-v2"
MODELWARD = Path(sys.executable).with_name("modelward")

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_COMMIT = "7dbbc90392e2f80f3d3c277d6e90027e55de9125"
EVIL = "acme-research/tiny-classifier"
EVIL_COMMIT = "5b1c0e9d8a7f6e5d4c3b2a19081726354a5b6c7d"
LOOKALIKE = "meta-lIama/Llama-3.2-1B"
LOOKALIKE_COMMIT = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
TAMPERED = "acme-research/tampered-model"
TAMPERED_COMMIT = "1f2e3d4c5b6a79880a1b2c3d4e5f60718293a4b5"
SMALL = "acme-research/small-model"
SMALL_COMMIT = "4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f"
FLAGGED = "acme-research/flagged-model"
FLAGGED_COMMIT = "2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"


def tiny_safetensors() -> bytes:
    header = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    return safetensors_bytes(header, b"\x00" * 16)


def card(license_id: str) -> bytes:
    return f"---\nlicense: {license_id}\nlibrary_name: transformers\n---\n# A model\n".encode()


def minilm_files() -> dict[str, bytes | Path]:
    if not (REAL_MODEL / "model.safetensors").is_file():
        pytest.fail(f"{REAL_MODEL} is missing; fetch it with `python3 scripts/models.py`")
    out: dict[str, bytes | Path] = {}
    for path in sorted(REAL_MODEL.rglob("*")):
        if path.is_file():
            rel = path.relative_to(REAL_MODEL).as_posix()
            out[rel] = path if rel.endswith(".safetensors") else path.read_bytes()
    return out


def build_repos(canary: str) -> list[Repo]:
    minilm_info = {
        "library_name": "sentence-transformers",
        "pipeline_tag": "sentence-similarity",
        "tags": ["sentence-transformers", "pytorch", "safetensors", "license:apache-2.0"],
        "cardData": {"license": "apache-2.0", "library_name": "sentence-transformers"},
        "createdAt": "2022-03-02T23:29:05.000Z",
        "lastModified": "2024-11-01T10:26:30.000Z",
        "downloads": 98765432,
    }
    minilm = Repo(MINILM, MINILM_COMMIT, make_files(minilm_files()), minilm_info)
    evil = Repo(
        EVIL,
        EVIL_COMMIT,
        make_files(
            {
                "config.json": b'{"model_type": "bert"}\n',
                "README.md": card("apache-2.0"),
                "pytorch_model.bin": torch_zip(system_pickle(canary)),
            }
        ),
    )  # the hub's own scan missed it: modelward's scan must still deny
    lookalike = Repo(
        LOOKALIKE,
        LOOKALIKE_COMMIT,
        make_files({"README.md": card("apache-2.0"), "model.safetensors": tiny_safetensors()}),
    )
    served = bytearray(tiny_safetensors())
    served[-1] ^= 0xFF  # same size, different bytes
    tampered_files = make_files(
        {
            "README.md": card("apache-2.0"),
            "model.safetensors": bytes(served),
        }
    )
    tampered_files["model.safetensors"].advertised_sha256 = sha256_of(tiny_safetensors())
    tampered = Repo(TAMPERED, TAMPERED_COMMIT, tampered_files)
    flagged_files = make_files({"README.md": card("mit"), "model.safetensors": tiny_safetensors()})
    flagged_files["model.safetensors"].security = "unsafe"
    flagged = Repo(
        FLAGGED,
        FLAGGED_COMMIT,
        flagged_files,
        files_with_issues=[{"path": "model.safetensors", "level": "unsafe"}],
    )
    small = Repo(
        SMALL,
        SMALL_COMMIT,
        make_files(
            {
                "README.md": card("apache-2.0"),
                "config.json": b'{"model_type": "bert"}\n',
                "model.safetensors": tiny_safetensors(),
            }
        ),
    )
    return [minilm, evil, lookalike, tampered, flagged, small]


@pytest.fixture(scope="session")
def recorded(shared: Path) -> dict[str, Any]:
    folder = shared / "fixtures" / "hub" / "api-recorded"
    return {
        "model_info": json.loads(
            (folder / "model_info.google-bert__bert-base-uncased.json").read_text()
        ),
        "429": (folder / "http429.api_models.meta-llama__Llama-3.1-70B-Instruct.json")
        .read_bytes()
        .strip(),
    }


@pytest.fixture(scope="session")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """What the malicious checkpoint would create if anything ever loaded it."""
    path = tmp_path_factory.mktemp("canary") / "LOADED-A-MALICIOUS-MODEL"
    yield path
    assert not path.exists(), "the malicious checkpoint was loaded"


@pytest.fixture(scope="session")
def repos(canary: Path) -> list[Repo]:
    return build_repos(str(canary))


@pytest.fixture
def start_hub(recorded: dict[str, Any], repos: list[Repo]) -> Iterator[Callable[[], FakeHub]]:
    started: list[FakeHub] = []

    def start() -> FakeHub:
        hub = FakeHub(recorded["model_info"], recorded["429"])
        for repo in repos:
            hub.add(repo)
        started.append(hub.start())
        return hub

    yield start
    for hub in started:
        hub.stop()


@pytest.fixture
def hub(start_hub: Callable[[], FakeHub]) -> FakeHub:
    return start_hub()


@pytest.fixture
def hf_env(tmp_path: Path, hub: FakeHub) -> dict[str, str]:
    """The environment of a CLI run against the fake Hub, with an empty cache of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        RUST_BACKTRACE="0",
        HF_ENDPOINT=hub.endpoint,
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_CACHE=str(tmp_path / "hf-cache"),
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    return env


def modelward(
    *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MODELWARD), *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def scan(ref: str, env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any]]:
    """``modelward scan REF --format json``: exit code and report (allow or deny only)."""
    proc = modelward("scan", ref, "--format", "json", *extra, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def deny_ids(report: dict[str, Any]) -> set[str]:
    return {d["id"] for d in report["decision"]["deny"]}


def warn_ids(report: dict[str, Any]) -> set[str]:
    return {w["id"] for w in report["decision"]["warn"]}

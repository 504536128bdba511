"""Shared test fixtures: where the external corpus and fixtures live.

The corpus and fixtures are never copied into this repository. Tests read them from
``$MODELWARD_SHARED`` or, by default, the ``shared`` folder beside the checkout. A missing folder
is a test failure, not a skip.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    path = Path(os.environ.get("MODELWARD_SHARED", REPO.parent / "shared"))
    if not (path / "corpus" / "manifest.jsonl").is_file():
        pytest.fail(
            f"shared corpus not found at {path}; set MODELWARD_SHARED to a copy of it "
            "(see README, 'Running the tests')"
        )
    return path


def corpus_manifest() -> list[dict[str, str]]:
    lines = (shared_dir() / "corpus" / "manifest.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def corpus_files(shared: Path) -> Path:
    return shared / "corpus" / "files"


def tool_binary(name: str) -> Path:
    """A tool built by scripts/tools.sh; missing is a failure (run `make tools`)."""
    path = Path(os.environ.get("MODELWARD_TOOLS_CACHE", REPO / "tools-cache")) / "bin" / name
    if not path.is_file():
        pytest.fail(f"{path} is missing; build it with `bash scripts/tools.sh {name}`")
    return path


@pytest.fixture(scope="session")
def opa_binary() -> Path:
    return tool_binary("opa")

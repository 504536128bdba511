"""A sample git repository with a benign model and a malicious pickle, and SARIF checks.

The malicious pickle is written as raw opcodes (``tests.scan.builders``) and never loaded; its
call would only create a canary file, whose absence the tests assert.
``sarif-schema-2.1.0.json`` beside this file is the OASIS SARIF 2.1.0 JSON Schema (errata01,
draft-04), kept here so the SARIF checks need no network.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from tests.engine.model_layouts import git
from tests.scan.builders import system_pickle

SARIF_SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")
GOOD_MODEL = "models/classifier/model.safetensors"
BAD_MODEL = "models/legacy/model.pkl"


@dataclass(frozen=True)
class SampleRepo:
    root: Path
    canary: Path

    def add(self, *paths: str) -> None:
        git(self.root, "add", "--", *paths)

    def commit(self, message: str) -> None:
        git(self.root, "commit", "-q", "-m", message)

    def staged(self) -> list[str]:
        """The files a commit would add or change, as pre-commit lists them."""
        out = git(self.root, "diff", "--staged", "--name-only", "--diff-filter=ACMRTUXB", "-z")
        return [name for name in out.split("\0") if name]


def tiny_safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<2f", 0.5, 1.5)


def build_sample_repo(root: Path) -> SampleRepo:
    """A repository with some code and docs committed, and both models written but not added."""
    canary = root.parent / "LOADED-A-MALICIOUS-MODEL"
    files = {
        "README.md": "# sentiment service\n",
        "src/serve.py": "print('serving')\n",
        "models/classifier/config.json": '{"architectures": ["Classifier"]}\n',
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Service code")
    (root / GOOD_MODEL).write_bytes(tiny_safetensors())
    (root / BAD_MODEL).parent.mkdir(parents=True)
    (root / BAD_MODEL).write_bytes(system_pickle(str(canary)))
    return SampleRepo(root, canary)


def validate_sarif(path: Path) -> dict[str, Any]:
    """The SARIF log at ``path``, after checking it against the OASIS SARIF 2.1.0 schema."""
    document: dict[str, Any] = json.loads(path.read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    return document


def results_by_rule(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for result in document["runs"][0]["results"]:
        found.setdefault(result["ruleId"], []).append(result)
    return found

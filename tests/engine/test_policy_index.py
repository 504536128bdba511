"""The stored index of the built-in library: current, equal to parsing, ignored when stale."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelward.engine.policy import index
from modelward.engine.policy.bundle import PolicyBundle


def _view(bundle: PolicyBundle) -> tuple[object, ...]:
    return bundle.config, bundle.config_types, bundle.rules, bundle.revision


def test_stored_index_matches_the_sources() -> None:
    """Fails when a policy or config.yaml changed without ``make docs`` rewriting the index."""
    parsed, digest = PolicyBundle.parse_builtin()
    stored = index.read_index(digest)
    assert stored is not None, "engine/policy/builtin_index.json is stale: run `make docs`"
    assert stored == json.loads(json.dumps(index.make_index(parsed, digest)))


def test_builtin_from_index_equals_parsed() -> None:
    parsed, _ = PolicyBundle.parse_builtin()
    assert _view(PolicyBundle.builtin()) == _view(parsed)


def test_stale_index_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed, digest = PolicyBundle.parse_builtin()
    forged = index.make_index(parsed, "0" * 64)
    forged["config"] = {
        **parsed.config,
        "require_signature": not parsed.config.get("require_signature"),
    }
    stale = tmp_path / "builtin_index.json"
    stale.write_text(json.dumps(forged))
    monkeypatch.setattr(index, "INDEX_PATH", stale)
    assert index.read_index(digest) is None
    assert _view(PolicyBundle.builtin()) == _view(parsed)


@pytest.mark.parametrize("content", ["", "[]", "{not json", '{"digest": 5}'])
def test_unreadable_index_is_ignored(
    content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "builtin_index.json"
    broken.write_text(content)
    monkeypatch.setattr(index, "INDEX_PATH", broken)
    parsed, _ = PolicyBundle.parse_builtin()
    assert _view(PolicyBundle.builtin()) == _view(parsed)


def test_builtin_bundle_loads_without_yaml() -> None:
    """The point of the index: the default scan path does not import the YAML parser."""
    code = (
        "import sys\n"
        "from modelward.engine.policy.bundle import PolicyBundle\n"
        "bundle = PolicyBundle.builtin()\n"
        "assert bundle.rules and bundle.config\n"
        "print('yaml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

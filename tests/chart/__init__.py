"""Helpers for the Helm chart tests: run the real Helm binary and parse what it renders."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO, tool_binary

CHART = REPO / "charts" / "modelward"
RELEASE = "modelward"
NAMESPACE = "modelward"

# The documented values combinations (docs/admission.md, "Values combinations"); "default" is
# the chart's values.yaml alone.
COMBOS = (
    "default",
    "cert-manager",
    "cert-manager-issuer",
    "existing-secret",
    "opa",
    "servicemonitor",
    "custom-policies",
    "inline-policies",
    "digest",
    "fail-open",
    "no-kserve",
    "hardened",
)


def values_file(combo: str) -> Path:
    return CHART / "ci" / f"{combo}-values.yaml"


def combo_args(combo: str) -> list[str]:
    return [] if combo == "default" else ["-f", str(values_file(combo))]


def helm_env(home: Path | None = None) -> dict[str, str]:
    """A minimal environment: Helm's own folders under ``home`` (never the user's)."""
    base = home or Path(os.environ.get("TMPDIR", "/tmp")) / "modelward-helm-test"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(base)}
    for name in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{name}_HOME"] = str(base / name.lower())
    return env


def helm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run Helm; the caller checks the exit code."""
    return subprocess.run(
        [str(tool_binary("helm")), *args],
        capture_output=True,
        text=True,
        env=env or helm_env(),
        timeout=120,
        check=False,
    )


def template(*args: str) -> subprocess.CompletedProcess[str]:
    return helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args)


def parse(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


@functools.cache
def _rendered(combo: str, extra: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    result = template(*combo_args(combo), *extra)
    assert result.returncode == 0, f"helm template ({combo}) failed:\n{result.stderr}"
    return tuple(parse(result.stdout))


def render(combo: str = "default", *extra: str) -> list[dict[str, Any]]:
    """The manifests ``helm template`` renders for a combination (plus extra arguments)."""
    return list(_rendered(combo, tuple(extra)))


def only(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The single rendered object of ``kind`` (and ``name``)."""
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def kinds(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]

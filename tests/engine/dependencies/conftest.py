"""Building models with dependency manifests, and collecting their dependency facts."""

from __future__ import annotations

from pathlib import Path

from modelward.engine.collectors import CollectOptions
from modelward.engine.collectors.dependencies import DependenciesCollector
from modelward.engine.facts import DependenciesFacts
from modelward.engine.pipeline import collect_facts


def write_model(root: Path, files: dict[str, str | bytes]) -> Path:
    """A model folder with a tiny safetensors file and ``files`` (path -> content)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.safetensors").write_bytes(len(b"{}      ").to_bytes(8, "little") + b"{}      ")
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
    return root


def dependencies(root: Path, options: CollectOptions | None = None) -> DependenciesFacts:
    facts = collect_facts(str(root), options=options, collectors=(DependenciesCollector,))
    status = facts.collection.collectors["dependencies"]
    assert status.status == "ok", status.reason
    assert facts.dependencies is not None
    return facts.dependencies

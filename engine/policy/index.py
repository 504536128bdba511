"""The built-in bundle's parsed METADATA and configuration, stored next to this module.

Parsing the METADATA of every rule (YAML) on each call costs more than the rest of a small scan.
The index holds the result for the built-in library together with the digest of the sources
it came from; it is used only when that digest matches the sources being loaded, so an index
that went stale is ignored (and a test fails), never trusted. ``make docs`` rewrites it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelward.engine.policy.bundle import PolicyBundle, RuleMeta

INDEX_PATH = Path(__file__).resolve().with_name("builtin_index.json")
INDEX_VERSION = 1


def source_digest(modules_digest: str, config_text: str) -> str:
    """Digest of everything the index is derived from: the modules and the config file."""
    digest = hashlib.sha256(f"index-v{INDEX_VERSION}\0{modules_digest}\0".encode())
    digest.update(config_text.encode())
    return digest.hexdigest()


def read_index(digest: str) -> dict[str, Any] | None:
    """The stored index when it was made from sources with ``digest``, else ``None``."""
    try:
        index = json.loads(INDEX_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(index, dict) or index.get("digest") != digest:
        return None
    return index


def apply_index(bundle: PolicyBundle, index: dict[str, Any]) -> None:
    """Fill ``bundle``'s config, rules and config types from a matching index."""
    from modelward.engine.policy.bundle import RuleMeta

    bundle.config = index["config"]
    bundle.config_types = {k: tuple(v) for k, v in index["config_types"].items()}
    for rule in index["rules"]:
        fields = {k: v for k, v in rule.items() if k != "config"}
        config = tuple((key, tuple(types)) for key, types in rule["config"])
        meta = RuleMeta(**fields, config=config)
        bundle.rules[meta.id] = meta


def make_index(bundle: PolicyBundle, digest: str) -> dict[str, Any]:
    """The index of a bundle parsed from its sources."""
    return {
        "digest": digest,
        "config": bundle.config,
        "config_types": {k: list(v) for k, v in sorted(bundle.config_types.items())},
        "rules": [_rule(meta) for meta in bundle.rules.values()],
    }


def _rule(meta: RuleMeta) -> dict[str, Any]:
    return {
        "id": meta.id,
        "kind": meta.kind,
        "title": meta.title,
        "severity": meta.severity,
        "remediation": meta.remediation,
        "policy": meta.policy,
        "location": meta.location,
        "description": meta.description,
        "config": [[key, list(types)] for key, types in meta.config],
    }


def write_index() -> Path:
    """Parse the built-in library from its sources and store its index."""
    from modelward.engine.policy.bundle import PolicyBundle

    bundle, digest = PolicyBundle.parse_builtin()
    text = json.dumps(make_index(bundle, digest), indent=1, sort_keys=True) + "\n"
    INDEX_PATH.write_text(text, encoding="utf-8")
    return INDEX_PATH

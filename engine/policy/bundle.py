"""``PolicyBundle``: Rego modules, their rule METADATA, and configuration data."""

from __future__ import annotations

import datetime
import hashlib
import importlib.resources
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from modelward.engine.errors import PolicyError, yaml_problem
from modelward.engine.policy.config_schema import (
    ConfigTypes,
    check_config,
    config_schema,
    config_types,
    declared_types,
)

RULE_HEAD = re.compile(r"^(deny|warn)\s+contains\b", re.M)
ENTRY_PACKAGE = re.compile(r"^package\s+modelward\.main\s*$", re.M)
REQUIRED_META = ("id", "severity", "remediation")
SEVERITIES = ("critical", "high", "medium", "low", "info")
CONFIG_NAMES = ("config.yaml", "config.yml", "config.json")


@dataclass(frozen=True)
class RegoModule:
    path: str
    source: str

    @property
    def is_test(self) -> bool:
        return self.path.endswith("_test.rego")


@dataclass(frozen=True)
class RuleMeta:
    id: str
    kind: str
    title: str
    severity: str
    remediation: str
    policy: str
    location: str
    description: str = ""
    config: tuple[tuple[str, tuple[str, ...]], ...] = ()  # METADATA custom.config


@dataclass
class PolicyBundle:
    """A loaded, validated bundle. ``data()`` is what both engines receive as ``data``."""

    name: str
    modules: list[RegoModule]
    config: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, RuleMeta] = field(default_factory=dict)
    #: The configuration keys the bundle knows and their JSON types (``config_schema``).
    config_types: ConfigTypes = field(default_factory=dict)

    @property
    def policies(self) -> list[RegoModule]:
        return [m for m in self.modules if not m.is_test]

    @property
    def tests(self) -> list[RegoModule]:
        return [m for m in self.modules if m.is_test]

    @property
    def revision(self) -> str:
        """Changes whenever a module or the configuration changes."""
        digest = hashlib.sha256(self._modules_digest.encode())
        digest.update(json.dumps(self.config, sort_keys=True, default=str).encode())
        return "sha256:" + digest.hexdigest()[:16]

    @cached_property
    def _modules_digest(self) -> str:
        digest = hashlib.sha256()
        for module in self.modules:
            digest.update(module.path.encode() + b"\0" + module.source.encode() + b"\0")
        return digest.hexdigest()

    def data(self) -> dict[str, Any]:
        rules = {
            r.id: {
                "title": r.title,
                "severity": r.severity,
                "remediation": r.remediation,
                "policy": r.policy,
            }
            for r in self.rules.values()
        }
        return {"modelward": {"config": self.config, "rules": rules}}

    @classmethod
    def builtin(cls) -> PolicyBundle:
        """The built-in library; its METADATA comes from the stored index when that matches."""
        from modelward.engine.policy import index

        bundle, root, digest = cls._builtin_sources()
        stored = index.read_index(digest)
        if stored is None:
            return cls._parse(bundle, root)
        index.apply_index(bundle, stored)
        return bundle

    @classmethod
    def parse_builtin(cls) -> tuple[PolicyBundle, str]:
        """The built-in library parsed from its sources, and the digest of those sources."""
        bundle, root, digest = cls._builtin_sources()
        return cls._parse(bundle, root), digest

    @classmethod
    def _builtin_sources(cls) -> tuple[PolicyBundle, Traversable, str]:
        from modelward.engine.policy.index import source_digest

        root = importlib.resources.files("modelward.policies")
        bundle = cls._modules(root, "builtin")
        found = _config_text(root)
        return bundle, root, source_digest(bundle._modules_digest, found[1] if found else "")

    @classmethod
    def load(cls, path: Path | None = None) -> PolicyBundle:
        """Load a bundle directory, or the built-in library when ``path`` is None."""
        if path is None:
            return cls.builtin()
        if not path.is_dir():
            raise PolicyError(f"{path}: policy bundle must be a directory")
        return cls._parse(cls._modules(path, str(path)), path)

    @classmethod
    def _modules(cls, root: Traversable, name: str) -> PolicyBundle:
        """A bundle holding the ``.rego`` modules under ``root``, nothing parsed yet."""
        modules = [
            RegoModule(rel, node.read_text("utf-8"))
            for rel, node in _walk(root, "")
            if rel.endswith(".rego")
        ]
        if not modules:
            raise PolicyError(f"{name}: no .rego files in the policy bundle")
        return cls(name, sorted(modules, key=lambda m: m.path))

    @classmethod
    def _parse(cls, bundle: PolicyBundle, root: Traversable) -> PolicyBundle:
        """Read the configuration and every rule's METADATA into ``bundle``."""
        name = bundle.name
        bundle.config = _config(root, name)
        for module in bundle.policies:
            for meta in parse_rule_metadata(module, origin=name):
                known = bundle.rules.get(meta.id)
                if known is not None and (known.policy, known.severity) == (
                    meta.policy,
                    meta.severity,
                ):
                    continue  # another body of the same rule
                if known is not None:
                    other = known.location
                    raise PolicyError(
                        f"{meta.location}: rule id {meta.id!r} already used at {other}"
                    )
                bundle.rules[meta.id] = meta
        declared = {k: v for meta in bundle.rules.values() for k, v in meta.config}
        sources = (m.source for m in bundle.policies)
        bundle.config_types = config_types(bundle.config, sources, declared)
        return bundle

    def config_schema(self) -> dict[str, Any]:
        """The JSON Schema of this bundle's configuration (``modelward schema config``)."""
        return config_schema(self.config_types, self.config)


def _walk(node: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name not in ("samples", "__pycache__") and not child.name.startswith("."):
                out.extend(_walk(child, f"{rel}/"))
        else:
            out.append((rel, child))
    return out


def _config_text(root: Traversable) -> tuple[str, str] | None:
    """``(file name, text)`` of the bundle's configuration file, if it has one."""
    for filename in CONFIG_NAMES:
        node = root / filename
        if node.is_file():
            return filename, node.read_text("utf-8")
    return None


def _config(root: Traversable, name: str) -> dict[str, Any]:
    found = _config_text(root)
    if found is None:
        return {}
    return load_config_text(found[1], f"{name}/{found[0]}")


def load_bundle(path: Path | None, data: Path | None) -> PolicyBundle:
    """The bundle at ``path`` (or the built-in library) with ``data``'s top-level keys replacing
    its config; an unknown key or a value of the wrong type in ``data`` is a ``PolicyError``."""
    bundle = PolicyBundle.load(path)
    if data is not None:
        apply_data(bundle, data)
    return bundle


def apply_data(bundle: PolicyBundle, data: Path) -> None:
    """Replace ``bundle``'s config keys with ``data``'s, once they pass its schema."""
    try:
        text = data.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{data}: cannot read the configuration: {exc.strerror or exc}") from None
    values = load_config_text(text, str(data))
    check_config(values, bundle.config_types, str(data))
    bundle.config = {**bundle.config, **values}


def _yaml_load(text: str) -> Any:
    """Safe YAML load, with libyaml's loader when PyYAML has it (same documents, faster)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)


def load_config_text(text: str, origin: str) -> dict[str, Any]:
    """Parse YAML or JSON configuration; the top level must be a mapping."""
    import yaml

    try:
        value = _yaml_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(yaml_problem(origin, exc)) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(f"{origin}: configuration must be a mapping")
    return _dates_to_text(value)  # type: ignore[no-any-return]


def _dates_to_text(value: Any) -> Any:
    """YAML reads an unquoted 2027-06-30 as a date; policies compare ISO strings."""
    if isinstance(value, dict):
        return {k: _dates_to_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_to_text(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def parse_rule_metadata(module: RegoModule, origin: str = "") -> list[RuleMeta]:
    """METADATA of every deny/warn rule; raise ``PolicyError`` for a rule without it."""
    if ENTRY_PACKAGE.search(module.source):
        return []  # the entry point only gathers the findings of the policy packages
    lines = module.source.splitlines()
    metas = []
    for match in RULE_HEAD.finditer(module.source):
        lineno = module.source.count("\n", 0, match.start())
        location = (
            f"{origin}/{module.path}:{lineno + 1}:1" if origin else f"{module.path}:{lineno + 1}:1"
        )
        block = _metadata_block(lines, lineno)
        if block is None:
            raise PolicyError(f"{location}: {match.group(1)} rule has no METADATA block")
        metas.append(_rule_meta(block, match.group(1), module.path, location))
    return metas


def _metadata_block(lines: list[str], rule_line: int) -> dict[str, Any] | None:
    start = rule_line
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    comments = lines[start:rule_line]
    if not comments or comments[0].strip() != "# METADATA":
        return None
    text = "\n".join(c[2:] if c.startswith("# ") else c[1:] for c in comments[1:])
    import yaml

    try:
        value = _yaml_load(text)
    except yaml.YAMLError:
        return None
    return value if isinstance(value, dict) else None


def _rule_meta(block: dict[str, Any], kind: str, path: str, location: str) -> RuleMeta:
    custom = block.get("custom") or {}
    missing = [k for k in REQUIRED_META if not custom.get(k)]
    if not block.get("title"):
        missing.insert(0, "title")
    if missing:
        raise PolicyError(f"{location}: METADATA is missing {', '.join(missing)}")
    if custom["severity"] not in SEVERITIES:
        raise PolicyError(f"{location}: severity must be one of {', '.join(SEVERITIES)}")
    return RuleMeta(
        config=tuple(declared_types(custom, location).items()),
        id=str(custom["id"]),
        kind=kind,
        description=" ".join(str(block.get("description") or "").split()),
        title=str(block["title"]),
        severity=str(custom["severity"]),
        remediation=str(custom["remediation"]),
        policy=path.rsplit("/", 1)[0],
        location=location,
    )

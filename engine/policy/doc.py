"""Generated documentation: rule tables from METADATA, config and facts references."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from modelward.engine.facts import facts_json_schema
from modelward.engine.policy.bundle import PolicyBundle, RuleMeta


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"


def replace_block(text: str, name: str, body: str) -> str:
    """Replace what stands between the BEGIN/END markers called ``name`` (markers must exist)."""
    begin, end = _markers(name)
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"markers {begin} ... {end} not found")
    return pattern.sub(lambda _: f"{begin}\n{body.rstrip()}\n{end}", text, count=1)


def rules_table(rules: list[RuleMeta], *, with_policy: bool = False) -> str:
    head = "| id | kind | severity | title | remediation |"
    if with_policy:
        head = "| id | policy | kind | severity | title | remediation |"
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in sorted(rules, key=lambda r: (r.policy, r.id)):
        cells = [f"`{r.id}`", r.kind, r.severity, r.title, r.remediation]
        if with_policy:
            cells.insert(1, f"[`{r.policy}`](../policies/{r.policy})")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def facts_reference() -> str:
    """One row per field of the facts document, from the published JSON Schema."""
    schema = facts_json_schema()
    rows = ["| field | type | description |", "|---|---|---|"]
    for path, kind, text in _walk(schema, schema, "", set()):
        rows.append(f"| `{path}` | {kind} | {text} |")
    return "\n".join(rows)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        return _resolve(schema, schema["$defs"][ref.rsplit("/", 1)[1]])
    options = [o for o in node.get("anyOf", []) if o.get("type") != "null"]
    return _resolve(schema, options[0]) if len(options) == 1 else node


def _type(schema: dict[str, Any], node: dict[str, Any]) -> str:
    node = _resolve(schema, node)
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    if "anyOf" in node:
        return " or ".join(_type(schema, o) for o in node["anyOf"])
    if node.get("type") == "array":
        return f"array of {_type(schema, node.get('items', {}))}"
    return str(node.get("type", "object"))


def _walk(
    schema: dict[str, Any], node: dict[str, Any], prefix: str, seen: set[str]
) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for name, prop in _resolve(schema, node).get("properties", {}).items():
        path = f"{prefix}{name}"
        target = _resolve(schema, prop)
        items = _resolve(schema, target.get("items", {})) if target.get("type") == "array" else None
        description = prop.get("description") or target.get("description") or ""
        rows.append((path, _type(schema, prop), " ".join(str(description).split())))
        child = items if items and "properties" in items else target
        if "properties" in child and path not in seen:
            suffix = "[]." if items is child else "."
            rows.extend(_walk(schema, child, f"{path}{suffix}", seen | {path}))
    return rows


def render_policy_docs(bundle_dir: Path, docs: Path | None) -> dict[Path, str]:
    """New contents of every file the generator owns (policy READMEs and, if given, ``docs``)."""
    bundle = PolicyBundle.load(bundle_dir)
    by_policy: dict[str, list[RuleMeta]] = {}
    for rule in bundle.rules.values():
        by_policy.setdefault(rule.policy, []).append(rule)
    out: dict[Path, str] = {}
    for policy, rules in by_policy.items():
        readme = bundle_dir / policy / "README.md"
        out[readme] = replace_block(readme.read_text(encoding="utf-8"), "RULES", rules_table(rules))
    if docs is not None:
        text = docs.read_text(encoding="utf-8")
        text = replace_block(
            text, "RULES", rules_table(list(bundle.rules.values()), with_policy=True)
        )
        text = replace_block(text, "CONFIG", "```yaml\n" + _config_text(bundle_dir) + "```")
        text = replace_block(text, "FACTS", facts_reference())
        out[docs] = text
    return out


def _config_text(bundle_dir: Path) -> str:
    for name in ("config.yaml", "config.yml"):
        if (bundle_dir / name).is_file():
            return (bundle_dir / name).read_text(encoding="utf-8")
    return json.dumps(PolicyBundle.load(bundle_dir).config, indent=2) + "\n"

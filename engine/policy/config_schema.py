"""The policy configuration's JSON Schema: which keys exist and the type of each.

A key is known when the bundle's ``config.yaml`` sets it (its value gives the type), when a
policy reads it (``lib.config("key", fallback)``: the fallback's type;
``data.modelward.config.key``: any type), when a rule's METADATA declares it
(``custom: {config: {key: type}}``, a JSON Schema type or a list of them), or when modelward
itself reads it (``verdict_max_age``). Any other key in a ``--data`` file, and a value of
another type, is an error naming the file, the key and the expected type: a typo in a
security gate's configuration must never switch a check off silently. ``null`` always means
"the default".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from modelward.engine.errors import PolicyError

SCHEMA_ID = "modelward.dev/config/v1"
JSON_TYPES = ("boolean", "integer", "number", "string", "array", "object")
#: Keys modelward reads itself, beside the policies.
ENGINE_KEYS: dict[str, tuple[str, ...]] = {"verdict_max_age": ("string", "integer", "number")}
CONFIG_CALL = re.compile(r'\blib\.config\(\s*"([A-Za-z_]\w*)"\s*,\s*([^)\n]*)\)')
DIRECT_READ = re.compile(r'\bdata\.modelward\.config(?:\.([A-Za-z_]\w*)|\[\s*"([^"]+)"\s*\])')
#: What a YAML user writes for each JSON type, for the error message.
YAML_WORDS = {"array": "a list", "object": "a mapping", "boolean": "true or false"}

#: key -> the JSON types it may have; () means any type.
ConfigTypes = dict[str, tuple[str, ...]]


def json_type(value: Any) -> str:
    """The JSON Schema type of a YAML/JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object" if isinstance(value, Mapping) else type(value).__name__


def config_types(
    defaults: Mapping[str, Any],
    rego_sources: Iterable[str],
    declared: Mapping[str, tuple[str, ...]],
) -> ConfigTypes:
    """Every known key and its types (see the module docstring for where keys come from)."""
    types: ConfigTypes = dict(ENGINE_KEYS)
    for source in rego_sources:
        for match in DIRECT_READ.finditer(source):
            types.setdefault(match.group(1) or match.group(2), ())
        for key, fallback in CONFIG_CALL.findall(source):
            kind = _literal_type(fallback.strip())
            if kind is not None and types.get(key) == ():
                types[key] = (kind,)
            else:
                types.setdefault(key, (kind,) if kind else ())
    for key, value in defaults.items():
        kind = json_type(value)
        if kind != "null":
            types[str(key)] = (kind,)
        else:
            types.setdefault(str(key), ())
    types.update(declared)
    return {key: _widen(kinds) for key, kinds in sorted(types.items())}


def config_schema(types: ConfigTypes, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a ``--data`` / ``config.yaml`` document."""
    properties: dict[str, Any] = {}
    for key, kinds in types.items():
        prop: dict[str, Any] = {"type": [*kinds, "null"]} if kinds else {}
        if key in defaults:
            prop["default"] = defaults[key]
        properties[key] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "modelward policy configuration (data.modelward.config)",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def check_config(values: Mapping[str, Any], types: ConfigTypes, origin: str) -> None:
    """Raise ``PolicyError`` naming ``origin``, the key and the expected type for an unknown
    key or a value of the wrong type."""
    for key, value in values.items():
        if key not in types:
            raise PolicyError(f"{origin}: {_unknown(str(key), types)}")
        kinds = types[key]
        kind = json_type(value)
        if not kinds or kind == "null" or kind in kinds:
            continue
        if kind == "integer" and "number" in kinds:
            continue
        expected = " or ".join(f"{k} ({YAML_WORDS[k]})" if k in YAML_WORDS else k for k in kinds)
        raise PolicyError(
            f"{origin}: configuration key {key!r} must be {expected}, not {kind} ({value!r:.60})"
        )


def declared_types(custom: Mapping[str, Any], location: str) -> dict[str, tuple[str, ...]]:
    """``custom.config`` of a rule's METADATA: ``{key: type or [types]}``."""
    declared = custom.get("config")
    if declared is None:
        return {}
    if not isinstance(declared, Mapping):
        raise PolicyError(f"{location}: METADATA custom.config must map keys to JSON types")
    out: dict[str, tuple[str, ...]] = {}
    for key, kinds in declared.items():
        listed = tuple(kinds) if isinstance(kinds, list) else (kinds,)
        bad = [k for k in listed if k not in JSON_TYPES]
        if bad or not listed:
            raise PolicyError(
                f"{location}: METADATA custom.config.{key}: {bad or listed!r} is not one of "
                f"{', '.join(JSON_TYPES)}"
            )
        out[str(key)] = tuple(str(k) for k in listed)
    return out


def _unknown(key: str, types: ConfigTypes) -> str:
    close = difflib.get_close_matches(key, list(types), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"unknown configuration key {key!r}{hint}; no policy reads it "
        "(`modelward schema config` lists the keys and their types)"
    )


def _literal_type(text: str) -> str | None:
    """The JSON type of a Rego literal fallback (``[]``, ``{}``, ``true``, ``"x"``, ``3``)."""
    if text.startswith("["):
        return "array"
    if text.startswith("{"):
        return "object"
    if text in ("true", "false"):
        return "boolean"
    if text.startswith('"') or text.startswith("`"):
        return "string"
    if re.fullmatch(r"-?\d+", text):
        return "integer"
    if re.fullmatch(r"-?\d+\.\d*(e-?\d+)?", text):
        return "number"
    return None


def _widen(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """``integer`` also admits any ``number`` when a key is numeric (2.5 for 3)."""
    return tuple(dict.fromkeys("number" if k == "integer" else k for k in kinds))

"""A container's environment and the two expansions that read it.

Kubernetes expands ``$(VAR)`` in ``env[].value``, ``command`` and ``args`` before the process
starts; a shell then expands ``$VAR`` and ``${VAR}``. Values set through ``valueFrom`` (or that
may come from ``envFrom``) are unknown at admission: expansion keeps them as ``${VAR}`` and the
text that depends on them becomes an unresolvable reference. ``envFrom`` adds no references of
its own: its keys live in ConfigMaps and Secrets that admission does not read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from modelward.admission.errors import MalformedObject
from modelward.admission.workloads.candidate import VALUE_FROM, Candidate, Style, unknown_variables
from modelward.admission.workloads.fields import (
    MAX_TEXT,
    TEXT_LIMIT,
    LimitExceeded,
    at,
    charge,
    entries,
    mapping,
    text,
)

_K8S_VAR = re.compile(r"\$(?:(\$)|\(([^)]*)\))")
_SHELL_VAR = re.compile(r"\$(?:\{([^}:-]+)(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
# Variables that name a model on any container, and how their value reads.
GENERIC_ENV: dict[str, Style] = {
    "MODEL_ID": "id",
    "HF_MODEL_ID": "id",
    "STORAGE_URI": "uri",
    "MODELKIT_REF": "oci",
    "MODEL_PATH": "path",
}
GENERIC_REVISIONS = {"HF_MODEL_ID": "HF_MODEL_REVISION"}


@dataclass(frozen=True)
class EnvTable:
    """Literal values by name; None marks a value set at runtime (``valueFrom``)."""

    values: Mapping[str, str | None] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)
    env_from: bool = False

    def runtime(self, name: str) -> bool:
        """Whether ``name`` may be set, to a value admission cannot see."""
        if name in self.values:
            return self.values[name] is None
        return self.env_from

    def with_values(self, extra: Mapping[str, str | None], origin: str) -> EnvTable:
        """This table with ``extra`` set (shell assignments), found at ``origin``."""
        charge(len(self.values) + len(extra), origin)
        origins = {**self.origins, **dict.fromkeys(extra, origin)}
        return EnvTable({**self.values, **extra}, origins, self.env_from)


def read_env(container: Mapping[str, object], path: str) -> EnvTable:
    """The container's ``env`` in order, each value expanded as Kubernetes does."""
    env_from = bool(entries(container.get("envFrom"), at(path, "envFrom")))
    values: dict[str, str | None] = {}
    origins: dict[str, str] = {}
    table = EnvTable(values, origins, env_from)  # filled in order: a value sees those before it
    for index, item in enumerate(entries(container.get("env"), at(path, "env"))):
        item_path = at(at(path, "env"), index)
        entry = mapping(item, item_path)
        name = text(entry.get("name"), at(item_path, "name"))
        if not name:
            raise MalformedObject(at(item_path, "name"), "an env entry needs a name")
        if entry.get("valueFrom") is not None:
            mapping(entry["valueFrom"], at(item_path, "valueFrom"))
            values[name], origins[name] = None, at(item_path, "valueFrom")
        else:
            value_path = at(item_path, "value")
            raw = text(entry.get("value"), value_path) or ""
            values[name], origins[name] = expand_k8s(raw, table, value_path), value_path
    return table


def expand_k8s(raw: str, table: EnvTable, path: str) -> str:
    """Kubernetes ``$(VAR)`` expansion; unknown values stay as ``${VAR}`` placeholders."""
    if "$" not in raw:
        return raw
    out: list[str] = []
    size, last = 0, 0
    for match in _K8S_VAR.finditer(raw):
        name = match.group(2)
        piece = "$" if match.group(1) else _k8s_value(name, table)
        out += [raw[last : match.start()], piece]
        size += match.start() - last + len(piece)
        last = match.end()
        if size > MAX_TEXT:
            raise LimitExceeded(path, f"expands beyond {TEXT_LIMIT}")
    out.append(raw[last:])
    result = "".join(out)
    charge(len(result), path)
    return result


def _k8s_value(name: str, table: EnvTable) -> str:
    value = table.values.get(name)
    if value is not None:
        return value
    return "${" + name + "}" if table.runtime(name) else f"$({name})"


def expand_vars(raw: str, table: EnvTable) -> tuple[str, list[str]]:
    """Shell-style ``$VAR``, ``${VAR}``, ``${VAR:-default}``; returns the unknown names."""
    unknown: list[str] = []

    def value(match: re.Match[str]) -> str:
        name, op, default = match.group(1) or match.group(4), match.group(2), match.group(3)
        known = table.values.get(name)
        if known is not None and not (op == ":-" and known == ""):
            return known
        if op and not table.runtime(name):
            return default or ""
        unknown.append(name)
        return match.group(0)

    return (_SHELL_VAR.sub(value, raw) if "$" in raw else raw), unknown


def env_text(table: EnvTable, name: str) -> tuple[str | None, str | None]:
    """The value of ``name`` and, when it cannot be known, why (both None when unset)."""
    if name not in table.values:
        return None, (unknown_variables([name]) if table.env_from else None)
    value = table.values[name]
    if value is None:
        return None, VALUE_FROM
    expanded, unknown = expand_vars(value, table)
    return expanded, (unknown_variables(unknown) if unknown else None)


def env_candidate(
    table: EnvTable, name: str, style: Style, source: str, revision_name: str | None = None
) -> Candidate | None:
    """A candidate for variable ``name`` set in the container's own ``env`` (None if unset)."""
    if name not in table.values:
        return None
    value, why = env_text(table, name)
    revision, revision_why = env_text(table, revision_name) if revision_name else (None, None)
    if why is None and not (value or "").strip():
        return None
    return Candidate(
        raw=value if value is not None else f"${name}",
        style=style,
        origin=table.origins[name],
        source=source,
        revision=revision or None,
        unresolvable=why or revision_why,
    )


def generic_env(table: EnvTable, sources: Mapping[str, str], skip: set[str]) -> list[Candidate]:
    """Candidates of ``GENERIC_ENV`` variables; ``sources`` overrides the source ``env``."""
    found = []
    for name, style in GENERIC_ENV.items():
        if name in skip:
            continue
        source = sources.get(name, "env")
        candidate = env_candidate(table, name, style, source, GENERIC_REVISIONS.get(name))
        if candidate is not None:
            found.append(candidate)
    return found

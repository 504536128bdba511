"""The approval scope a verdict is signed with: where, and for what, a model may be used.

``vet --scope namespace=team-a --scope namespace-selector='team=a' --scope env=prod
--scope use=chat-support``. Namespaces and namespace selectors are alternatives (a namespace in
either is in scope); environments must also match when given; use cases are recorded for
policies and people, and never decide by themselves. An empty scope (or none) is unrestricted.

Selectors use the Kubernetes label selector syntax: ``key=value``, ``key==value``,
``key!=value``, ``key``, ``!key``, ``key in (a,b)``, ``key notin (a,b)``, comma separated (all
must hold).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from modelward.engine.errors import Error

__all__ = ["Scope", "ScopeError", "parse_scope", "parse_selector", "selector_matches"]

KEYS = {
    "namespace": "namespaces",
    "namespace-selector": "namespace_selectors",
    "env": "environments",
    "environment": "environments",
    "use": "use_cases",
    "use-case": "use_cases",
}
_KEY = r"(?:[a-z0-9A-Z.\-]+/)?[A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,61}[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,61}[A-Za-z0-9])?)?"
_EQUALITY = re.compile(rf"\s*(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{_VALUE})\s*")
_SET = re.compile(rf"\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s+\((?P<values>[^()]*)\)\s*")
_EXISTS = re.compile(rf"\s*(?P<not>!?)\s*(?P<key>{_KEY})\s*")
_REQUIREMENT = re.compile(r"[^,(]+(?:\([^)]*\))?")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
Requirement = tuple[str, str, frozenset[str]]  # (key, operator, values)


class ScopeError(Error):
    """A ``--scope`` item or a label selector that cannot be read."""


class Scope(BaseModel):
    """The signed scope; every list empty means "anywhere"."""

    model_config = ConfigDict(frozen=True)

    namespaces: list[str] = []
    namespace_selectors: list[str] = []
    environments: list[str] = []
    use_cases: list[str] = []

    @property
    def empty(self) -> bool:
        return not (self.namespaces or self.namespace_selectors or self.environments)

    def judge(
        self, namespace: str | None, labels: Mapping[str, str] | None, environment: str | None
    ) -> str:
        """Why a workload in ``namespace`` is outside the scope; "" when it is inside.

        Unknown namespace labels fail closed for selectors and environments.
        """
        places = self.namespaces or self.namespace_selectors
        if places and not self._place_matches(namespace, labels):
            return f"namespace {namespace!r} is not in the approved scope ({self.describe()})"
        if self.environments and environment not in self.environments:
            known = "not known" if environment is None else repr(environment)
            wanted = ", ".join(self.environments)
            return f"the namespace's environment is {known}, approved only for: {wanted}"
        return ""

    def describe(self) -> str:
        parts = [f"namespace={n}" for n in self.namespaces]
        parts += [f"namespace-selector={s}" for s in self.namespace_selectors]
        parts += [f"env={e}" for e in self.environments]
        parts += [f"use={u}" for u in self.use_cases]
        return ", ".join(parts) or "unrestricted"

    def _place_matches(self, namespace: str | None, labels: Mapping[str, str] | None) -> bool:
        if namespace is not None and namespace in self.namespaces:
            return True
        if labels is None:
            return False
        return any(selector_matches(s, labels) for s in self.namespace_selectors)


def parse_scope(items: Sequence[str]) -> Scope | None:
    """``--scope`` items (``KEY=VALUE``) as a Scope; None when there are none."""
    if not items:
        return None
    found: dict[str, list[str]] = {field: [] for field in set(KEYS.values())}
    for item in items:
        key, sep, value = item.partition("=")
        field = KEYS.get(key.strip().lower())
        value = value.strip()
        if not sep or field is None or not value:
            raise ScopeError(
                f"--scope {item!r}: use namespace=NAME, namespace-selector=SELECTOR, env=NAME "
                "or use=TEXT"
            )
        _check(field, value, item)
        if value not in found[field]:
            found[field].append(value)
    return Scope.model_validate(found)


def _check(field: str, value: str, item: str) -> None:
    if field == "namespaces" and not _NAMESPACE.fullmatch(value):
        raise ScopeError(f"--scope {item!r}: {value!r} is not a namespace name")
    if field == "namespace_selectors":
        parse_selector(value)
    if len(value) > 256:
        raise ScopeError(f"--scope {item!r}: longer than 256 characters")


def parse_selector(selector: str) -> list[Requirement]:
    """A label selector as requirements; ``ScopeError`` when it is not one."""
    requirements: list[Requirement] = []
    text = selector.strip()
    if not text:
        raise ScopeError("an empty label selector")
    for part in _split(text, selector):
        requirements.append(_requirement(part, selector))
    return requirements


def _split(text: str, selector: str) -> list[str]:
    parts = [m.group(0) for m in _REQUIREMENT.finditer(text)]
    if ",".join(parts) != text:
        raise ScopeError(f"{selector!r} is not a label selector")
    return parts


def _requirement(part: str, selector: str) -> Requirement:
    if match := _SET.fullmatch(part):
        values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
        return match["key"], match["op"], values
    if match := _EQUALITY.fullmatch(part):
        operator = "!=" if match["op"] == "!=" else "="
        return match["key"], operator, frozenset({match["value"]})
    if match := _EXISTS.fullmatch(part):
        return match["key"], "!" if match["not"] else "exists", frozenset()
    raise ScopeError(f"{selector!r}: {part.strip()!r} is not a label requirement")


def selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every requirement of ``selector`` (False when unreadable)."""
    try:
        requirements = parse_selector(selector)
    except ScopeError:
        return False
    return all(_holds(req, labels) for req in requirements)


def _holds(requirement: Requirement, labels: Mapping[str, str]) -> bool:
    key, operator, values = requirement
    value = labels.get(key)
    if operator == "exists":
        return value is not None
    if operator == "!":
        return value is None
    if operator in ("=", "in"):
        return value is not None and value in values
    return value is None or value not in values  # != and notin


def scope_input(
    scope: Scope | None,
    namespace: str | None,
    labels: Mapping[str, str] | None,
    environment: str | None,
) -> dict[str, Any]:
    """The policy-visible scope facts of one verdict for one request."""
    if scope is None:
        return {"scope": None, "in_scope": True, "scope_reason": ""}
    reason = scope.judge(namespace, labels, environment)
    return {"scope": scope.model_dump(), "in_scope": not reason, "scope_reason": reason}

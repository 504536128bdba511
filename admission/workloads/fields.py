"""Typed, bounded reads of workload fields.

The API server validates real objects, so a field of the wrong type, a list of more than
``MAX_ENTRIES`` entries or a string longer than ``MAX_TEXT`` marks a hostile object: every read
here raises ``MalformedObject`` for it (``LimitExceeded``, naming the limit, for the sizes), and
the caller denies. Every read, expansion and tokenising step is charged against ``MAX_WORK`` per
object and at most ``MAX_CONTAINERS`` containers are scanned, which bounds the time one object
can take (YAML aliases can make a small file a huge object); with a ``max_references``, reading
stops as soon as more containers name a model (``TooManyReferences``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from modelward.admission.errors import MalformedObject

KIB, MIB = 1024, 1024 * 1024
MAX_ENTRIES = 10_000
MAX_TEXT = 64 * KIB
MAX_WORK = 2 * MIB  # characters read, expanded or tokenised per object
FIELD_COST = 16  # charged per object or array read, so many tiny fields count too
MAX_CONTAINERS = 128  # containers scanned per object, all pod specs and lists together
TEXT_LIMIT = f"the {MAX_TEXT // KIB} KiB limit on one text field"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BUDGET: ContextVar[_Budget | None] = ContextVar("modelward_extract_budget", default=None)


class LimitExceeded(MalformedObject):
    """A field, or the object as a whole, over one of the size limits; the reason names it."""


class TooManyReferences(MalformedObject):
    """More model references than one object may carry; found before the object was read."""

    def __init__(self, path: str, limit: int) -> None:
        super().__init__(path, f"at least {limit + 1} model references")
        self.limit = limit


@functools.lru_cache(maxsize=1024)
def _plain(key: str) -> bool:
    return _PLAIN_KEY.match(key) is not None


def at(path: str, key: str | int) -> str:
    """The field path of ``key`` below ``path``: ``a.b``, ``a[0]`` or ``a["x.y/z"]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _plain(key):
        return f"{path}.{key}" if path else key
    return f'{path}["{key}"]'


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def mapping(value: Any, path: str) -> Mapping[str, Any]:
    """``value`` as an object; an absent (null) field is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedObject(path, f"expected an object, got {_type_name(value)}")
    if len(value) > MAX_ENTRIES:
        raise LimitExceeded(path, f"more than {MAX_ENTRIES} keys, the limit on one object")
    charge(FIELD_COST, path)
    return value


def entries(value: Any, path: str) -> Sequence[Any]:
    """``value`` as an array; an absent (null) field is an empty one."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise MalformedObject(path, f"expected an array, got {_type_name(value)}")
    if len(value) > MAX_ENTRIES:
        raise LimitExceeded(path, f"more than {MAX_ENTRIES} entries, the limit on one list")
    charge(FIELD_COST + len(value), path)
    return value


def text(value: Any, path: str) -> str | None:
    """``value`` as a string, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedObject(path, f"expected a string, got {_type_name(value)}")
    if len(value) > MAX_TEXT:
        raise LimitExceeded(path, f"{len(value)} characters, over {TEXT_LIMIT}")
    charge(len(value), path)
    return value


def texts(value: Any, path: str) -> list[str]:
    """``value`` as an array of strings (``command``, ``args``)."""
    items = entries(value, path)
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise MalformedObject(at(path, index), f"expected a string, got {_type_name(item)}")
        out.append(item)
    size = sum(len(item) for item in out)
    if size > MAX_TEXT:
        limit = f"the {MAX_TEXT // KIB} KiB limit on one command or argument list"
        raise LimitExceeded(path, f"{size} characters in total, over {limit}")
    charge(size + FIELD_COST * len(out), path)
    return out


@dataclass
class _Budget:
    """The work of one object's extraction so far."""

    max_references: int | None
    spent: int = 0
    containers: int = 0
    holders: set[str | None] = field(default_factory=set)  # containers that name a model


@contextmanager
def work_budget(max_references: int | None = None) -> Iterator[None]:
    """Scope one object's extraction: ``charge`` and ``count_container`` count against a fresh
    budget inside it; ``max_references`` ends it early (``TooManyReferences``)."""
    token = _BUDGET.set(_Budget(max_references))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def charge(amount: int, path: str) -> None:
    """Count ``amount`` characters of work; past ``MAX_WORK`` the object is malformed."""
    budget = _BUDGET.get()
    if budget is None:
        return
    budget.spent += amount
    if budget.spent > MAX_WORK:
        limit = f"more than {MAX_WORK // MIB} MiB of text to read or expand"
        raise LimitExceeded(path, f"{limit}, the limit on one object")


def count_container(name: str | None, names_a_model: bool, path: str) -> None:
    """Count one scanned container; stop at ``MAX_CONTAINERS``, or as soon as more containers
    name a model than ``max_references`` (each is at least one distinct reference)."""
    budget = _BUDGET.get()
    if budget is None:
        return
    if names_a_model:
        budget.holders.add(name)
        limit = budget.max_references
        if limit is not None and len(budget.holders) > limit:
            raise TooManyReferences(path, limit)
    budget.containers += 1
    if budget.containers > MAX_CONTAINERS:
        raise LimitExceeded(path, f"more than {MAX_CONTAINERS} containers, the limit on one object")

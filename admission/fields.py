"""Typed, bounded reads of workload fields.

The API server validates real objects, so a field of the wrong type, a list of more than
``MAX_ENTRIES`` entries or a string longer than ``MAX_TEXT`` marks a hostile object: every read
here raises ``MalformedObject`` for it, and the caller denies. Every read, expansion and
tokenising step is charged against ``MAX_WORK`` per object, which bounds the time one object
can take (YAML aliases can make a small file a huge object).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from modelward.admission.errors import MalformedObject

MAX_ENTRIES = 10_000
MAX_TEXT = 64 * 1024
MAX_WORK = 2 * 1024 * 1024  # characters read, expanded or tokenised per object
FIELD_COST = 16  # charged per object or array read, so many tiny fields count too

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SPENT: ContextVar[list[int] | None] = ContextVar("modelward_extract_spent", default=None)


def at(path: str, key: str | int) -> str:
    """The field path of ``key`` below ``path``: ``a.b``, ``a[0]`` or ``a["x.y/z"]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.match(key):
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
        raise MalformedObject(path, f"more than {MAX_ENTRIES} keys")
    charge(FIELD_COST, path)
    return value


def entries(value: Any, path: str) -> Sequence[Any]:
    """``value`` as an array; an absent (null) field is an empty one."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise MalformedObject(path, f"expected an array, got {_type_name(value)}")
    if len(value) > MAX_ENTRIES:
        raise MalformedObject(path, f"more than {MAX_ENTRIES} entries")
    charge(FIELD_COST + len(value), path)
    return value


def text(value: Any, path: str) -> str | None:
    """``value`` as a string, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedObject(path, f"expected a string, got {_type_name(value)}")
    if len(value) > MAX_TEXT:
        raise MalformedObject(path, f"longer than {MAX_TEXT // 1024} KiB")
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
        raise MalformedObject(path, f"longer than {MAX_TEXT // 1024} KiB in total")
    charge(size + FIELD_COST * len(out), path)
    return out


@contextmanager
def work_budget() -> Iterator[None]:
    """Scope one object's extraction: ``charge`` counts against a fresh budget inside it."""
    token = _SPENT.set([0])
    try:
        yield
    finally:
        _SPENT.reset(token)


def charge(amount: int, path: str) -> None:
    """Count ``amount`` characters of work; past ``MAX_WORK`` the object is malformed."""
    spent = _SPENT.get()
    if spent is None:
        return
    spent[0] += amount
    if spent[0] > MAX_WORK:
        raise MalformedObject(path, f"more than {MAX_WORK // 2**20} MiB of text to read or expand")

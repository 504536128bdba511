"""Symbolic values on the pickle VM's stack and memo.

Constants stay plain Python values (``str``, ``int``, ``float``, ``bool``, ``None``, ``tuple``,
``list``); byte strings are ``memoryview`` slices of the input or ``bytes`` a decoder produced.
Everything a real loader would compute is represented, never computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from modelward.engine.scan.pickles.rules import Verdict

_DESCRIBE_LIMIT: Final = 60


class Global:
    """An object a loader imports with ``find_class``: ``module``/``name`` and its verdict."""

    __slots__ = ("finding", "module", "name", "offset", "path", "verdict")

    def __init__(
        self,
        module: str,
        name: str,
        path: str,
        verdict: Verdict,
        offset: int,
        finding: str | None = None,
    ) -> None:
        self.module = module
        self.name = name
        self.path = path
        self.verdict = verdict
        self.offset = offset
        self.finding = finding


class Call:
    """The result of calling ``func`` with ``args`` (REDUCE, NEWOBJ, INST, OBJ); ``state`` is
    what a later BUILD gave it."""

    __slots__ = ("args", "func", "offset", "state")

    def __init__(self, func: object, args: object, offset: int) -> None:
        self.func = func
        self.args = args
        self.offset = offset
        self.state: object = None


class Opaque:
    """A value whose content cannot be known: persistent ids, buffers, extensions, lost memo."""

    __slots__ = ("offset", "what")

    def __init__(self, what: str, offset: int) -> None:
        self.what = what
        self.offset = offset


class SymDict:
    """A dict built by the pickle; keys may be symbolic, so it keeps key/value pairs."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[object, object]] | None = None) -> None:
        self.pairs = pairs if pairs is not None else []


class SymSet:
    """A set or frozenset built by the pickle."""

    __slots__ = ("items",)

    def __init__(self, items: list[object] | None = None) -> None:
        self.items = items if items is not None else []


class BigText:
    """A text constant too large to decode eagerly; ``raw`` is its UTF-8 bytes."""

    __slots__ = ("raw",)

    def __init__(self, raw: memoryview) -> None:
        self.raw = raw


class AttrGetter:
    """``operator.attrgetter(names)``: calling it with an object reads those attributes."""

    __slots__ = ("names",)

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names


PERSISTENT: Final = Opaque("persistent id", -1)
BUFFER: Final = Opaque("out-of-band buffer", -1)


def as_bytes(value: object) -> bytes | None:
    """The bytes of a byte-string or text constant (text as Latin-1), else ``None``."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, str):
        return value.encode("latin-1", "replace")
    if isinstance(value, BigText):
        return value.raw.tobytes()
    return None


def as_text(value: object) -> str | None:
    """The text of a string constant or an ASCII byte string, else ``None``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | memoryview):
        try:
            return bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return None
    return None


def constants(value: object, depth: int = 3, budget: int = 64) -> list[object]:
    """String and byte constants inside ``value`` (tuples, lists, dicts); at most ``budget``."""
    found: list[object] = []
    todo: list[tuple[object, int]] = [(value, depth)]
    visits = 0
    while todo and visits < budget * 4 and len(found) < budget:
        item, level = todo.pop()
        visits += 1
        if isinstance(item, str | bytes | memoryview | BigText):
            found.append(item)
        elif level > 0 and isinstance(item, tuple | list):
            todo.extend((child, level - 1) for child in item[:budget])
        elif level > 0 and isinstance(item, SymDict):
            todo.extend((child, level - 1) for pair in item.pairs[:budget] for child in pair)
    return found


def describe(value: object, depth: int = 3) -> str:
    """A short human description of a symbolic value, for messages."""
    if isinstance(value, Global):
        return value.path
    if isinstance(value, Call):
        inner = describe(value.func, depth - 1) if depth > 0 else "a computed callable"
        return f"the result of calling {inner}"
    if isinstance(value, Opaque):
        return f"an unknown value ({value.what})"
    if isinstance(value, AttrGetter):
        return f"operator.attrgetter({', '.join(value.names)})"
    if isinstance(value, str):
        text = value if len(value) <= _DESCRIBE_LIMIT else value[:_DESCRIBE_LIMIT] + "..."
        return repr(text)
    if isinstance(value, bytes | memoryview):
        return f"{len(value)} bytes"
    return type(value).__name__

"""Abstract values of Jinja expressions: which strings a key may hold when the template renders.

A ``Val`` lists the concrete values an expression may have (folded from literals, ``~``, ``+``,
``join``, ``format``, ...) and flags for what it may also be: any string, a number-like scalar, or
any other object. Folding is bounded (how many values, how long a string); past a bound a value
widens to "any string", so folding can only sharpen a verdict, never make an unknown key safe.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from jinja2 import sandbox

MAX_CONSTS: Final = 32
MAX_STR: Final = 512
MAX_COMBOS: Final = 64
CACHE: Final = 4096  # memoised operations on values (values are immutable)

#: Attributes the sandbox refuses besides underscore names, and those of frames, code objects
#: and tracebacks (the sandbox refuses every attribute of those objects).
REFUSED: Final = frozenset({
    "mro", *sandbox.UNSAFE_FUNCTION_ATTRIBUTES, *sandbox.UNSAFE_METHOD_ATTRIBUTES,
    *sandbox.UNSAFE_GENERATOR_ATTRIBUTES, *sandbox.UNSAFE_COROUTINE_ATTRIBUTES,
    *sandbox.UNSAFE_ASYNC_GENERATOR_ATTRIBUTES, "gi_yieldfrom", "cr_await", "ag_await",
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next", "co_code",
    "co_consts", "co_names", "func_globals", "func_code", "func_closure", "im_func", "im_self",
    "im_class",
})  # fmt: skip
#: Methods that change a list, dict or set in place (the immutable sandbox refuses them).
MUTATING: Final = frozenset({
    "append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault",
    "sort", "reverse", "add", "discard", "difference_update", "intersection_update",
    "symmetric_difference_update", "appendleft", "extendleft", "popleft", "rotate",
})  # fmt: skip
#: ``str`` methods that read attributes of their arguments through format fields.
FORMATTERS: Final = frozenset({"format", "format_map"})


def unsafe_name(name: str) -> bool:
    """Whether a sandbox refuses this attribute name (Jinja refuses every ``_`` name)."""
    return name.startswith("_") or name in REFUSED


class Pairs(tuple[tuple[object, object], ...]):
    """A dict literal, as hashable (key, value) pairs."""

    def get(self, key: object, default: object = None) -> object:
        return next((v for k, v in self if k == key), default)


@dataclass(frozen=True)
class Val:
    consts: frozenset[object] = frozenset()
    anystr: bool = False  # may be a string not in ``consts``
    scalar: bool = False  # may be a number, boolean, none or range not in ``consts``
    obj: bool = False  # may be any other object: data, a container, a callable

    def __or__(self, other: Val) -> Val:
        return _capped(
            self.consts | other.consts,
            self.anystr or other.anystr,
            self.scalar or other.scalar,
            self.obj or other.obj,
        )

    @property
    def exact(self) -> bool:
        return not (self.anystr or self.scalar or self.obj)

    @property
    def open_string(self) -> bool:
        """May hold a string nobody can name in advance."""
        return self.anystr or self.obj

    def strings(self) -> list[str]:
        return sorted(c for c in self.consts if isinstance(c, str))


#: A folded result that is some Python object nobody can name (an attribute, a bound method).
OPAQUE: Final = object()
TOP: Final = Val(anystr=True, scalar=True, obj=True)
NUM: Final = Val(scalar=True)
STR: Final = Val(anystr=True)
BOTTOM: Final = Val()


def const(value: object) -> Val:
    try:
        return Val(frozenset({value}))
    except TypeError:
        return TOP


def _capped(consts: frozenset[object], anystr: bool, scalar: bool, obj: bool) -> Val:
    if len(consts) <= MAX_CONSTS:
        return Val(consts, anystr, scalar, obj)
    keep = frozenset(itertools.islice((c for c in consts if _unsafe(c)), MAX_CONSTS))
    return Val(keep, True, True, obj or any(isinstance(c, tuple) for c in consts))


def _unsafe(value: object) -> bool:
    return isinstance(value, str) and unsafe_name(value)


def union(vals: Iterable[Val]) -> Val:
    consts: set[object] = set()
    anystr = scalar = obj = False
    for val in vals:
        consts |= val.consts
        anystr, scalar, obj = anystr or val.anystr, scalar or val.scalar, obj or val.obj
    return _capped(frozenset(consts), anystr, scalar, obj)


def _result(value: object) -> Val:
    if isinstance(value, str) and len(value) > MAX_STR:
        return STR
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, int | float | bool | str | tuple | Pairs) or value is None:
        return const(value)
    return TOP


def fold(
    fn: Callable[..., object], vals: Sequence[Val], fallback: Val, *, kwargs: dict[str, Val]
) -> Val:
    """``fn`` over every combination of the exact inputs; ``fallback`` for whatever is unknown."""
    if not all(v.exact for v in (*vals, *kwargs.values())):
        return fallback
    names = list(kwargs)
    pools = [list(v.consts) for v in (*vals, *kwargs.values())]
    size = 1
    for pool in pools:
        size *= len(pool)
    if size > MAX_COMBOS:
        return fallback
    results: list[Val] = []
    for combo in itertools.product(*pools):
        args, kws = combo[: len(vals)], dict(zip(names, combo[len(vals) :], strict=True))
        try:
            results.append(_result(fn(*args, **kws)))
        except Exception:  # not folded here (or a render error): the result stays open
            results.append(fallback)
    return union(results)


def may_be_str(val: Val) -> bool:
    return val.open_string or any(isinstance(c, str) for c in val.consts)


@lru_cache(maxsize=CACHE)
def to_text(val: Val) -> Val:
    """``str()`` of a value, as ``~`` and ``|string`` do."""
    return fold(_text, [val], STR, kwargs={})


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Pairs):
        return str(dict(value))
    return str(list(value)) if isinstance(value, tuple) else str(value)


@lru_cache(maxsize=CACHE)
def concat(vals: tuple[Val, ...]) -> Val:
    """``a ~ b ~ ...``."""
    return fold(_joined, [to_text(v) for v in vals], STR, kwargs={})


def _joined(*parts: object) -> str:
    return "".join(map(_text, parts))


@lru_cache(maxsize=CACHE)
def arithmetic(op: str, left: Val, right: Val) -> Val:
    """``+ - * / // % **`` of two values."""
    fn = _OPS.get(op)
    if op not in ("add", "mul", "mod"):  # never a string (nor a container of strings)
        fallback = NUM
    else:
        objects = any(v.obj or any(isinstance(c, tuple) for c in v.consts) for v in (left, right))
        strings = may_be_str(left) or may_be_str(right)
        fallback = Val(anystr=strings, scalar=True, obj=objects)
    if fn is None:
        return fallback
    return fold(fn, [left, right], fallback, kwargs={})


def percent_safe(fmt: str) -> bool:
    """Whether ``fmt % args`` has only plain conversions (no widths that could blow up)."""
    return re.search(r"%[^sdirf%]", fmt) is None


def _percent(fmt: object, args: object) -> object:
    if isinstance(fmt, str) and not percent_safe(fmt):
        raise ValueError("formatting with widths is not folded")
    return fmt % args  # type: ignore[operator]


def _times(left: object, right: object) -> object:
    count = right if isinstance(right, int) else left
    if isinstance(count, int) and count > MAX_STR:
        raise ValueError("too long to fold")
    return left * right  # type: ignore[operator]


_OPS: Final[dict[str, Callable[[object, object], object]]] = {
    "add": lambda a, b: a + b,  # type: ignore[operator]
    "sub": lambda a, b: a - b,  # type: ignore[operator]
    "mul": _times,
    "mod": _percent,
    "div": lambda a, b: a / b,  # type: ignore[operator]
    "floordiv": lambda a, b: a // b,  # type: ignore[operator]
}


def format_fields_safe(text: str) -> bool:
    """Whether ``text.format(...)`` only substitutes arguments (no ``.attr``/``[key]`` fields)."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return False
    return all(
        field is None or (re.fullmatch(r"\w*", field) is not None and "{" not in (spec or ""))
        for _, field, spec, _ in fields
    )


@lru_cache(maxsize=CACHE)
def elements(val: Val) -> Val:
    """What iterating a value yields."""
    out = Val(anystr=val.anystr, scalar=val.scalar) | (TOP if val.obj else BOTTOM)
    for item in val.consts:
        if isinstance(item, Pairs):
            out = out | union(const(k) for k, _ in item)
        elif isinstance(item, tuple):
            out = out | union(const(v) for v in item)
        elif isinstance(item, str):
            out = out | (STR if len(item) > MAX_CONSTS else union(const(c) for c in item))
    return out


@lru_cache(maxsize=CACHE)
def component(val: Val, index: int) -> Val:
    """Item ``index`` of each value (unpacking in ``for a, b in ...`` or ``set a, b = ...``)."""
    out = TOP if val.obj or val.anystr or val.scalar else BOTTOM
    for item in val.consts:
        seq = tuple(k for k, _ in item) if isinstance(item, Pairs) else item  # a dict: its keys
        if isinstance(seq, tuple | str) and index < len(seq):
            out = out | const(seq[index])
    return out


@lru_cache(maxsize=CACHE)
def subscript(val: Val, key: Val) -> Val:
    """``val[key]`` of literal containers; anything else is unknown."""
    if not val.exact:
        return TOP
    exact = fold(_getitem, [val, key], TOP, kwargs={})
    return exact if key.exact else elements(_values(val)) | Val(anystr=True, obj=True)


def _getitem(container: object, key: object) -> object:
    """Jinja's ``getitem``: the item, else (for a string key) an attribute: an unknown object."""
    if isinstance(container, Pairs) and any(k == key for k, _ in container):
        return container.get(key)
    if isinstance(container, tuple | str) and isinstance(key, int) and not isinstance(key, bool):
        return container[key]
    if isinstance(key, str):
        return OPAQUE
    raise TypeError("not a literal lookup")


def _values(val: Val) -> Val:
    return union(
        Val(frozenset({tuple(v for _, v in c)})) if isinstance(c, Pairs) else Val(frozenset({c}))
        for c in val.consts
    )

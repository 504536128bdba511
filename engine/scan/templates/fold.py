"""Folding of Jinja filters and of ``str``/``dict``/``list`` methods over abstract values.

Exact inputs are turned back into the Python values the renderer would hold (lists, dicts) and
passed to Jinja's own filter functions or the builtin methods, so a folded name is the name the
renderer would build. Only operations whose work is bounded by their inputs are folded; anything
else gives a value that may be any string (or anything at all), never a narrower one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, MappingView
from functools import cache
from typing import Any, Final

from jinja2 import filters
from jinja2.nodes import EvalContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from modelward.engine.scan.templates.values import (
    MAX_STR,
    NUM,
    STR,
    TOP,
    Pairs,
    Val,
    fold,
    format_fields_safe,
    may_be_str,
    percent_safe,
    to_text,
    union,
)

Fn = Callable[..., object]


@cache
def _env() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment()


def runtime(value: object) -> Any:
    """The Python value the renderer holds for a folded constant."""
    if isinstance(value, Pairs):
        return {k: runtime(v) for k, v in value}
    if isinstance(value, tuple):
        return [runtime(v) for v in value]
    return value


def folded(value: object) -> object:
    """A renderer value back as a constant (lists as tuples, dicts as ``Pairs``)."""
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, str | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return Pairs((folded(k), folded(v)) for k, v in value.items())
    if isinstance(value, list | tuple | Iterator | MappingView):
        items: Iterable[object] = value  # type: ignore[assignment]
        return tuple(folded(v) for v in items)
    raise TypeError(f"{type(value).__name__} is not folded")


def _on_runtime(fn: Fn) -> Fn:
    return lambda *args, **kwargs: folded(
        fn(*map(runtime, args), **{k: runtime(v) for k, v in kwargs.items()})
    )


def _bounded_replace(text: object, old: object, new: object, *count: object) -> tuple[object, ...]:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        raise TypeError("not folded")
    if len(text) + (text.count(old) + 1) * len(new) > MAX_STR:
        raise ValueError("too long to fold")
    return text, old, new, *count


def _replace(*args: object) -> object:
    checked: tuple[Any, ...] = _bounded_replace(*args)
    return filters.do_replace(EvalContext(_env()), *checked)


def _format(value: object, *args: object, **kwargs: object) -> object:
    if not isinstance(value, str) or not percent_safe(value):
        raise ValueError("not folded")
    return filters.do_format(value, *args, **kwargs)


#: Filters folded on exact inputs, as functions of (value, *args) on renderer values.
FILTERS: Final[dict[str, Fn]] = {
    "lower": filters.do_lower,
    "upper": filters.do_upper,
    "title": filters.do_title,
    "capitalize": filters.do_capitalize,
    "trim": filters.do_trim,
    "replace": _replace,
    "join": lambda value, d="": filters.sync_do_join(EvalContext(_env()), value, d),
    "format": _format,
    "reverse": filters.do_reverse,
    "first": lambda value: filters.sync_do_first(_env(), value),
    "last": lambda value: filters.do_last(_env(), value),
    "list": filters.sync_do_list,
    "unique": lambda value: filters.sync_do_unique(_env(), value),
    "sort": lambda value, reverse=False: filters.do_sort(_env(), value, reverse),
    "min": lambda value: filters.do_min(_env(), value),
    "max": lambda value: filters.do_max(_env(), value),
    "items": filters.do_items,
    "dictsort": filters.do_dictsort,
    "e": escape,
    "escape": escape,
    "forceescape": filters.do_forceescape,
    "safe": filters.do_mark_safe,
}
#: Filters whose result is a number or a boolean whatever their input.
NUMERIC: Final = frozenset({"int", "float", "length", "count", "abs", "round", "wordcount"})
#: Filters whose result is a string (folded or not).
TEXTUAL: Final = frozenset({
    "string", "lower", "upper", "title", "capitalize", "trim", "replace", "join", "format",
    "tojson", "e", "escape", "forceescape", "safe", "center", "indent", "truncate", "striptags",
    "urlencode", "urlize", "wordwrap", "pprint", "filesizeformat", "xmlattr",
})  # fmt: skip


def apply_filter(name: str, value: Val, args: list[Val], kwargs: dict[str, Val]) -> Val:
    """The value of ``value|name(*args, **kwargs)``."""
    if name in ("default", "d"):
        return union([value, *args[:1]])
    if name in ("int", "float"):  # the number, or the default when the input is not one
        return union([NUM, *args[:1], kwargs.get("default", NUM)])
    if name in NUMERIC:
        return NUM
    if name == "string":
        return to_text(value)
    if name in ("select", "reject", "selectattr", "rejectattr"):
        return value  # a subset of the items: the same possible items
    fallback = STR if name in TEXTUAL else TOP
    if name == "map":
        return _map(value, args) if not kwargs else TOP
    fn = FILTERS.get(name)
    if fn is None or kwargs:
        return fallback
    return fold(_on_runtime(fn), [value, *args], fallback, kwargs={})


def _map(value: Val, args: list[Val]) -> Val:
    """``map('filter', *args)`` item by item over literal sequences."""
    if not args or not args[0].exact or len(args[0].consts) != 1:
        return TOP
    name = next(iter(args[0].consts))
    fn = FILTERS.get(name) if isinstance(name, str) else None
    if fn is None:
        return TOP
    each = _on_runtime(fn)
    return fold(
        lambda seq, *extra: tuple(each(item, *extra) for item in _items(seq)),
        [value, *args[1:]],
        TOP,
        kwargs={},
    )


def _items(seq: object) -> tuple[object, ...]:
    if isinstance(seq, Pairs):
        return tuple(k for k, _ in seq)
    if isinstance(seq, tuple | str):
        return tuple(seq)
    raise TypeError("not iterable")


_METHODS: Final = frozenset({
    "upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase", "casefold",
    "split", "rsplit", "removeprefix", "removesuffix", "join", "items", "keys", "values", "get",
    "index", "count",
})  # fmt: skip
#: Methods of ``str`` that return a string (when not folded).
STR_RESULTS: Final = frozenset({
    "upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase", "casefold",
    "removeprefix", "removesuffix", "replace", "join", "format", "center", "ljust", "rjust",
    "zfill", "expandtabs",
})  # fmt: skip


def _method(name: str) -> Fn:
    def run(receiver: object, *args: object, **kwargs: object) -> object:
        if name == "replace":
            _bounded_replace(receiver, *args)
        elif name == "format" and not (
            isinstance(receiver, str)
            and format_fields_safe(receiver)
            and re.search(r"[:!]", receiver) is None  # no conversions or widths
        ):
            raise ValueError("not folded")
        return getattr(receiver, name)(*args, **kwargs)

    return run


def apply_method(receiver: Val, name: str, args: list[Val], kwargs: dict[str, Val]) -> Val:
    """The value of ``receiver.name(*args, **kwargs)``."""
    if name in ("startswith", "endswith"):
        return NUM
    fallback = STR if name in STR_RESULTS and may_be_str(receiver) else TOP
    if name not in _METHODS | {"replace", "format"}:
        return fallback
    return fold(_on_runtime(_method(name)), [receiver, *args], fallback, kwargs=kwargs)

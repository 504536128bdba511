"""Package names that imitate well-known ones (typosquats), on the look-alike machinery.

Names are compared in their PEP 503 normal form. A name is never confusable when it is itself
well-known (``well_known.txt``), a genuine package close to one (``genuine.txt``) or allowed.
Otherwise it resembles a well-known name when (see ``resembles``):

- their look-alike skeletons (``lookalike.skeleton``: case, separators, homoglyphs, ``rn``/``m``,
  ``0``/``o``, ``1``/``l``) are equal, also once doubled letters are collapsed (``numpyy``,
  ``peftt``);
- they are within the look-alike edit distance, which grows with length (none up to four
  characters, one up to nine, two from ten on), or, for four characters and more, one swap of
  adjacent letters apart (``tmim``);
- it is the well-known name with a packaging prefix or suffix (``py``, ``python``, ``lib``,
  ``pkg``, ``sdk``, ``official``: ``pytorch-python``, ``py-transformers``).

A longer name that merely starts or ends with a well-known one (``torch-geometric``) is not
confusable: that is how related packages are named; nor is such a name two edits from another
well-known name (``tensorflowjs`` and ``tensorflow-io``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Final

from modelward.engine.collectors.lookalike import (
    allowed_edits,
    damerau_levenshtein,
    plain,
    skeleton,
)

_SEPARATORS: Final = re.compile(r"[-_.]+")
_DOUBLED: Final = re.compile(r"(.)\1+")
#: Words squatters put before or after a well-known name.
AFFIX_WORDS: Final = ("python", "py", "official", "lib", "pkg", "sdk")
#: Well-known names shorter than this are not matched with affixes (``py`` + ``ray``).
MIN_AFFIXED_LENGTH: Final = 3


def normalize(name: str) -> str:
    """The PEP 503 normal form of a package name."""
    return _SEPARATORS.sub("-", name).lower()


@lru_cache(maxsize=1)
def well_known_packages() -> tuple[str, ...]:
    """The shipped list of guarded names (``well_known.txt``), normalised, in file order."""
    return _data_file("well_known.txt")


@lru_cache(maxsize=1)
def genuine_packages() -> tuple[str, ...]:
    """Genuine packages close to a guarded name (``genuine.txt``): never reported."""
    return _data_file("genuine.txt")


def _data_file(name: str) -> tuple[str, ...]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    names = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(dict.fromkeys(normalize(n) for n in names if n))


class ConfusableMatcher:
    """Finds the well-known name a package name imitates.

    Candidates come from an index of every well-known form with up to two characters deleted
    (the symmetric-delete method: two names within two edits share such a form), so a name is
    compared with a handful of well-known names, not with all of them.
    """

    def __init__(self, extra: Iterable[str] = (), allowlist: Iterable[str] = ()) -> None:
        names = [*well_known_packages(), *(normalize(n) for n in extra if n.strip())]
        self.known: dict[str, _Forms] = {n: _forms(n) for n in dict.fromkeys(names)}
        allowed = [*genuine_packages(), *allowlist]
        self.exempt = set(self.known) | {normalize(n) for n in allowed}
        self.index: dict[str, set[str]] = {}
        for name, forms in self.known.items():
            for variant in _variants(forms):
                self.index.setdefault(variant, set()).add(name)
        self.longest = max((len(forms[0]) for forms in self.known.values()), default=0)

    def resembles(self, name: str) -> str | None:
        """The well-known name ``name`` imitates, or None."""
        normal = normalize(name)
        if not normal.strip("-") or normal in self.exempt:
            return None
        own = _forms(name)
        if len(own[0]) > self.longest + max(map(len, AFFIX_WORDS)):
            return None
        best: tuple[int, str] | None = None
        for known in sorted(self._candidates(own)):
            distance = _distance(own, self.known[known])
            if distance is not None and (best is None or distance < best[0]):
                best = (distance, known)
        if best is None or (best[0] >= 2 and self._related(own[0])):
            return None
        return best[1]

    def _candidates(self, own: _Forms) -> set[str]:
        found: set[str] = set()
        for variant in _variants(own):
            found |= self.index.get(variant, set())
        for word in AFFIX_WORDS:
            for stripped in (own[0].removeprefix(word), own[0].removesuffix(word)):
                found |= self.index.get(stripped, set())
        return found

    def _related(self, plain_name: str) -> bool:
        """``plain_name`` is a well-known name plus a word (``tensorflowjs``): a family member."""
        return any(_extends(plain_name, forms[0]) for forms in self.known.values())


def _variants(forms: _Forms) -> set[str]:
    """Every form with zero, one or two characters deleted."""
    found: set[str] = set()
    for form in forms:
        once = {form[:i] + form[i + 1 :] for i in range(len(form))}
        twice = {v[:i] + v[i + 1 :] for v in once for i in range(len(v))}
        found |= {form} | once | twice
    return found


_Forms = tuple[str, str, str]  # plain, skeleton, skeleton without doubled letters


def _forms(name: str) -> _Forms:
    shape = skeleton(name)
    return plain(name), shape, _DOUBLED.sub(r"\1", shape)


def _distance(a: _Forms, b: _Forms) -> int | None:
    """How far apart two names look, or None when they do not look alike."""
    if not a[0] or not b[0]:
        return None
    if a[1] == b[1] or a[2] == b[2]:
        return 0
    if _affixed(a[0], b[0]):
        return 1
    if _extends(a[0], b[0]):
        return None
    shortest = min(len(a[0]), len(b[0]))
    limit = allowed_edits(shortest)
    found = min(damerau_levenshtein(x, y, limit) for x, y in zip(a[:2], b[:2], strict=True))
    if found <= limit:
        return found
    return 1 if shortest >= 4 and _one_swap(a[1], b[1]) else None


def _affixed(name: str, known: str) -> bool:
    """``name`` is ``known`` with a squatter's prefix or suffix word."""
    if len(known) < MIN_AFFIXED_LENGTH or len(name) <= len(known):
        return False
    if name.startswith(known):
        return name[len(known) :] in AFFIX_WORDS
    if name.endswith(known):
        return name[: -len(known)] in AFFIX_WORDS
    return False


def _extends(a: str, b: str) -> bool:
    """One name is the other plus two or more characters (``torch`` and ``torchvision``)."""
    short, long = sorted((a, b), key=len)
    return len(long) - len(short) >= 2 and (long.startswith(short) or long.endswith(short))


def _one_swap(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by exactly one swap of adjacent characters."""
    if len(a) != len(b):
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]

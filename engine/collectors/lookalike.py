"""Look-alike publisher names: does an organisation name imitate a trusted one?

Two names are compared through a *skeleton* that erases the differences a reader does not see
or does not notice: Unicode compatibility forms (NFKC), case, Cyrillic and Greek letters that look
like Latin ones, ``rn``/``m`` and ``vv``/``w``, ``l``/``I``/``1``/``i``, ``0``/``o``, ``5``/``s``,
``3``/``e`` and the separators ``-``, ``_`` and ``.``. A name is a look-alike of a trusted name
when it is not that name (compared case-insensitively) and their skeletons are equal or within a
small Damerau-Levenshtein distance that grows with the length of the shorter name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Final

#: Letters from other scripts that render like a Latin letter (after case folding), by name.
_CONFUSABLE_NAMES: Final = {
    "a": ("CYRILLIC SMALL LETTER A", "GREEK SMALL LETTER ALPHA"),
    "b": ("CYRILLIC SMALL LETTER VE", "GREEK SMALL LETTER BETA"),
    "c": ("CYRILLIC SMALL LETTER ES", "GREEK SMALL LETTER FINAL SIGMA"),
    "d": ("CYRILLIC SMALL LETTER KOMI DE",),
    "e": ("CYRILLIC SMALL LETTER IE", "CYRILLIC SMALL LETTER IO", "GREEK SMALL LETTER EPSILON"),
    "g": ("LATIN SMALL LETTER SCRIPT G",),
    "h": ("CYRILLIC SMALL LETTER SHHA", "CYRILLIC SMALL LETTER EN"),
    "i": (
        "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I", "CYRILLIC SMALL LETTER YI",
        "GREEK SMALL LETTER IOTA", "LATIN SMALL LETTER DOTLESS I", "LATIN SMALL LETTER IOTA",
    ),
    "j": ("CYRILLIC SMALL LETTER JE",),
    "k": ("CYRILLIC SMALL LETTER KA", "GREEK SMALL LETTER KAPPA"),
    "l": ("CYRILLIC SMALL LETTER PALOCHKA", "LATIN SMALL LETTER L WITH STROKE"),
    "m": ("CYRILLIC SMALL LETTER EM",),
    "n": ("CYRILLIC SMALL LETTER PE", "GREEK SMALL LETTER ETA"),
    "o": (
        "CYRILLIC SMALL LETTER O", "GREEK SMALL LETTER OMICRON", "LATIN SMALL LETTER O WITH STROKE",
    ),
    "p": ("CYRILLIC SMALL LETTER ER", "GREEK SMALL LETTER RHO"),
    "q": ("CYRILLIC SMALL LETTER QA",),
    "r": ("CYRILLIC SMALL LETTER GHE",),
    "s": ("CYRILLIC SMALL LETTER DZE",),
    "t": ("CYRILLIC SMALL LETTER TE", "GREEK SMALL LETTER TAU"),
    "u": ("GREEK SMALL LETTER UPSILON", "GREEK SMALL LETTER MU"),
    "v": ("GREEK SMALL LETTER NU",),
    "w": ("CYRILLIC SMALL LETTER WE", "GREEK SMALL LETTER OMEGA"),
    "x": ("CYRILLIC SMALL LETTER HA", "GREEK SMALL LETTER CHI"),
    "y": (
        "CYRILLIC SMALL LETTER U", "CYRILLIC SMALL LETTER STRAIGHT U", "GREEK SMALL LETTER GAMMA",
    ),
}  # fmt: skip
CONFUSABLES: Final[dict[str, str]] = {
    unicodedata.lookup(name): latin for latin, names in _CONFUSABLE_NAMES.items() for name in names
}
#: Digits and letters that are swapped for one another in look-alike names.
CHARACTER_SWAPS: Final[dict[str, str]] = {
    "1": "l", "i": "l", "|": "l", "!": "l", "0": "o", "5": "s", "$": "s", "3": "e", "@": "a",
}  # fmt: skip
#: Letter pairs that read as one letter.
DIGRAPHS: Final[tuple[tuple[str, str], ...]] = (("rn", "m"), ("vv", "w"), ("cl", "d"))
SEPARATORS: Final = frozenset("-_. ")
#: Publishers whose names are imitated most, checked besides the configured trusted publishers.
WELL_KNOWN_PUBLISHERS: Final[tuple[str, ...]] = (
    "meta-llama", "facebook", "FacebookAI", "microsoft", "google", "google-bert", "google-t5",
    "openai", "openai-community", "mistralai", "Qwen", "deepseek-ai", "ibm-granite", "nvidia",
    "stabilityai", "huggingface", "HuggingFaceTB", "HuggingFaceH4", "HuggingFaceM4",
    "HuggingFaceFW", "sentence-transformers", "bigscience", "bigcode", "EleutherAI", "allenai",
    "tiiuae", "CohereForAI", "CohereLabs",
    "apple", "amazon", "Salesforce", "intfloat", "BAAI", "THUDM", "zai-org", "moonshotai",
    "black-forest-labs", "stable-diffusion-v1-5", "nomic-ai", "jinaai", "Snowflake",
    "databricks", "TheBloke", "unsloth", "NousResearch", "lmsys", "xai-org", "01-ai",
)  # fmt: skip
#: Names of at most this many characters must have equal skeletons to be look-alikes.
EXACT_ONLY_UP_TO: Final = 4
#: Names of at least this many characters may differ by two edits; shorter ones by one.
TWO_EDITS_FROM: Final = 10


def plain(name: str) -> str:
    """``name`` as written, without what a reader overlooks: case, script, accents, separators."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(CONFUSABLES.get(c, c) for c in text)
    # Combining marks (accents) are easy to overlook: drop them.
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c for c in text if c not in SEPARATORS)


def skeleton(name: str) -> str:
    """The form of ``name`` a reader perceives: what look-alike names have in common."""
    text = plain(name)
    for pair, single in DIGRAPHS:
        text = text.replace(pair, single)
    return "".join(CHARACTER_SWAPS.get(c, c) for c in text)


def lookalike_of(name: str, trusted: Iterable[str]) -> str | None:
    """The trusted name ``name`` imitates, or None (also None when ``name`` is itself trusted)."""
    names = [t for t in dict.fromkeys(trusted) if t.strip()]
    folded = name.casefold()
    if not folded.strip() or any(t.casefold() == folded for t in names):
        return None
    own = (plain(name), skeleton(name))
    best: tuple[int, str] | None = None
    for candidate in names:
        distance = _distance(own, (plain(candidate), skeleton(candidate)))
        if distance is not None and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None


def _distance(a: tuple[str, str], b: tuple[str, str]) -> int | None:
    """How far apart two names look, or None when farther than their length allows."""
    if not a[0] or not b[0] or _extends(a[0], b[0]):
        return None
    limit = allowed_edits(min(len(a[0]), len(b[0])))
    found = min(damerau_levenshtein(x, y, limit) for x, y in zip(a, b, strict=True))
    return found if found <= limit else None


def _extends(a: str, b: str) -> bool:
    """One name is the other plus two or more characters (google-bert, HuggingFaceH4)."""
    short, long = sorted((a, b), key=len)
    return len(long) - len(short) >= 2 and (long.startswith(short) or long.endswith(short))


def allowed_edits(length: int) -> int:
    """How many edits a name of ``length`` characters may be away from a trusted name."""
    if length <= EXACT_ONLY_UP_TO:
        return 0
    return 2 if length >= TWO_EDITS_FROM else 1


def damerau_levenshtein(a: str, b: str, limit: int | None = None) -> int:
    """Edit distance with insertions, deletions, substitutions and adjacent transpositions.

    With ``limit``, a distance above it is reported as ``limit + 1`` (the search stops early).
    """
    cap = limit + 1 if limit is not None else len(a) + len(b)
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
        if min(row) >= cap:
            return cap
    return min(rows[-1][-1], cap)

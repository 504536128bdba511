"""``CardCollector``: the model card's YAML front matter (licence, base model, datasets, tags).

The card is ``README.md`` at the model root (else ``model_card.md`` or ``MODEL_CARD.md``; names
are matched exactly first, then ignoring case). Only the YAML block between the first two ``---``
lines is read, with ``yaml.safe_load``, from at most the first ``MAX_CARD_BYTES`` of the file.
A card whose front matter is malformed is still ``present``, with nothing extracted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from modelward.engine.collectors import CollectContext
from modelward.engine.facts import CardFacts
from modelward.engine.source import ModelSource, SourceFile

CARD_NAMES: Final = ("README.md", "model_card.md", "MODEL_CARD.md")
MAX_CARD_BYTES: Final = 1 << 20
MAX_TITLE_CHARS: Final = 200
#: How the items of a list-valued ``license:`` are joined into the one string the facts hold.
LICENSE_JOIN: Final = " AND "
_FENCE = re.compile(r"^---[ \t]*$")


@dataclass(frozen=True)
class CardDocument:
    """A model card as read: its path, front matter (empty when malformed) and the parse error."""

    path: str
    front_matter: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    error: str | None = None


class CardCollector:
    name = "card"

    def __init__(self) -> None:
        #: The card the last ``collect`` read (``modelward bom`` reads more of it than the facts).
        self.document: CardDocument | None = None

    def collect(self, source: ModelSource, ctx: CollectContext) -> CardFacts:
        self.document = None
        card = find_card(source)
        if card is None:
            return CardFacts(present=False)
        self.document = read_card(card)
        return card_facts(self.document)


def find_card(source: ModelSource) -> SourceFile | None:
    """The model card among the root files of a directory model, or ``None``."""
    if source.single_file:
        return None
    root = {f.path: f for f in source.files if "/" not in f.path}
    for name in CARD_NAMES:
        if name in root:
            return root[name]
    folded = {path.lower(): f for path, f in sorted(root.items())}
    for name in CARD_NAMES:
        if name.lower() in folded:
            return folded[name.lower()]
    return None


def read_card(card: SourceFile) -> CardDocument:
    """Read ``card``; an unreadable file raises ``OSError`` (the collector then errors)."""
    with card.open() as fp:
        data = fp.read(MAX_CARD_BYTES)
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    return parse_card(card.path, text)


def parse_card(path: str, text: str) -> CardDocument:
    """Split ``text`` into front matter and body and load the front matter safely."""
    lines = text.splitlines(keepends=True)
    if not lines or not _FENCE.match(lines[0].rstrip("\r\n")):
        return CardDocument(path=path, body=text)
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i].rstrip("\r\n"))), None)
    if end is None:
        return CardDocument(path=path, error="the front matter has no closing '---' line")
    body = "".join(lines[end + 1 :])
    import yaml  # only cards with front matter need the parser

    try:
        loaded = yaml.safe_load("".join(lines[1:end]))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or type(exc).__name__
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        return CardDocument(
            path=path, body=body, error=f"invalid YAML front matter: {problem}{where}"
        )
    except (RecursionError, ValueError) as exc:
        return CardDocument(path=path, body=body, error=f"invalid YAML front matter: {exc}")
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        return CardDocument(path=path, body=body, error="the front matter is not a YAML mapping")
    return CardDocument(path=path, front_matter=loaded, body=body)


def card_facts(document: CardDocument) -> CardFacts:
    meta = document.front_matter
    return CardFacts(
        present=True,
        path=document.path,
        license=card_license(meta.get("license")),
        base_model=strings(meta.get("base_model")),
        datasets=strings(meta.get("datasets")),
        tags=strings(meta.get("tags")),
    )


def card_license(value: object) -> str | None:
    """The card's ``license:``; a list is joined with ``LICENSE_JOIN`` (all of them apply)."""
    items = strings(value)
    return LICENSE_JOIN.join(items) if items else None


def strings(value: object) -> list[str]:
    """A scalar or a list of scalars as a list of non-empty strings; anything else is ignored."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            continue
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out


def card_title(document: CardDocument) -> str | None:
    """The model's name as the card gives it: ``model_name``, ``model-index[0].name`` or H1."""
    meta = document.front_matter
    names = strings(meta.get("model_name"))
    index = meta.get("model-index")
    if isinstance(index, list) and index and isinstance(index[0], dict):
        names += strings(index[0].get("name"))
    for line in document.body.splitlines():
        if line.startswith("# "):
            names.append(line[2:].strip().removeprefix("Model Card for ").strip())
            break
    title = next((n for n in names if n), None)
    return title[:MAX_TITLE_CHARS] if title else None

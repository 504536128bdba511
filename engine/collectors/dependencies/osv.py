"""An offline vulnerability database in the OSV format, read from disk (never the network).

The database is a directory of OSV JSON files (searched recursively) or a zip of them, such as
the PyPI ``all.zip`` osv-scanner downloads
(``https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip``). Only advisories about
the packages asked for are parsed: an entry is decoded when its bytes name one of them.

A version is affected when an advisory's ``affected`` entry for the package (ecosystem PyPI, PEP
503 name) lists it in ``versions`` or an ``ECOSYSTEM`` (or ``SEMVER``) range covers it:
``introduced`` <= version < ``fixed`` (or <= ``last_affected``), compared with
``packaging.version``. Withdrawn advisories are ignored.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from packaging.version import InvalidVersion, Version

from modelward.engine.collectors.dependencies.confusable import normalize
from modelward.engine.errors import Error

MAX_ENTRIES: Final = 1_000_000
MAX_ENTRY_BYTES: Final = 16 << 20


class VulnerabilityDbError(Error):
    """The offline vulnerability database cannot be read."""


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str | None
    affected: tuple[dict[str, Any], ...]

    def affects(self, package: str, version: str) -> bool:
        """Whether this advisory lists ``version`` of ``package`` (a PEP 503 name)."""
        try:
            parsed = Version(version)
        except InvalidVersion:
            return False
        return any(_affects(entry, package, version, parsed) for entry in self.affected)


def load_advisories(db: Path, packages: Iterable[str]) -> dict[str, list[Advisory]]:
    """Advisories of ``db`` about ``packages`` (PEP 503 names), by package name."""
    wanted = {normalize(p) for p in packages}
    found: dict[str, list[Advisory]] = {}
    if not wanted:
        return found
    needles = [name.encode() for name in wanted] + [
        name.replace("-", "_").encode() for name in wanted
    ]
    for raw in _entries(db):
        folded = raw.lower()
        if not any(needle in folded for needle in needles):
            continue
        advisory = _advisory(raw)
        if advisory is None:
            continue
        names = {name for a in advisory.affected if (name := _name(a)) is not None}
        for name in names & wanted:
            found.setdefault(name, []).append(advisory)
    return found


def _entries(db: Path) -> Iterator[bytes]:
    if db.is_dir():
        yield from _directory_entries(db)
    elif db.is_file():
        yield from _zip_entries(db)
    else:
        raise VulnerabilityDbError(f"vulnerability database {db}: no such file or directory")


def _directory_entries(db: Path) -> Iterator[bytes]:
    for count, path in enumerate(sorted(db.rglob("*.json"))):
        if count >= MAX_ENTRIES:
            raise VulnerabilityDbError(f"vulnerability database {db}: over {MAX_ENTRIES} files")
        if path.is_file() and path.stat().st_size <= MAX_ENTRY_BYTES:
            yield path.read_bytes()


def _zip_entries(db: Path) -> Iterator[bytes]:
    try:
        archive = zipfile.ZipFile(db)
    except (zipfile.BadZipFile, OSError) as exc:
        raise VulnerabilityDbError(f"vulnerability database {db}: not a zip ({exc})") from exc
    with archive:
        members = [m for m in archive.infolist() if m.filename.endswith(".json")]
        if len(members) > MAX_ENTRIES:
            raise VulnerabilityDbError(f"vulnerability database {db}: over {MAX_ENTRIES} entries")
        for member in members:
            if member.file_size <= MAX_ENTRY_BYTES:
                with archive.open(member) as fp:
                    yield fp.read(MAX_ENTRY_BYTES + 1)[:MAX_ENTRY_BYTES]


def _advisory(raw: bytes) -> Advisory | None:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("withdrawn") or not isinstance(doc.get("id"), str):
        return None
    affected = tuple(a for a in doc.get("affected") or () if isinstance(a, dict))
    aliases = tuple(a for a in doc.get("aliases") or () if isinstance(a, str))
    summary = doc.get("summary") or doc.get("details")
    summary = (
        summary.strip().splitlines()[0][:300] if isinstance(summary, str) and summary else None
    )
    return Advisory(id=doc["id"], aliases=aliases, summary=summary, affected=affected)


def _name(entry: dict[str, Any]) -> str | None:
    package = entry.get("package")
    if not isinstance(package, dict) or package.get("ecosystem") != "PyPI":
        return None
    name = package.get("name")
    return normalize(name) if isinstance(name, str) else None


def _affects(entry: dict[str, Any], package: str, version: str, parsed: Version) -> bool:
    if _name(entry) != package:
        return False
    versions = entry.get("versions") or ()
    if isinstance(versions, list) and (version in versions or _listed(parsed, versions)):
        return True
    for span in entry.get("ranges") or ():
        ranged = isinstance(span, dict) and span.get("type") in {"ECOSYSTEM", "SEMVER"}
        if ranged and _in_range(parsed, span.get("events") or ()):
            return True
    return False


def _listed(version: Version, versions: list[Any]) -> bool:
    for listed in versions:
        try:
            if isinstance(listed, str) and Version(listed) == version:
                return True
        except InvalidVersion:
            continue
    return False


def _in_range(version: Version, events: Iterable[Any]) -> bool:
    """OSV range evaluation: walk the events in version order, toggling 'affected'."""
    ordered: list[tuple[Version, int, str]] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        for kind, order in (("introduced", 0), ("fixed", 1), ("last_affected", 2)):
            value = event.get(kind)
            if isinstance(value, str):
                point = _version(value)
                if point is not None:
                    ordered.append((point, order, kind))
    affected = False
    for point, _, kind in sorted(ordered):
        if kind == "introduced" and version >= point:
            affected = True
        elif (kind == "fixed" and version >= point) or (
            kind == "last_affected" and version > point
        ):
            affected = False
    return affected


def _version(text: str) -> Version | None:
    if text == "0":
        return Version("0")
    try:
        return Version(text)
    except InvalidVersion:
        return None

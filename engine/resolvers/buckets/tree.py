"""Lay the listed objects out as a folder of links into the object cache.

Keys become paths relative to the prefix. A key that cannot be a path (``..``, ``.``, empty
segments, a leading ``/``, a backslash) or that collides with another (``a`` and ``a/b``) is
left out with a ``source.object.bad_key`` finding; a zero-byte key ending in ``/`` is a folder
marker, not content. The folder is built beside its final place and renamed into it, so a
reader never sees half a tree.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from modelward.engine.facts import Finding, SkippedPath
from modelward.engine.resolvers.buckets.objects import (
    BucketTarget,
    ObjectEntry,
    bad_key,
    relative_path,
)


@dataclass
class Layout:
    """Tree path -> object, and what was left out."""

    files: dict[str, ObjectEntry] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    skipped: list[SkippedPath] = field(default_factory=list)


def plan(target: BucketTarget, prefix: str, objects: list[ObjectEntry]) -> Layout:
    layout = Layout()
    folders: set[str] = set()
    for entry in sorted(objects, key=lambda o: o.key):
        if entry.key.endswith("/") and entry.size == 0 and entry.key != prefix:
            layout.skipped.append(SkippedPath(path=entry.key, reason="folder marker object"))
            continue
        if entry.key == prefix:
            continue
        rel = relative_path(entry.key, prefix)
        if rel is None:
            why = "the key is not a safe relative path ('..', '.', empty or absolute segments)"
            layout.findings.append(bad_key(target, entry.key, why))
            continue
        parents = _parents(rel)
        if rel in folders or any(p in layout.files for p in parents):
            why = "the key is both a file and a folder of the tree"
            layout.findings.append(bad_key(target, entry.key, why))
            continue
        folders.update(parents)
        layout.files[rel] = entry
    return layout


def build(final: Path, links: dict[str, Path]) -> Path:
    """The folder ``final`` with a link ``rel -> blob`` for each entry of ``links``."""
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}")
    try:
        for rel, blob in links.items():
            path = tmp.joinpath(*rel.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(blob)
        tmp.replace(final)
    except OSError:
        if not final.is_dir():  # another process may have built the same tree first
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]

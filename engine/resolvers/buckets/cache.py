"""The object cache under ``FetchSettings.cache_dir / "s3"``.

``objects/<h>`` holds one object's bytes, ``objects/<h>.json`` what it was downloaded as (key,
version, ETag, size, sha256). ``h`` hashes the endpoint, bucket and key with the version id; an
object without one is keyed by its ETag and size instead, so it is reused only while the
listing still shows that ETag and size. ``listings/<h>.json`` keeps the object list of the last
online resolution of a reference: offline mode resolves from it alone.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelward.engine.resolvers.buckets.objects import ObjectEntry
from modelward.engine.resolvers.fetch import FetchSettings


@dataclass(frozen=True)
class Downloaded:
    """What a cached object was downloaded as."""

    entry: ObjectEntry
    sha256: str


class ObjectCache:
    def __init__(self, settings: FetchSettings, endpoint: str, bucket: str) -> None:
        self.root = settings.cache_dir.expanduser().resolve() / "s3"
        self.endpoint = endpoint
        self.bucket = bucket

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    def blob(self, entry: ObjectEntry) -> Path:
        """Where ``entry``'s bytes are cached."""
        if entry.version_id is not None:
            identity: list[Any] = [entry.key, "version", entry.version_id]
        else:
            identity = [entry.key, "etag", entry.etag, entry.size]
        name = _digest([self.endpoint, self.bucket, *identity])
        return self.objects / name[:2] / name

    def downloaded(self, entry: ObjectEntry) -> Downloaded | None:
        """The record of ``entry``'s cached bytes, when they are present."""
        blob = self.blob(entry)
        data = _read_json(blob.with_name(blob.name + ".json"))
        if data is None or not blob.is_file():
            return None
        try:
            return Downloaded(ObjectEntry.from_json(data["object"]), str(data["sha256"]))
        except (KeyError, TypeError, ValueError):
            return None

    def record(self, entry: ObjectEntry, sha256: str) -> None:
        blob = self.blob(entry)
        data = {"endpoint": self.endpoint, "bucket": self.bucket, "object": entry.to_json()}
        _write_json(blob.with_name(blob.name + ".json"), {**data, "sha256": sha256})

    def save_listing(self, canonical: str, prefix: str, objects: list[ObjectEntry]) -> None:
        rows = [o.to_json() for o in objects]
        _write_json(self._listing(canonical), {"ref": canonical, "prefix": prefix, "objects": rows})

    def saved_listing(self, canonical: str) -> tuple[str, list[ObjectEntry]] | None:
        """The prefix and objects the last online resolution of ``canonical`` listed."""
        data = _read_json(self._listing(canonical))
        if data is None:
            return None
        try:
            return str(data["prefix"]), [ObjectEntry.from_json(row) for row in data["objects"]]
        except (KeyError, TypeError, ValueError):
            return None

    def tree(self, key: str) -> Path:
        return self.root / "trees" / _digest([self.endpoint, self.bucket, key])

    def _listing(self, canonical: str) -> Path:
        return self.root / "listings" / f"{_digest([self.endpoint, canonical])}.json"


def _digest(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=True).encode()).hexdigest()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader sees the old record or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    tmp.replace(path)

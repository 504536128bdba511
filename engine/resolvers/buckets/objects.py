"""What one resolution of a bucket reference names: the target and the objects it lists."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from modelward.engine.facts import Finding
from modelward.engine.refs import ModelRef


@dataclass(frozen=True)
class BucketTarget:
    """Bucket and key (or prefix) of a reference; ``prefix`` ends with ``/`` or is empty."""

    scheme: str
    bucket: str
    key: str
    version_id: str | None

    @classmethod
    def from_ref(cls, ref: ModelRef) -> BucketTarget:
        bucket, _, key = ref.location.partition("/")
        return cls(ref.scheme, bucket, key, ref.revision)

    @property
    def is_prefix(self) -> bool:
        return not self.key or self.key.endswith("/")

    def url(self, key: str | None = None) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key if key is None else key}"


@dataclass(frozen=True)
class ObjectEntry:
    """One object as listed: its key, version (None: an unversioned bucket), ETag and size."""

    key: str
    version_id: str | None
    etag: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectEntry:
        version = data.get("version_id")
        return cls(
            key=str(data["key"]),
            version_id=None if version is None else str(version),
            etag=str(data["etag"]),
            size=int(data["size"]),
        )


def listing_digest(objects: list[ObjectEntry]) -> str:
    """``sha256:<hex>`` of the canonical JSON of the sorted object list: a prefix's pin."""
    rows = [o.to_json() for o in sorted(objects, key=lambda o: o.key)]
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def relative_path(key: str, prefix: str) -> str | None:
    """The tree path of ``key`` under ``prefix``; None when it is not a safe relative path."""
    rel = key[len(prefix) :]
    if not rel or rel.startswith("/") or "\\" in rel or "\0" in rel:
        return None
    if any(part in ("", ".", "..") for part in rel.split("/")):
        return None
    return rel


def bad_key(target: BucketTarget, key: str, why: str) -> Finding:
    """An object whose key cannot be a file of the tree: it is left out, and said so."""
    return Finding(
        id="source.object.bad_key",
        severity="high",
        file=key,
        technique="resolver",
        message=f"{target.url(key)}: {why}; the object was not downloaded",
    )

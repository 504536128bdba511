"""Download one listed object into the cache, verified and resumable (``fetch``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modelward.engine.errors import ResolveError
from modelward.engine.resolvers.buckets.cache import Downloaded, ObjectCache
from modelward.engine.resolvers.buckets.objects import BucketTarget, ObjectEntry
from modelward.engine.resolvers.fetch import CHUNK, Progress, verified_download


def fetch_object(
    client: Any,
    cache: ObjectCache,
    target: BucketTarget,
    entry: ObjectEntry,
    progress: Progress | None = None,
) -> Downloaded:
    """``entry``'s bytes in the cache: reused when recorded as this object, else downloaded.

    A recorded copy of the same version with another ETag or size means the store now serves
    different bytes under a version id that should never change: that is an error, not a
    reason to download again.
    """
    known = cache.downloaded(entry)
    if known is not None:
        if (known.entry.etag, known.entry.size) == (entry.etag, entry.size):
            return known
        raise ResolveError(target.url(entry.key), _swapped(entry, known.entry))
    dest = cache.blob(entry)
    sha256 = verified_download(
        _opener(client, target, entry),
        dest,
        label=target.url(entry.key),
        size=entry.size,
        progress=progress,
    )
    cache.record(entry, sha256)
    return Downloaded(entry, sha256)


def _opener(client: Any, target: BucketTarget, entry: ObjectEntry) -> Any:
    def open_at(offset: int) -> Iterator[bytes]:
        if offset >= entry.size:
            return
        args: dict[str, Any] = {"Bucket": target.bucket, "Key": entry.key}
        if entry.version_id is not None:
            args["VersionId"] = entry.version_id
        else:  # no version to pin: only the bytes the listing described
            args["IfMatch"] = entry.etag
        if offset:
            args["Range"] = f"bytes={offset}-"
        answer = client.get_object(**args)
        skip = offset if offset and not _ranged(answer, offset, target.url(entry.key)) else 0
        body = answer["Body"]
        try:
            for chunk in body.iter_chunks(CHUNK):
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                if chunk:
                    yield chunk
        finally:
            body.close()

    return open_at


def _ranged(answer: dict[str, Any], offset: int, label: str) -> bool:
    """True when the server sent the bytes from ``offset`` (206 with a matching range)."""
    status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode")
    content_range = str(answer.get("ContentRange") or "")
    if status != 206:
        return False
    if not content_range.startswith(f"bytes {offset}-"):
        raise ResolveError(label, f"asked for bytes {offset}-, got {content_range!r}")
    return True


def _swapped(entry: ObjectEntry, cached: ObjectEntry) -> str:
    return (
        f"version {entry.version_id} changed: it was downloaded with ETag {cached.etag} and "
        f"{cached.size} bytes, the store now lists ETag {entry.etag} and {entry.size} bytes"
    )

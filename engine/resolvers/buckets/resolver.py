"""``S3Resolver``: ``s3://`` and ``gs://`` references through the object cache.

One object (``s3://b/key``, pinned by ``?versionId=``) or every latest object under a prefix
(``s3://b/prefix/``; a key that names no object is read as the prefix ``key/``) is listed,
downloaded into the cache unless already there, and read by ``LocalResolver`` from a tree of
links into the cache. The version of a single object, or the digest of a prefix's object list,
is the resolved revision; offline mode resolves only from what an online run recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from modelward.engine.errors import ResolveError
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.buckets import listing
from modelward.engine.resolvers.buckets.cache import ObjectCache
from modelward.engine.resolvers.buckets.client import endpoint_of, make_client
from modelward.engine.resolvers.buckets.download import fetch_object
from modelward.engine.resolvers.buckets.errors import error_code, is_missing, reason
from modelward.engine.resolvers.buckets.objects import BucketTarget, ObjectEntry, listing_digest
from modelward.engine.resolvers.buckets.tree import Layout, build, plan
from modelward.engine.resolvers.fetch import (
    MAX_DOWNLOAD_ENV,
    OFFLINE_ENV,
    FetchSettings,
    ProgressFactory,
    no_progress,
)
from modelward.engine.resolvers.hf.blobs import EXPECTED_SHA256
from modelward.engine.resolvers.local import LocalResolver
from modelward.engine.source import ModelSource


class S3Resolver:
    def __init__(
        self,
        settings: FetchSettings | None = None,
        progress: ProgressFactory = no_progress,
        max_objects: int = listing.MAX_OBJECTS,
    ) -> None:
        self.settings = settings or FetchSettings.from_environ()
        self.progress = progress
        self.max_objects = max_objects

    def resolve(self, ref: ModelRef) -> ModelSource:
        target = BucketTarget.from_ref(ref)
        client = make_client(ref.scheme, self.settings)
        endpoint = endpoint_of(client)
        cache = ObjectCache(self.settings, endpoint, target.bucket)
        with _explained(ref, target, endpoint):
            prefix, objects = self._list(client, cache, ref, target)
            layout = plan(target, prefix, objects)
            self._check(target, layout)
            expected = {
                rel: self._fetch(client, cache, target, entry)
                for rel, entry in layout.files.items()
            }
            links = {rel: cache.blob(entry) for rel, entry in layout.files.items()}
            name = json.dumps(sorted((rel, blob.name) for rel, blob in links.items()))
            tree = build(cache.tree(name), links)
        single = len(objects) == 1 and objects[0].key == target.key
        path = tree / next(iter(links)) if single else tree
        source = LocalResolver(allowed_roots=(cache.objects,)).resolve(
            ModelRef(raw=str(path), scheme="local", location=str(path))
        )
        source.ref = ref
        source.findings[:0] = layout.findings
        source.skipped.extend(layout.skipped)
        source.metadata[EXPECTED_SHA256] = expected
        revision = objects[0].version_id if single else listing_digest(objects)
        source.metadata["resolved_revision"] = revision
        source.metadata["origin"] = _origin(ref, revision, objects)
        source.metadata["object_store"] = {"endpoint": endpoint}
        return source

    def _list(
        self, client: Any, cache: ObjectCache, ref: ModelRef, target: BucketTarget
    ) -> tuple[str, list[ObjectEntry]]:
        """The prefix the tree is relative to, and the objects the reference names."""
        if self.settings.offline:
            return _saved(cache, ref, target)
        if target.version_id is not None:
            found = _pinned(client, target)
        elif target.is_prefix:
            found = None
        else:
            try:
                found = listing.head(client, target, target.key, None)
            except ClientError as exc:
                if not is_missing(exc):
                    raise
                found = None
        if found is not None:
            prefix = target.key.rpartition("/")[0] + "/" if "/" in target.key else ""
            objects = [found]
        else:
            prefix = target.key if target.is_prefix else f"{target.key}/"
            objects = listing.list_prefix(client, target, prefix, self.max_objects)
        cache.save_listing(ref.canonical, prefix, objects)
        return prefix, objects

    def _check(self, target: BucketTarget, layout: Layout) -> None:
        if not layout.files:
            why = "; ".join(f.message for f in layout.findings[:3])
            raise ResolveError(target.url(), "no objects to scan" + (f" ({why})" if why else ""))
        total = sum(e.size for e in layout.files.values())
        if total > self.settings.max_download:
            raise ResolveError(
                target.url(),
                f"{total} bytes in {len(layout.files)} objects is more than "
                f"{MAX_DOWNLOAD_ENV}={self.settings.max_download}",
            )

    def _fetch(self, client: Any, cache: ObjectCache, target: BucketTarget, e: ObjectEntry) -> str:
        if self.settings.offline:
            known = cache.downloaded(e)
            if known is None:
                raise ResolveError(target.url(e.key), f"offline ({OFFLINE_ENV}) and not cached")
            return known.sha256
        progress = self.progress(target.url(e.key), e.size)
        try:
            return fetch_object(client, cache, target, e, progress).sha256
        except (ClientError, BotoCoreError) as exc:
            raise ResolveError(target.url(e.key), reason(exc, cache.endpoint)) from None


def _pinned(client: Any, target: BucketTarget) -> ObjectEntry:
    try:
        return listing.head(client, target, target.key, target.version_id)
    except ClientError as exc:
        if not is_missing(exc) and error_code(exc) not in ("400", "InvalidArgument"):
            raise
    why = f"version {target.version_id} does not exist (deleted, or not a version of this key)"
    raise ResolveError(target.url(), why)


def _saved(
    cache: ObjectCache, ref: ModelRef, target: BucketTarget
) -> tuple[str, list[ObjectEntry]]:
    saved = cache.saved_listing(ref.canonical)
    if saved is None and target.version_id is not None:
        known = cache.downloaded(ObjectEntry(target.key, target.version_id, "", 0))
        if known is not None:
            return target.key.rpartition("/")[0] + "/" if "/" in target.key else "", [known.entry]
    if saved is None:
        why = f"offline ({OFFLINE_ENV}) and never resolved online with this cache"
        raise ResolveError(target.url(), why)
    unpinned = [o.key for o in saved[1] if o.version_id is None]
    if unpinned:
        why = f"offline ({OFFLINE_ENV}), and {len(unpinned)} objects (e.g. {unpinned[0]}) have "
        raise ResolveError(target.url(), why + "no version id to pin them by")
    return saved


def _origin(ref: ModelRef, revision: str | None, objects: list[ObjectEntry]) -> dict[str, Any]:
    digest = revision if revision and revision.startswith("sha256:") else None
    return {
        "scheme": ref.scheme,
        "location": ref.location,
        "tag": None,
        "digest": digest,
        "objects": [o.to_json() for o in objects],
    }


@contextmanager
def _explained(ref: ModelRef, target: BucketTarget, endpoint: str) -> Iterator[None]:
    """Every failure as a ``ResolveError`` naming the reference, the object and the reason."""
    try:
        yield
    except ResolveError as exc:
        if exc.path == ref.raw:
            raise
        where = "" if exc.path == ref.canonical else f"{exc.path}: "
        raise ResolveError(ref.raw, f"{where}{exc.reason}") from None
    except (ClientError, BotoCoreError) as exc:
        why = f"{target.url()} at {endpoint}: {reason(exc, endpoint)}"
        raise ResolveError(ref.raw, why) from None
    except OSError as exc:
        where = exc.filename or "the cache"
        raise ResolveError(ref.raw, f"{where}: {exc.strerror or exc}") from None

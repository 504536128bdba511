"""Ask the store what a reference names: one object (HEAD) or the latest objects of a prefix.

A prefix is listed with ListObjectVersions, so every object carries the version a later run
can pin; delete markers and older versions are left out. A server or policy that does not
allow listing versions is listed with ListObjectsV2 instead (no version ids: such objects are
downloaded on the condition that their ETag has not changed). Listings are bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from botocore.exceptions import ClientError

from modelward.engine.errors import ResolveError
from modelward.engine.resolvers.buckets.errors import error_code
from modelward.engine.resolvers.buckets.objects import BucketTarget, ObjectEntry

MAX_OBJECTS: Final = 10_000
#: Older versions and delete markers listed per object before the listing is refused.
VERSIONS_PER_OBJECT: Final = 20
PAGE: Final = 1000
#: Codes of a refused ListObjectVersions that ListObjectsV2 may still answer.
#: HEAD answers that say only an HTTP status.
BODILESS: Final = ("400", "403", "BadRequest", "Forbidden")
NO_VERSION_LISTING: Final = ("AccessDenied", "403", "NotImplemented", "501", "MethodNotAllowed")


def head(client: Any, target: BucketTarget, key: str, version_id: str | None) -> ObjectEntry:
    """The object at ``key`` (that version, or the latest); ``ClientError`` when there is none."""
    args = {"Bucket": target.bucket, "Key": key}
    if version_id is not None:
        args["VersionId"] = version_id
    try:
        answer = client.head_object(**args)
    except ClientError as exc:
        _explain_bodiless(client, target, key, exc)
        raise
    got = version_of(answer.get("VersionId"))
    if version_id is not None and got is not None and got != version_id:
        why = f"asked for version {version_id}, the server sent {got}"
        raise ResolveError(target.url(key), why)
    return ObjectEntry(key, version_id or got, str(answer["ETag"]), int(answer["ContentLength"]))


def list_prefix(
    client: Any, target: BucketTarget, prefix: str, max_objects: int = MAX_OBJECTS
) -> list[ObjectEntry]:
    """The latest version of every object under ``prefix``, sorted by key."""
    try:
        found = _bounded(_versions(client, target.bucket, prefix), target, max_objects)
    except ClientError as exc:
        if error_code(exc) not in NO_VERSION_LISTING:
            raise
        found = _bounded(_latest(client, target.bucket, prefix), target, max_objects)
    return sorted(found, key=lambda o: o.key)


def _explain_bodiless(client: Any, target: BucketTarget, key: str, exc: ClientError) -> None:
    """A HEAD error has no body, so no S3 error code: ask a listing for the real reason."""
    if error_code(exc) not in BODILESS:
        return
    try:
        client.list_objects_v2(Bucket=target.bucket, Prefix=key, MaxKeys=1)
    except ClientError as listed:
        raise listed from None


def version_of(value: object) -> str | None:
    """A version id; an unversioned bucket's ``"null"`` means none."""
    return None if value in (None, "", "null") else str(value)


def _bounded(
    entries: Iterator[ObjectEntry | None], target: BucketTarget, max_objects: int
) -> list[ObjectEntry]:
    found: list[ObjectEntry] = []
    for listed, entry in enumerate(entries, start=1):
        if entry is not None:
            found.append(entry)
        if len(found) > max_objects:
            why = f"more than {max_objects} objects under the prefix; name a narrower prefix"
            raise ResolveError(target.url(), why)
        if listed > max_objects * VERSIONS_PER_OBJECT:
            why = f"more than {listed - 1} versions and delete markers under the prefix"
            raise ResolveError(target.url(), f"{why}; name a narrower prefix")
    return found


def _versions(client: Any, bucket: str, prefix: str) -> Iterator[ObjectEntry | None]:
    """Latest versions as entries; older versions and delete markers as None (counted only)."""
    pages = client.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE}
    )
    for page in pages:
        for item in page.get("Versions") or []:
            if not item.get("IsLatest"):
                yield None
                continue
            yield ObjectEntry(
                str(item["Key"]), version_of(item.get("VersionId")), str(item["ETag"]),
                int(item["Size"]),
            )  # fmt: skip
        for _ in page.get("DeleteMarkers") or []:
            yield None


def _latest(client: Any, bucket: str, prefix: str) -> Iterator[ObjectEntry | None]:
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE}
    )
    for page in pages:
        for item in page.get("Contents") or []:
            yield ObjectEntry(str(item["Key"]), None, str(item["ETag"]), int(item["Size"]))

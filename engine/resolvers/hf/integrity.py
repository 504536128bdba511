"""Are the bytes in the cache the bytes the Hub says it serves?

For each file of a Hub snapshot the expected content comes from up to two places: the Hub's
listing of the commit (LFS sha256, or the git blob id of a small file) and the name of the cache
blob the snapshot links to (``huggingface_hub`` names a blob after the ETag it downloaded: the
sha256 of an LFS file, the git blob id otherwise). A file whose content matches neither, a file
the listing does not have, and a file the Hub described in two different ways are mismatches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

from modelward.engine.source import ModelSource, SourceFile

SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
GIT_SHA1: Final = re.compile(r"^[0-9a-f]{40}$")
#: Files above this size are not re-hashed as git blobs (the Hub keeps larger files in LFS).
MAX_GIT_BLOB_BYTES: Final = 16 * 1024 * 1024
CHUNK: Final = 1024 * 1024


def hub_mismatches(
    source: ModelSource, hub: Mapping[str, Any], digests: Mapping[str, str] | None
) -> list[str]:
    """Paths whose content differs from what the Hub advertises (sorted)."""
    listing = hub.get("files") if isinstance(hub.get("files"), Mapping) else None
    conflicts = hub.get("listing_conflicts")
    out = {p for p in conflicts if isinstance(p, str)} if isinstance(conflicts, list) else set()
    for f in source.files:
        if listing is not None and f.path not in listing:
            out.add(f.path)  # the Hub does not serve this file at all
            continue
        sha256, git = _expected(f, listing)
        actual = digests.get(f.path) if digests is not None else None
        size = _listed(listing, f.path).get("size")
        if (
            (sha256 and actual is not None and any(s != actual for s in sha256))
            or (not sha256 and git and f.size <= MAX_GIT_BLOB_BYTES and _git_blob_id(f) not in git)
            or (isinstance(size, int) and size != f.size)
        ):
            out.add(f.path)
    return sorted(out)


def _expected(f: SourceFile, listing: Mapping[str, Any] | None) -> tuple[set[str], set[str]]:
    sha256: set[str] = set()
    git: set[str] = set()
    listed = _listed(listing, f.path)
    lfs, blob_id = listed.get("lfs_sha256"), listed.get("blob_id")
    if isinstance(lfs, str) and SHA256.match(lfs):
        sha256.add(lfs)
    elif isinstance(blob_id, str) and GIT_SHA1.match(blob_id):
        git.add(blob_id)
    if f.real.parent.name == "blobs":
        name = f.real.name
        if SHA256.match(name):
            sha256.add(name)
        elif GIT_SHA1.match(name) and not sha256:
            git.add(name)
    return sha256, git


def _listed(listing: Mapping[str, Any] | None, path: str) -> Mapping[str, Any]:
    entry = listing.get(path) if listing is not None else None
    return entry if isinstance(entry, Mapping) else {}


def _git_blob_id(f: SourceFile) -> str | None:
    """The git blob id (sha1 of ``blob <size>\\0`` + content); None when unreadable."""
    digest = hashlib.sha1(f"blob {f.size}\0".encode(), usedforsecurity=False)
    try:
        with f.open() as stream:
            read = 0
            while chunk := stream.read(CHUNK):
                read += len(chunk)
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest() if read == f.size else None

"""The OCI cache under ``FetchSettings.cache_dir / "oci"``.

``blobs/sha256/HEX`` holds verified blobs and manifests (content-addressed: written only after
their bytes matched the digest). ``trees/sha256/HEX`` is the unpacked tree of manifest HEX, with
``HEX.json`` beside it (the findings unpacking made and the origin facts); a tree is built in a
temporary folder and renamed when complete, so a tree that exists is complete. ``tags/`` maps
``REGISTRY/REPO:TAG`` to the digest it last resolved to, for offline use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


class OciCache:
    def __init__(self, cache_dir: Path) -> None:
        self.base = cache_dir / "oci"

    def blob(self, digest: str) -> Path:
        return self.base / "blobs" / "sha256" / digest.removeprefix("sha256:")

    def cached_blob(self, digest: str) -> Path | None:
        path = self.blob(digest)
        return path if path.is_file() else None

    def store_blob(self, digest: str, data: bytes) -> None:
        """Keep bytes already verified against ``digest``."""
        _atomic_write(self.blob(digest), data)

    def tree(self, digest: str) -> Path:
        return self.base / "trees" / "sha256" / digest.removeprefix("sha256:")

    def load_tree(self, digest: str) -> tuple[Path, dict[str, Any]] | None:
        """A complete tree of manifest ``digest`` and its record, or None."""
        tree, record = self.tree(digest), self._record(digest)
        if not (tree.is_dir() and record.is_file()):
            return None
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return (tree, data) if isinstance(data, dict) else None

    def scratch(self, digest: str) -> Path:
        """A new, empty folder to build the tree of ``digest`` in."""
        parent = self.base / "trees" / "tmp"
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=digest.removeprefix("sha256:")[:16] + "-", dir=parent))

    def commit_tree(self, scratch: Path, digest: str, record: dict[str, Any]) -> Path:
        """Make ``scratch`` the tree of ``digest`` (another process may have won: use its)."""
        tree = self.tree(digest)
        tree.parent.mkdir(parents=True, exist_ok=True)
        try:
            scratch.rename(tree)
        except OSError:
            if not tree.is_dir():
                raise
            shutil.rmtree(scratch, ignore_errors=True)
        _atomic_write(self._record(digest), json.dumps(record, sort_keys=True).encode())
        return tree

    def remember_tag(self, location: str, tag: str, digest: str) -> None:
        data = {"reference": f"{location}:{tag}", "digest": digest}
        _atomic_write(self._tag(location, tag), json.dumps(data).encode())

    def recall_tag(self, location: str, tag: str) -> str | None:
        try:
            data = json.loads(self._tag(location, tag).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        digest = data.get("digest") if isinstance(data, dict) else None
        return digest if isinstance(digest, str) else None

    def _record(self, digest: str) -> Path:
        return self.tree(digest).with_name(digest.removeprefix("sha256:") + ".json")

    def _tag(self, location: str, tag: str) -> Path:
        key = hashlib.sha256(f"{location}:{tag}".encode()).hexdigest()
        return self.base / "tags" / f"{key}.json"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

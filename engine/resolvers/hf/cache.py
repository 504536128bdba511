"""What the Hugging Face cache holds about a commit besides its files.

* ``trees/<commit>.json`` is written by ``huggingface_hub`` (format 1): the Hub's listing of the
  commit with each LFS file's sha256. ``get_cached_repo_tree`` drops ``lfs_sha256``, so the file
  is read here.
* ``modelward/<commit>.json`` is written by modelward after an online resolution: the hub facts
  of that commit, so that an offline run (``HF_HUB_OFFLINE=1``) reports the same facts.

Both live inside the repository's cache folder; malformed content is ignored, never trusted.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from modelward.engine.resolvers.hf.info import INFO_FIELDS, Listing, entry

TREE_FORMAT: Final = 1
SAVED_FORMAT: Final = 1
MAX_JSON_BYTES: Final = 64 * 1024 * 1024
SAVED_KEYS: Final = ("status", "fetched_at", *INFO_FIELDS, "security", "files")


def tree_listing(repo_folder: Path, commit: str) -> Listing | None:
    """The cached ``trees/<commit>.json`` listing, or None when missing or malformed."""
    data = _read_json(repo_folder, repo_folder / "trees" / f"{commit}.json")
    if not isinstance(data, Mapping) or data.get("format_version") != TREE_FORMAT:
        return None
    files = data.get("files")
    if not isinstance(files, Mapping):
        return None
    listing: Listing = {}
    for path, info in files.items():
        if isinstance(path, str) and path and isinstance(info, Mapping):
            listing[path] = entry(info.get("size"), info.get("blob_id"), info.get("lfs_sha256"))
    return listing


def load_saved(repo_folder: Path, commit: str) -> dict[str, Any] | None:
    """Hub facts an earlier online run saved for ``commit``, or None."""
    data = _read_json(repo_folder, _saved_path(repo_folder, commit))
    if not isinstance(data, Mapping) or data.get("format_version") != SAVED_FORMAT:
        return None
    hub = data.get("hub")
    if not isinstance(hub, Mapping) or hub.get("status") != "ok":
        return None
    if not all(key in hub for key in SAVED_KEYS) or not isinstance(hub["security"], Mapping):
        return None
    files = hub["files"]
    listing: Listing | None = None
    if isinstance(files, Mapping):
        listing = {
            p: entry(i.get("size"), i.get("blob_id"), i.get("lfs_sha256"))
            for p, i in files.items()
            if isinstance(p, str) and isinstance(i, Mapping)
        }
    return {**{key: hub[key] for key in SAVED_KEYS}, "files": listing}


def save(repo_folder: Path, commit: str, hub: Mapping[str, Any]) -> None:
    """Keep the hub facts of ``commit`` for offline runs (best effort: the cache may be
    read-only)."""
    target = _saved_path(repo_folder, commit)
    payload = {"format_version": SAVED_FORMAT, "hub": {key: hub.get(key) for key in SAVED_KEYS}}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(repo_folder.resolve()):
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{commit}.", suffix=".tmp", dir=target.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(payload, out, indent=1, sort_keys=True)
        Path(tmp).replace(target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _saved_path(repo_folder: Path, commit: str) -> Path:
    return repo_folder / "modelward" / f"{commit}.json"


def _read_json(repo_folder: Path, path: Path) -> object:
    """Parse a JSON file of the cache; anything outside ``repo_folder`` or not regular is None."""
    try:
        if not path.resolve().is_relative_to(repo_folder.resolve()):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, RuntimeError):
        return None
    with os.fdopen(fd, "rb") as f:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            raw = f.read(MAX_JSON_BYTES + 1)
        except OSError:
            return None
    if len(raw) > MAX_JSON_BYTES:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None

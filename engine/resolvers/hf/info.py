"""What the Hub says about one commit of a model: publisher facts, security scan, file listing.

Everything here becomes ``ModelSource.metadata["hub"]``, a JSON-compatible dict:

``repo``, ``commit``, ``endpoint``; ``status`` ("ok" or "unavailable") and ``error``;
``origin`` ("hub", or "cache" for a copy saved by an earlier online run); ``fetched_at``;
``author``, ``gated``, ``private``, ``disabled``, ``created_at``, ``last_modified``,
``downloads``; ``security`` (``{"status", "files_with_issues"}``); ``files``
(``{path: {"size", "blob_id", "lfs_sha256"}}``, the Hub's listing of the commit, or None) and
``listing_conflicts`` (paths the Hub described in two different ways).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

from huggingface_hub import HfApi, get_session, hf_raise_for_status
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

from modelward.engine.resolvers.hf import security as hf_security
from modelward.engine.resolvers.hf.network import hub_timeout

PATHS_PER_QUERY: Final = 100
MAX_PATH_QUERIES: Final = 20
INFO_FIELDS: Final = (
    "author", "gated", "private", "disabled", "created_at", "last_modified", "downloads",
)  # fmt: skip

Listing = dict[str, dict[str, Any]]


def unavailable(repo: str, commit: str, endpoint: str, reason: str) -> dict[str, Any]:
    """Hub facts for a commit the Hub could not tell us about: unknown, never clean."""
    hub: dict[str, Any] = {"repo": repo, "commit": commit, "endpoint": endpoint}
    hub.update(status="unavailable", error=reason, origin=None, fetched_at=None)
    hub.update(dict.fromkeys(INFO_FIELDS))
    hub.update(security=hf_security.unavailable(), files=None, listing_conflicts=[])
    return hub


def fetch(api: HfApi, repo: str, commit: str) -> dict[str, Any]:
    """Ask the Hub (raises whatever ``huggingface_hub`` raises when it cannot answer)."""
    info = api.model_info(
        repo, revision=commit, securityStatus=True, files_metadata=True, timeout=hub_timeout()
    )
    if info.sha is not None and info.sha != commit:
        raise ValueError(f"the Hub described commit {info.sha} when asked for {commit}")
    files = _listing(info.siblings or [])
    states, failed = _file_states(api.endpoint, repo, commit, sorted(files))
    hub: dict[str, Any] = {"repo": repo, "commit": commit, "endpoint": api.endpoint}
    hub.update(status="ok", error=None, origin="hub", fetched_at=_now())
    hub.update(
        author=_text(info.author),
        gated=info.gated if isinstance(info.gated, bool | str) else None,
        private=_flag(info.private),
        disabled=_flag(info.disabled),
        created_at=_when(info.created_at),
        last_modified=_when(info.last_modified),
        downloads=info.downloads if isinstance(info.downloads, int) else None,
    )
    hub.update(
        security=hf_security.hub_scan(info.security_repo_status, states, failed),
        files=files,
        listing_conflicts=[],
    )
    return hub


def _listing(siblings: list[Any]) -> Listing:
    files: Listing = {}
    for sibling in siblings:
        path = getattr(sibling, "rfilename", None)
        if not isinstance(path, str) or not path:
            continue
        lfs = getattr(sibling, "lfs", None)
        sha256 = lfs.get("sha256") if isinstance(lfs, Mapping) else None
        size, blob_id = getattr(sibling, "size", None), getattr(sibling, "blob_id", None)
        files[path] = entry(size, blob_id, sha256)
    return files


def entry(size: object, blob_id: object, lfs_sha256: object) -> dict[str, Any]:
    """One file of a listing, with anything malformed dropped."""
    return {
        "size": size if isinstance(size, int) and not isinstance(size, bool) else None,
        "blob_id": _hex(blob_id, 40),
        "lfs_sha256": _hex(lfs_sha256, 64),
    }


def _file_states(
    endpoint: str, repo: str, commit: str, paths: list[str]
) -> tuple[dict[str, str] | None, bool]:
    """Per-file security states from ``paths-info`` (parsed here, tolerating missing keys)."""
    if not paths:
        return None, False
    states: dict[str, str] = {}
    url = f"{endpoint}/api/models/{repo}/paths-info/{quote(commit, safe='')}"
    chunks = [paths[i : i + PATHS_PER_QUERY] for i in range(0, len(paths), PATHS_PER_QUERY)]
    try:
        for chunk in chunks[:MAX_PATH_QUERIES]:
            response = get_session().post(
                url,
                data={"paths": chunk, "expand": True},
                headers=build_hf_headers(),
                timeout=hub_timeout(),
            )
            hf_raise_for_status(response)
            for item in response.json():
                if not isinstance(item, Mapping) or not isinstance(item.get("path"), str):
                    continue
                state = hf_security.file_state(item.get("securityFileStatus"))
                if state is not None:
                    states[item["path"]] = state
    except Exception:  # the per-file verdict is then unknown, not clean
        return states, True
    return states, False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _when(value: object) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, str) and value else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _hex(value: object, length: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if len(text) != length or any(c not in "0123456789abcdef" for c in text):
        return None
    return text

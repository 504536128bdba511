"""``HfResolver``: ``hf://org/name[@revision]`` through the Hugging Face cache.

The snapshot is downloaded with ``huggingface_hub`` (or found in the cache), the commit the
revision resolved to is recorded, and the Hub's facts about that commit are attached for the
publisher collector. The files are then read like any local cache snapshot: links are followed
into the repository's ``blobs/`` and nowhere else, each blob checked against its name
(``blobs``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.utils import disable_progress_bars  # type: ignore[attr-defined]

from modelward.engine.errors import ResolveError
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.hf import cache as hf_cache
from modelward.engine.resolvers.hf import info as hf_info
from modelward.engine.resolvers.hf.env import HubSettings, repo_cache_folder
from modelward.engine.resolvers.hf.errors import hub_error_reason
from modelward.engine.resolvers.hf.network import announced, hub_timeout, use_timeout
from modelward.engine.resolvers.local import LocalResolver
from modelward.engine.source import ModelSource

COMMIT: Final = re.compile(r"^[0-9a-f]{40}$")
DEFAULT_REVISION: Final = "main"


@dataclass(frozen=True)
class HubSnapshot:
    """A commit of a Hub repository, present in the cache."""

    repo: str
    commit: str
    path: Path
    repo_folder: Path
    hub: dict[str, Any] = field(hash=False)


class HfResolver:
    def resolve(self, ref: ModelRef) -> ModelSource:
        snapshot = self.snapshot(ref)
        local = ModelRef(raw=str(snapshot.path), scheme="local", location=str(snapshot.path))
        source = LocalResolver().resolve(local)
        source.ref = ref
        source.metadata["resolved_revision"] = snapshot.commit
        source.metadata["hub"] = dict(snapshot.hub)
        return source

    def snapshot(self, ref: ModelRef) -> HubSnapshot:
        """The cached snapshot of ``ref`` (downloading it unless offline) and its hub facts."""
        return _fetch(ref, HubSettings.from_environ())


def _fetch(ref: ModelRef, settings: HubSettings) -> HubSnapshot:
    repo, revision = ref.location, ref.revision or DEFAULT_REVISION
    cache_dir = settings.cache_dir.expanduser().resolve()
    seconds = hub_timeout()
    use_timeout(seconds)
    waiting = (
        nullcontext()
        if settings.offline
        else announced(f"{repo}@{revision}", settings.endpoint, seconds)
    )
    try:
        with _quiet(), waiting:
            path = snapshot_download(
                repo,
                repo_type="model",
                revision=revision,
                cache_dir=cache_dir,
                endpoint=settings.endpoint,
                local_files_only=settings.offline,
            )
    except Exception as exc:
        raise ResolveError(ref.raw, _failure(repo, revision, settings, exc)) from None
    repo_folder = repo_cache_folder(cache_dir, repo)
    snapshot = Path(path).resolve()
    if snapshot.parent != repo_folder / "snapshots" or not COMMIT.match(snapshot.name):
        raise ResolveError(
            ref.raw, f"the cached snapshot of {repo} is not inside {repo_folder} ({snapshot})"
        )
    commit = snapshot.name
    if ref.pinned and commit != ref.revision:
        raise ResolveError(ref.raw, f"{repo}: the cache returned commit {commit}")
    hub = _hub_facts(repo, commit, repo_folder, settings)
    return HubSnapshot(repo, commit, snapshot, repo_folder, hub)


def _hub_facts(repo: str, commit: str, repo_folder: Path, settings: HubSettings) -> dict[str, Any]:
    if settings.offline:
        saved = hf_cache.load_saved(repo_folder, commit)
        if saved is None:
            hub = hf_info.unavailable(
                repo, commit, settings.endpoint,
                "offline (HF_HUB_OFFLINE) and no hub facts were saved for this commit",
            )  # fmt: skip
        else:
            hub = {"repo": repo, "commit": commit, "endpoint": settings.endpoint, **saved}
            hub.update(origin="cache", error=None, listing_conflicts=[])
    else:
        try:
            with announced(f"facts of {repo}@{commit}", settings.endpoint, hub_timeout()):
                hub = hf_info.fetch(HfApi(endpoint=settings.endpoint), repo, commit)
        except Exception as exc:  # the snapshot is fine; only the hub's facts are unknown
            reason = hub_error_reason(exc, settings.endpoint)
            hub = hf_info.unavailable(repo, commit, settings.endpoint, reason)
        else:
            hf_cache.save(repo_folder, commit, hub)
    return _with_tree_listing(hub, hf_cache.tree_listing(repo_folder, commit))


def _with_tree_listing(hub: dict[str, Any], tree: hf_info.Listing | None) -> dict[str, Any]:
    """Merge the listing ``huggingface_hub`` cached while downloading; note disagreements."""
    files = hub.get("files")
    if tree is None:
        return hub
    if not isinstance(files, dict):
        return {**hub, "files": tree}
    conflicts = sorted(
        path
        for path in set(files) & set(tree)
        if any(
            files[path][k] and tree[path][k] and files[path][k] != tree[path][k]
            for k in ("size", "blob_id", "lfs_sha256")
        )
    )
    merged = {**tree, **files}
    return {**hub, "files": merged, "listing_conflicts": conflicts}


def _failure(repo: str, revision: str, settings: HubSettings, exc: BaseException) -> str:
    reason = hub_error_reason(exc, settings.endpoint)
    where = f"{repo}@{revision}"
    if settings.offline:
        return f"cannot resolve {where} offline from {settings.cache_dir}: {reason}"
    return f"cannot resolve {where} from {settings.endpoint}: {reason}"


@contextmanager
def _quiet() -> Iterator[None]:
    """No download progress bars unless someone watches a terminal."""
    interactive = sys.stderr is not None and sys.stderr.isatty()
    with nullcontext() if interactive else disable_progress_bars():
        yield

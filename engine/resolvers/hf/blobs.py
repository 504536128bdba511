"""Links of a Hugging Face cache snapshot into its repository's ``blobs/`` folder.

``huggingface_hub`` keeps a repository as ``<cache>/models--<org>--<name>/`` (also ``datasets--``,
``spaces--``): every file of ``snapshots/<commit>/`` is a relative link to ``blobs/<etag>``. The
blob's name is its identity: 64 hex digits are the sha256 of the content (an LFS file), 40 hex
digits the git blob id, ``sha1(b"blob <size>\\0" + content)`` (a small file).

A model root inside a snapshot may follow links into its own repository's ``blobs/``; a root
anywhere else may follow links into the ``blobs/`` of one repository (the first one a link leads
to: an old ``local_dir`` download links into the cache). Each followed blob is checked against
its name: git blob ids here, while walking (small files, and sha1 is not computed elsewhere);
sha256 names are recorded in ``source.metadata[EXPECTED_SHA256]`` and compared by the hashes
collector with the sha256 it computes for every file anyway, so no file is hashed twice.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Final

from modelward.engine.errors import ResolveError
from modelward.engine.facts import Finding
from modelward.engine.source import ModelSource, open_regular

REPO_FOLDER: Final = re.compile(r"^(?:models|datasets|spaces)--.+$")
SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
GIT_SHA1: Final = re.compile(r"^[0-9a-f]{40}$")
#: ``source.metadata`` key: model path -> the sha256 its cache blob is named after.
EXPECTED_SHA256: Final = "expected_sha256"
CHUNK: Final = 1 << 20


def snapshot_repo_folder(root: Path) -> Path | None:
    """The repository folder when ``root`` lies in ``<repo>/snapshots/<commit>/…``."""
    parts = root.parts
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == "snapshots" and REPO_FOLDER.match(parts[i - 1]):
            return Path(*parts[:i])
    return None


def blob_repo_folder(target: Path) -> Path | None:
    """The repository folder when ``target`` is a content-named blob of a cache repository."""
    blobs = target.parent
    named = SHA256.match(target.name) or GIT_SHA1.match(target.name)
    if named and blobs.name == "blobs" and REPO_FOLDER.match(blobs.parent.name):
        return blobs.parent
    return None


def refuse_repo_folder(root: Path) -> None:
    """A cache repository folder holds every snapshot and blob at once; name the snapshots."""
    if not REPO_FOLDER.match(root.name) or not (root / "blobs").is_dir():
        return
    snapshots = root / "snapshots"
    try:
        revisions = sorted(p.name for p in snapshots.iterdir())
    except OSError:
        revisions = []
    hint = ", ".join(str(snapshots / r) for r in revisions[:5]) or "none is present"
    reason = "a Hugging Face cache repository folder, not one model; scan one of its snapshots"
    raise ResolveError(str(root), f"{reason} ({hint})")


class CacheBlobs:
    """The one cache repository whose blobs a model root may link to, and the blob checks."""

    def __init__(self, repo: Path | None) -> None:
        self.repo = repo

    @classmethod
    def for_root(cls, root: Path) -> CacheBlobs:
        return cls(snapshot_repo_folder(root))

    def accepts(self, target: Path) -> bool:
        """True if ``target`` is a content-named blob of this model's cache repository."""
        repo = blob_repo_folder(target)
        if repo is None:
            return False
        if self.repo is None:
            self.repo = repo
        return repo == self.repo

    def check(self, source: ModelSource, rel: str, blob: Path, size: int) -> None:
        """Compare a git-id-named blob with its content now; record a sha256 name for later."""
        if SHA256.match(blob.name):
            source.metadata.setdefault(EXPECTED_SHA256, {})[rel] = blob.name
            return
        actual = git_blob_id(blob, size)
        if actual is None:
            source.findings.append(
                Finding(
                    id="source.unreadable", severity="medium", file=rel, technique="resolver",
                    message=f"{rel}: the cache blob {blob} could not be read whole",
                )
            )  # fmt: skip
        elif actual != blob.name:
            source.findings.append(blob_mismatch(rel, "git blob id", blob.name, actual, blob))


def git_blob_id(path: Path, size: int) -> str | None:
    """``sha1(b"blob <size>\\0" + content)``; None when unreadable or not ``size`` bytes long."""
    digest = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    read = 0
    try:
        with open_regular(path) as stream:
            while chunk := stream.read(CHUNK):
                read += len(chunk)
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest() if read == size else None


def sha256_mismatches(source: ModelSource, digests: dict[str, str]) -> list[Finding]:
    """Findings for files whose sha256 differs from the name of the cache blob they link to."""
    expected: dict[str, str] = source.metadata.get(EXPECTED_SHA256) or {}
    by_path = {f.path: f.real for f in source.files}
    return [
        blob_mismatch(path, "sha256", name, digests[path], by_path.get(path))
        for path, name in sorted(expected.items())
        if path in digests and digests[path] != name
    ]


def blob_mismatch(path: str, kind: str, expected: str, actual: str, blob: Path | None) -> Finding:
    """A cache blob whose content is not the content its name promises (critical)."""
    where = f" (blob {blob})" if blob is not None else ""
    return Finding(
        id="source.blob_mismatch",
        severity="critical",
        file=path,
        technique="resolver",
        message=(
            f"{path}: the cached copy was changed after download{where}: it was stored as "
            f"{kind} {expected}, its content has {actual}"
        ),
    )

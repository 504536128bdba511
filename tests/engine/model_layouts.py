"""The same model folder laid out the ways it sits on disk: HF cache, git clone, local dir."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from huggingface_hub._local_folder import write_download_metadata

REPO = Path(__file__).resolve().parents[2]
REAL_MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"
HUB_REPO = "sentence-transformers/all-MiniLM-L6-v2"
COMMIT = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
#: Files the Hub keeps in LFS (the repository's .gitattributes says so for these).
LFS_SUFFIXES = (".safetensors",)
#: Fast zlib level: git objects stay zlib streams, the way a scanner sees them in any clone.
CONFIG = ("-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "core.compression=1")
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}


def real_model() -> Path:
    if not (REAL_MODEL / "model.safetensors").is_file():
        pytest.fail(f"{REAL_MODEL} is missing; fetch it with `python3 scripts/models.py`")
    return REAL_MODEL


def model_files(folder: Path) -> dict[str, Path]:
    """Every regular file of ``folder`` by POSIX path."""
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def is_lfs(path: str) -> bool:
    return path.endswith(LFS_SUFFIXES)


def etag(path: str, data: bytes) -> str:
    """What huggingface_hub names a file's blob after: sha256 for LFS files, else the git id."""
    return sha256_hex(data) if is_lfs(path) else git_blob_id(data)


def hf_cache(plain: Path, hub: Path, repo: str = HUB_REPO, commit: str = COMMIT) -> Path:
    """``<hub>/models--org--name/{blobs,refs/main,snapshots/<commit>}`` as huggingface_hub makes
    it: every snapshot file is a relative link to its blob. Returns the snapshot folder."""
    folder = hub / f"models--{repo.replace('/', '--')}"
    (folder / "blobs").mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(commit)
    snapshot = folder / "snapshots" / commit
    for rel, path in model_files(plain).items():
        blob = folder / "blobs" / etag(rel, path.read_bytes())
        if not blob.exists():
            shutil.copyfile(path, blob)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return snapshot


def copy_model(plain: Path, target: Path) -> Path:
    shutil.copytree(plain, target, copy_function=shutil.copyfile)
    return target


def git(repo: Path, *args: str) -> str:
    identity = ("-c", "user.name=Model Owner", "-c", "user.email=owner@example.org")
    proc = subprocess.run(
        ["git", *identity, *CONFIG, *args],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def git_repository(folder: Path) -> Path:
    """Turn ``folder`` into a git repository with everything committed (loose objects)."""
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "Add model")
    return folder


def local_dir_download(plain: Path, target: Path, commit: str = COMMIT) -> Path:
    """The folder ``hf download --local-dir`` leaves: the files plus ``.cache/huggingface/``,
    written by huggingface_hub's own bookkeeping code."""
    copy_model(plain, target)
    for rel, path in model_files(target).items():
        write_download_metadata(target, rel, commit, etag(rel, path.read_bytes()))
    return target


def lfs_pointer(data: bytes) -> bytes:
    """What a clone made without git-lfs holds in place of an LFS file."""
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256_hex(data)}\n"
        f"size {len(data)}\n"
    ).encode()


def with_lfs_pointers(folder: Path) -> Path:
    """Replace every LFS file of ``folder`` with its pointer."""
    for rel, path in model_files(folder).items():
        if is_lfs(rel):
            path.write_bytes(lfs_pointer(path.read_bytes()))
    return folder

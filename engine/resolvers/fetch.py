"""What every remote resolver shares: where downloads are cached, offline mode, and one verified,
resumable download of a stream into the cache.

A download is written to ``NAME.partial`` next to its destination and hashed as it streams; it
becomes ``NAME`` (one atomic rename) only when its size and SHA-256 are what was expected. A
mismatch deletes the partial file and raises ``DigestMismatch``: nothing unverified is ever
cached. An interrupted download resumes from the partial file's length when the server honours
a range request (the bytes already on disk are hashed again first, never trusted).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from modelward.engine.errors import ResolveError

CACHE_ENV: Final = "MODELWARD_CACHE_DIR"
OFFLINE_ENV: Final = "MODELWARD_OFFLINE"
TIMEOUT_ENV: Final = "MODELWARD_FETCH_TIMEOUT"
MAX_DOWNLOAD_ENV: Final = "MODELWARD_MAX_DOWNLOAD"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_DOWNLOAD: Final = 64 << 30
CHUNK: Final = 1 << 20
_TRUE: Final = ("1", "true", "yes", "on")

#: Opens the remote object at a byte offset and yields its bytes from there on (an opener whose
#: server ignores the range skips the first ``offset`` bytes itself).
Opener = Callable[[int], Iterable[bytes]]
Progress = Callable[[int], None]
#: Starts a progress display for one download (label, total bytes when known) and returns the
#: callback that advances it by bytes received; the CLI passes one that draws on a terminal.
ProgressFactory = Callable[[str, "int | None"], Progress]


def no_progress(label: str, total: int | None) -> Progress:
    return lambda n: None


@dataclass(frozen=True)
class FetchSettings:
    """Cache folder, offline mode, network timeout and the most bytes one reference may fetch."""

    cache_dir: Path
    offline: bool = False
    timeout: float = DEFAULT_TIMEOUT
    max_download: int = DEFAULT_MAX_DOWNLOAD

    @classmethod
    def from_environ(cls, env: Mapping[str, str] | None = None) -> FetchSettings:
        env = os.environ if env is None else env
        base = env.get(CACHE_ENV)
        if not base:
            xdg = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
            base = str(Path(xdg) / "modelward")
        try:
            timeout = float(env.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)
        except ValueError:
            raise ResolveError(TIMEOUT_ENV, "must be a number of seconds") from None
        if timeout <= 0:
            raise ResolveError(TIMEOUT_ENV, "must be a positive number of seconds")
        offline = (env.get(OFFLINE_ENV) or "").strip().lower() in _TRUE
        return cls(Path(base).expanduser(), offline, timeout, _max_download(env))


def _max_download(env: Mapping[str, str]) -> int:
    raw = (env.get(MAX_DOWNLOAD_ENV) or "").strip()
    if not raw:
        return DEFAULT_MAX_DOWNLOAD
    if not raw.isdigit() or int(raw) <= 0:
        raise ResolveError(MAX_DOWNLOAD_ENV, "must be a positive number of bytes")
    return int(raw)


class DigestMismatch(ResolveError):
    """Downloaded bytes whose digest or size is not the one they were fetched by."""

    def __init__(self, label: str, expected: str, actual: str) -> None:
        super().__init__(
            label, f"content does not match its digest: expected {expected}, got {actual}"
        )
        self.expected = expected
        self.actual = actual


def verified_download(
    opener: Opener,
    dest: Path,
    *,
    label: str,
    sha256: str | None = None,
    size: int | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> str:
    """Stream ``opener``'s bytes into ``dest``; return their hex SHA-256.

    ``sha256`` and ``size`` (when given) must match or ``DigestMismatch`` is raised and nothing
    is kept; more than ``max_bytes`` (or more than ``size``) is refused as it streams.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    offset, digest = _resume(partial, size)
    limit = size if size is not None else max_bytes
    try:
        with partial.open("ab") as out:
            for chunk in opener(offset):
                offset += len(chunk)
                if limit is not None and offset > limit:
                    raise DigestMismatch(label, f"{limit} bytes", f"more than {limit} bytes")
                digest.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        actual = digest.hexdigest()
        if size is not None and offset != size:
            raise DigestMismatch(label, f"{size} bytes", f"{offset} bytes")
        if sha256 is not None and actual != sha256:
            raise DigestMismatch(label, f"sha256:{sha256}", f"sha256:{actual}")
    except DigestMismatch:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(dest)
    return actual


def _resume(partial: Path, size: int | None) -> tuple[int, hashlib._Hash]:
    """How many bytes an interrupted download left, already hashed (re-read, not trusted)."""
    digest = hashlib.sha256()
    length = 0
    try:
        with partial.open("rb") as fp:
            while chunk := fp.read(CHUNK):
                digest.update(chunk)
                length += len(chunk)
    except FileNotFoundError:
        return 0, digest
    if size is not None and length > size:  # not a prefix of this object: start again
        partial.unlink()
        return 0, hashlib.sha256()
    return length, digest

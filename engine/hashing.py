"""SHA-256 of model files: streamed, parallel across files, and the OpenSSF manifest digest.

``hashlib`` releases the GIL while it hashes large buffers, and ``readinto`` releases it while
it reads, so threads use every core: files are hashed in parallel, and a large file is read
by one thread while another hashes it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Final

from modelward.engine.cpus import usable_cpus

CHUNK: Final = 4 << 20
PIPELINE_MIN_SIZE: Final = 64 << 20
# The pipeline's buffers are small enough to stay in the CPU cache between the read that fills
# one and the hash that drains it: a large file then hashes within a few percent of hashlib over
# bytes already in memory (bench/hash.py measures both).
PIPELINE_CHUNK: Final = 1 << 20
PIPELINE_BUFFERS: Final = 4
#: Paths model signing leaves out of its manifest by default.
GIT_PATHS: Final = (".git", ".gitattributes", ".github", ".gitignore")
SIGNATURE_FILE: Final = "model.sig"

Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    return None


def sha256_file(path: Path, progress: Progress = _no_progress, *, pipelined: bool = True) -> str:
    """The hex SHA-256 of one file, read in large chunks (for a large file, read on a second
    thread while this one hashes, unless ``pipelined`` is False)."""
    with path.open("rb", buffering=0) as fp:
        size = os.fstat(fp.fileno()).st_size
        if pipelined and size >= PIPELINE_MIN_SIZE:
            return _sha256_pipelined(fp, progress)
        digest = hashlib.sha256()
        buf = bytearray(min(CHUNK, max(size, 1)))
        view = memoryview(buf)
        while n := fp.readinto(buf):
            digest.update(view[:n])
            progress(n)
        return digest.hexdigest()


def _sha256_pipelined(fp: object, progress: Progress) -> str:
    """Read on a helper thread while this thread hashes, so copying overlaps hashing."""
    import queue

    buffers = [bytearray(PIPELINE_CHUNK) for _ in range(PIPELINE_BUFFERS)]
    free: queue.Queue[bytearray] = queue.Queue()
    full: queue.Queue[tuple[bytearray, int] | BaseException | None] = queue.Queue()
    for buf in buffers:
        free.put(buf)

    def reader() -> None:
        try:
            while True:
                buf = free.get()
                n = fp.readinto(buf)  # type: ignore[attr-defined]
                if not n:
                    full.put(None)
                    return
                full.put((buf, n))
        except BaseException as exc:  # re-raised on the hashing thread
            full.put(exc)

    thread = threading.Thread(target=reader, name="sha256-reader", daemon=True)
    thread.start()
    digest = hashlib.sha256()
    while (item := full.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        buf, n = item
        digest.update(memoryview(buf)[:n])
        progress(n)
        free.put(buf)
    thread.join()
    return digest.hexdigest()


def sha256_files(
    files: Mapping[str, Path], progress: Progress = _no_progress, workers: int | None = None
) -> dict[str, str | OSError]:
    """Hash every file on up to ``workers`` threads (None: one per usable CPU), largest first; an
    unreadable file maps to its ``OSError``. With one, every file is hashed on this thread:
    the caller runs beside other processes that already use the other cores."""
    threads = workers or usable_cpus()
    order = sorted(files, key=lambda name: _size(files[name]), reverse=True)
    lock = threading.Lock()

    def locked_progress(n: int) -> None:
        with lock:
            progress(n)

    def one(name: str) -> str | OSError:
        try:
            return sha256_file(files[name], locked_progress, pipelined=threads > 1)
        except OSError as exc:
            return exc

    if len(order) <= 1 or threads == 1:  # no pool (nor its import)
        return {name: one(name) for name in order}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return dict(zip(order, pool.map(one, order), strict=True))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def is_excluded_from_manifest(path: str) -> bool:
    """True for the git paths and signature file that model signing leaves out."""
    first = PurePosixPath(path).parts[0] if path not in ("", ".") else path
    return first in GIT_PATHS or path == SIGNATURE_FILE


def manifest_digest(file_digests: Iterable[tuple[str, str]]) -> str:
    """The root digest of an OpenSSF model-signing ``files`` manifest (sha256).

    It is the SHA-256 over the raw file digests ordered by path, compared part by part as
    model signing orders ``PurePosixPath`` keys.
    """
    root = hashlib.sha256()
    for _, hex_digest in sorted(file_digests, key=lambda item: PurePosixPath(item[0]).parts):
        root.update(bytes.fromhex(hex_digest))
    return root.hexdigest()

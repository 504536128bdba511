"""``FileLookupCache``: SQLite registry answers remembered while the database files are unchanged.

A SQLite lookup opens the file, prepares and runs a query: a third of the webhook's time per
review. The answers are remembered per reference and forgotten as soon as the database or its
write-ahead log changes (size, modification time or inode), and in any case after ``max_age``
seconds, so a new or deleted verdict is seen on the next review, or at the latest ``max_age``
later if two writes fall within one file-timestamp tick. Errors are never remembered: a missing
or unreadable file raises on every lookup (fail closed). What is remembered is only *which*
stored verdict counts (``NewestVerdictLookup``); whether it is still trusted (expiry, the
reference's high-water mark) is judged on every review by the keys, never cached here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
MAX_AGE = 1.0
MAX_ENTRIES = 4096
Stamp = tuple[tuple[int, int, int] | None, ...]


class FileLookupCache(Generic[T]):
    """Wraps ``lookup`` (reference -> answer) of the SQLite database at ``path``."""

    def __init__(self, lookup: Callable[[str], T], path: Path, *, max_age: float = MAX_AGE) -> None:
        self._lookup = lookup
        self._files = (path, path.with_name(path.name + "-wal"))
        self._max_age = max_age
        self._lock = threading.Lock()
        self._stamp: Stamp | None = None
        self._since = 0.0
        self._answers: dict[str, T] = {}

    def __call__(self, reference: str) -> T:
        stamp = self._stat()
        now = time.monotonic()
        with self._lock:
            if stamp != self._stamp or now - self._since > self._max_age or stamp[0] is None:
                self._answers.clear()
                self._stamp, self._since = stamp, now
            elif reference in self._answers:
                return self._answers[reference]
        answer = self._lookup(reference)  # raises RegistryUnavailable: nothing is remembered
        with self._lock:
            if self._stamp == stamp and stamp[0] is not None and len(self._answers) < MAX_ENTRIES:
                self._answers[reference] = answer
        return answer

    def _stat(self) -> Stamp:
        return tuple(_stat(path) for path in self._files)


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino

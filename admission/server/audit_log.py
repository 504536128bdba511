"""The JSON-lines audit log: one line per admission decision, written before the answer leaves.

Each line goes out in a single ``os.write`` on a file descriptor opened with ``O_APPEND``: the
kernel positions every write at the end of the file, so lines from several processes sharing the
file never overwrite each other, and a lock keeps the threads of one process from interleaving.
A decision a client saw is on disk (in the page cache) before the client saw it, so a crash or
restart of the webhook cannot lose it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from typing import Any

from modelward.admission.errors import ConfigError

STDOUT = "-"


class AuditLogError(OSError):
    """A line could not be written; the decision must not be sent without it."""


class AuditLog:
    """Appends JSON lines to a file, or to standard output for ``-``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._lock = threading.Lock()
        if target == STDOUT:
            self._fd = os.dup(1)
        else:
            try:
                self._fd = os.open(
                    target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640
                )
            except OSError as exc:
                raise ConfigError(f"{target}: cannot open the audit log: {exc.strerror}") from exc

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` as one line; raise ``AuditLogError`` when it is not fully written."""
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            try:
                written = os.write(self._fd, line)
                while written < len(line):  # only after a signal or a full disk; retry the rest
                    written += os.write(self._fd, line[written:])
            except OSError as exc:
                raise AuditLogError(exc.errno, f"audit log {self.target}: {exc.strerror}") from exc

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class NoAuditLog:
    """Used when ``audit_log`` is not configured."""

    target = None

    def write(self, record: Mapping[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None


def open_audit_log(target: str | None) -> AuditLog | NoAuditLog:
    return NoAuditLog() if target is None else AuditLog(target)

"""``SqliteRegistry``: verdicts in one SQLite file (WAL mode), one connection per operation.

Every verdict put is kept. The columns beside the envelope (reference, created_ts, outcome, ...)
are an unsigned index: ``reference`` finds a reference's rows, nothing else is relied on. Which
row counts is decided from the signed payloads (``newest``): ``candidates`` returns the rows of a
reference, ``get``/``list`` order them by the ``created_at`` their payloads claim, so an older
verdict stored again, or a row whose ``created_ts`` was raised, does not move ahead of a newer
one. Readers never create the file: a missing, unreadable or corrupt file raises
``RegistryUnavailable``, never an empty answer.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from modelward.engine.verdicts.auditlog.entry import (
    EntrySigner,
    Kind,
    canonical,
    digest_of,
    stored_entry,
)
from modelward.engine.verdicts.registry import RegistryUnavailable
from modelward.engine.verdicts.registry.deployments import Snapshot, parse_snapshot
from modelward.engine.verdicts.registry.newest import by_claimed_time, newest_claimed
from modelward.engine.verdicts.signed import SignedVerdict, VerdictError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 10.0
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL,
    digest TEXT,
    created_at TEXT NOT NULL,
    created_ts REAL NOT NULL,
    outcome TEXT NOT NULL,
    key_id TEXT NOT NULL,
    envelope TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_by_reference ON verdicts (reference, created_ts, id);
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,
    envelope TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (id INTEGER PRIMARY KEY CHECK (id = 1), snapshot TEXT);
PRAGMA user_version = {SCHEMA_VERSION};
"""
INSERT = (
    "INSERT INTO verdicts (reference, digest, created_at, created_ts, outcome, key_id, envelope) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
#: Rows of one reference a lookup considers: the most recently stored ones (bounded work).
MAX_CANDIDATES = 256
SELECT_CANDIDATES = (
    "SELECT reference, digest, created_at, outcome, key_id, envelope FROM verdicts "
    "WHERE reference = ? ORDER BY id DESC LIMIT ?"
)
SELECT_ALL = (
    "SELECT reference, digest, created_at, outcome, key_id, envelope FROM verdicts "
    "ORDER BY reference, id DESC"
)

SELECT_HEAD = "SELECT seq, envelope FROM audit_log ORDER BY seq DESC LIMIT 1"
INSERT_ENTRY = "INSERT INTO audit_log (seq, envelope) VALUES (?, ?)"

Mode = Literal["ro", "rw", "rwc"]


class SqliteRegistry:
    """A ``Registry`` in the SQLite file at ``path`` (created by the first ``put``)."""

    def __init__(
        self,
        path: Path,
        *,
        timeout: float = BUSY_TIMEOUT_SECONDS,
        audit: EntrySigner | None = None,
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.audit = audit  # when set, every put appends to the audit log in its transaction

    def __repr__(self) -> str:
        return f"SqliteRegistry({str(self.path)!r})"

    def put(self, signed: SignedVerdict) -> None:
        self.put_many([signed])

    def put_many(self, verdicts: Sequence[SignedVerdict]) -> None:
        """Store ``verdicts`` in one transaction: all of them, or none when it fails; with
        ``audit``, their log entries are appended in the same transaction."""
        rows = [_row(signed) for signed in verdicts]
        self._write(rows, [(signed, None) for signed in verdicts])

    def record(self, events: Sequence[tuple[SignedVerdict, Kind | None]]) -> None:
        """Append log entries only (e.g. ``expiry``); needs ``audit``."""
        if self.audit is None:
            raise RegistryUnavailable(f"{self}: no signing key to append to the audit log")
        self._write([], list(events))

    def log_entries(self) -> list[tuple[int, dict[str, Any]]]:
        """The audit log as stored: (seq, entry envelope), by seq; empty without a log."""
        with self._connection("rw") as conn:
            try:
                rows = conn.execute("SELECT seq, envelope FROM audit_log ORDER BY seq").fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise
        return [(int(seq), stored_entry(text)) for seq, text in rows]

    def record_deployments(self, snapshot: Snapshot) -> None:
        """Replace the stored inventory snapshot (``deployments``)."""
        with self._connection("rwc") as conn:
            conn.executescript(SCHEMA)
            conn.execute(
                "INSERT OR REPLACE INTO deployments (id, snapshot) VALUES (1, ?)",
                (snapshot.to_json(),),
            )

    def deployments(self) -> Snapshot | None:
        """The stored inventory snapshot; None when none was recorded."""
        with self._connection("rw") as conn:
            try:
                row = conn.execute("SELECT snapshot FROM deployments WHERE id = 1").fetchone()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return None
                raise
        return None if row is None else parse_snapshot(row[0])

    def _write(
        self, rows: list[tuple[Any, ...]], events: list[tuple[SignedVerdict, Kind | None]]
    ) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unavailable(exc.strerror or str(exc)) from None
        with self._connection("rwc") as conn:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            with conn:  # one transaction (the connection is in autocommit mode otherwise)
                # IMMEDIATE: the write lock is taken before the log head is read, so two
                # writers can never both extend the same head (no forked chain).
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(INSERT, rows)
                if self.audit is not None and events:
                    conn.executemany(INSERT_ENTRY, self._entries(conn, events))

    def _entries(
        self, conn: sqlite3.Connection, events: list[tuple[SignedVerdict, Kind | None]]
    ) -> list[tuple[int, str]]:
        assert self.audit is not None
        last = conn.execute(SELECT_HEAD).fetchone()
        head = None if last is None else (int(last[0]), digest_of(stored_entry(last[1])))
        return [(seq, canonical(envelope).decode())
                for seq, envelope in self.audit.chain(head, events)]  # fmt: skip

    def get(self, reference: str) -> SignedVerdict | None:
        """The row whose payload claims the newest ``created_at`` (unverified; for display)."""
        return newest_claimed(self.candidates(reference))

    def candidates(self, reference: str) -> list[SignedVerdict]:
        """The ``MAX_CANDIDATES`` most recently stored rows of ``reference`` (unverified)."""
        with self._connection("rw") as conn:
            rows = conn.execute(SELECT_CANDIDATES, (reference, MAX_CANDIDATES)).fetchall()
        return [self._signed(row) for row in rows]

    def history(self, reference: str) -> list[SignedVerdict]:
        """The candidates of ``reference``, newest claimed ``created_at`` first."""
        return by_claimed_time(self.candidates(reference))

    def list(self) -> list[SignedVerdict]:
        """Per reference, the row ``get`` returns; ordered by reference."""
        with self._connection("rw") as conn:
            rows = conn.execute(SELECT_ALL).fetchall()
        by_reference: dict[str, list[SignedVerdict]] = {}
        for row in rows:
            by_reference.setdefault(row[0], []).append(self._signed(row))
        newest = (newest_claimed(group) for group in by_reference.values())
        return sorted((s for s in newest if s is not None), key=lambda s: s.reference)

    def delete(self, reference: str) -> int:
        with self._connection("rw") as conn:
            cursor = conn.execute("DELETE FROM verdicts WHERE reference = ?", (reference,))
            return int(cursor.rowcount)

    @contextlib.contextmanager
    def _connection(self, mode: Mode) -> Iterator[sqlite3.Connection]:
        """One connection for one operation; every SQLite error becomes RegistryUnavailable."""
        if mode != "rwc" and not self.path.is_file():
            reason = "no such file" if not self.path.exists() else "not a regular file"
            raise self._unavailable(f"{reason}; publish a verdict first (modelward vet --publish)")
        uri = f"file:{quote(str(self.path), safe='/')}?mode={mode}"
        try:
            conn = sqlite3.connect(
                uri, uri=True, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._unavailable(str(exc)) from None
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                reason = "not a modelward verdict registry (no verdicts table)"
                raise self._unavailable(reason) from None
            raise self._unavailable(str(exc)) from None
        except sqlite3.Error as exc:
            raise self._unavailable(str(exc)) from None
        finally:
            conn.close()

    def _signed(self, row: tuple[Any, ...]) -> SignedVerdict:
        reference, digest, created_at, outcome, key_id, envelope = row
        try:
            decoded = json.loads(envelope)
        except (TypeError, ValueError) as exc:
            reason = f"the stored envelope of {reference!r} is corrupt: {exc}"
            raise self._unavailable(reason) from None
        if not isinstance(decoded, dict):
            raise self._unavailable(f"the stored envelope of {reference!r} is not an object")
        return SignedVerdict(decoded, reference, digest, created_at, outcome, key_id)

    def _unavailable(self, reason: str) -> RegistryUnavailable:
        return RegistryUnavailable(f"verdict registry {self.path}: {reason}")


def _row(signed: SignedVerdict) -> tuple[Any, ...]:
    envelope = json.dumps(signed.envelope, sort_keys=True)
    created_ts = _timestamp(signed.created_at)
    return (signed.reference, signed.digest, signed.created_at, created_ts, signed.outcome,
            signed.key_id, envelope)  # fmt: skip


def _timestamp(created_at: str) -> float:
    try:
        return datetime.fromisoformat(created_at).timestamp()
    except ValueError:
        raise VerdictError(f"created_at {created_at!r} is not an RFC 3339 time") from None

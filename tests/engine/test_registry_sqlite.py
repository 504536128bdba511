"""SqliteRegistry: round trips, newest-wins, fail-closed reads, and many processes at once."""

from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3
import time
import traceback
from pathlib import Path
from typing import Any, cast

import pytest

from modelward.engine.verdicts.registry import RegistryUnavailable, open_registry
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from modelward.engine.verdicts.signed import VerdictError, VerdictKeys, generate_keypair
from tests.engine.verdict_builders import REFERENCE, signed

OTHER = "s3://bucket/models/other"


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return generate_keypair()


@pytest.fixture
def registry(tmp_path: Path) -> SqliteRegistry:
    return SqliteRegistry(tmp_path / "sub" / "verdicts.db")


def test_round_trip_keeps_the_envelope_verifiable(
    registry: SqliteRegistry, pair: tuple[bytes, bytes]
) -> None:
    original = signed(pair[0], outcome="deny")
    registry.put(original)
    stored = registry.get(REFERENCE)
    assert stored == original
    assert stored is not None and VerdictKeys.from_pems([pair[1]]).check(stored, REFERENCE).trusted
    assert registry.get("hf://org/unknown") is None
    assert registry.list() == [original]


def test_newest_created_at_wins_whatever_the_order_of_puts(
    registry: SqliteRegistry, pair: tuple[bytes, bytes]
) -> None:
    newer = signed(pair[0], outcome="deny", created_at="2026-05-01T00:00:00.5Z")
    older = signed(pair[0], outcome="allow", created_at="2026-05-01T00:00:00Z")
    registry.put(newer)
    registry.put(older)  # storing an older verdict again does not roll the answer back
    assert registry.get(REFERENCE) == newer
    same_time = signed(pair[0], outcome="allow", created_at="2026-05-01T02:00:00+02:00")
    registry.put(same_time)  # the same instant as `older`, written differently
    assert registry.get(REFERENCE) == newer
    latest = signed(pair[0], outcome="allow", created_at="2026-06-01T00:00:00Z")
    registry.put(latest)
    assert registry.get(REFERENCE) == latest
    assert [s.created_at for s in registry.history(REFERENCE)] == [
        latest.created_at, newer.created_at, same_time.created_at, older.created_at,
    ]  # fmt: skip


def test_list_has_the_newest_of_each_reference_and_delete_removes_all(
    registry: SqliteRegistry, pair: tuple[bytes, bytes]
) -> None:
    registry.put(signed(pair[0], created_at="2026-01-01T00:00:00Z"))
    registry.put(signed(pair[0], created_at="2026-02-01T00:00:00Z"))
    registry.put(signed(pair[0], reference=OTHER, created_at="2026-01-15T00:00:00Z"))
    listed = registry.list()
    assert [(s.reference, s.created_at[:7]) for s in listed] == [
        (REFERENCE, "2026-02"), (OTHER, "2026-01"),
    ]  # fmt: skip
    assert registry.delete(REFERENCE) == 2
    assert registry.delete(REFERENCE) == 0
    assert registry.get(REFERENCE) is None
    assert [s.reference for s in registry.list()] == [OTHER]


def test_put_many_stores_a_batch_in_one_transaction(
    registry: SqliteRegistry, pair: tuple[bytes, bytes]
) -> None:
    batch = [signed(pair[0], created_at=f"2026-03-0{day}T00:00:00Z") for day in (1, 2, 3)]
    batch.append(signed(pair[0], reference=OTHER))
    registry.put_many(batch)
    assert registry.history(REFERENCE) == batch[2::-1]
    assert registry.get(OTHER) == batch[3]
    later = signed(pair[0], created_at="2026-04-01T00:00:00Z")
    refused = dataclasses.replace(signed(pair[0]), reference=cast(Any, None))  # NOT NULL
    with pytest.raises(RegistryUnavailable):
        registry.put_many([later, refused])
    assert registry.get(REFERENCE) == batch[2]  # the row before the refused one is not kept


def test_file_is_in_wal_mode(registry: SqliteRegistry, pair: tuple[bytes, bytes]) -> None:
    registry.put(signed(pair[0]))
    with sqlite3.connect(registry.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


def test_missing_file_is_unavailable_and_reads_do_not_create_it(tmp_path: Path) -> None:
    registry = SqliteRegistry(tmp_path / "absent.db")
    for read in (lambda: registry.get(REFERENCE), registry.list, lambda: registry.delete("x")):
        with pytest.raises(RegistryUnavailable, match=r"absent\.db: no such file"):
            read()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "no verdicts table"),
        (b"this is not a database at all\n" * 100, "file is not a database"),
    ],
)
def test_unreadable_content_is_unavailable_never_empty(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    registry = SqliteRegistry(path)
    with pytest.raises(RegistryUnavailable, match=reason) as caught:
        registry.get(REFERENCE)
    assert str(path) in str(caught.value)
    with pytest.raises(RegistryUnavailable, match=reason):
        registry.list()


def test_truncated_database_is_unavailable(
    registry: SqliteRegistry, pair: tuple[bytes, bytes], tmp_path: Path
) -> None:
    for i in range(30):
        registry.put(signed(pair[0], reference=f"{OTHER}-{i}"))
    with sqlite3.connect(registry.path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    broken = tmp_path / "truncated.db"
    broken.write_bytes(registry.path.read_bytes()[: 3 * 4096 + 100])
    with pytest.raises(RegistryUnavailable, match="malformed"):
        SqliteRegistry(broken).list()


def test_another_programs_database_is_not_a_registry(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(RegistryUnavailable, match="not a modelward verdict registry"):
        SqliteRegistry(path).get(REFERENCE)


def test_a_directory_is_not_a_registry(tmp_path: Path, pair: tuple[bytes, bytes]) -> None:
    with pytest.raises(RegistryUnavailable, match="not a regular file"):
        SqliteRegistry(tmp_path).get(REFERENCE)
    with pytest.raises(RegistryUnavailable):
        SqliteRegistry(tmp_path).put(signed(pair[0]))


def test_corrupt_stored_envelope_is_unavailable(
    registry: SqliteRegistry, pair: tuple[bytes, bytes]
) -> None:
    registry.put(signed(pair[0]))
    with sqlite3.connect(registry.path) as conn:
        conn.execute("UPDATE verdicts SET envelope = '{broken'")
    with pytest.raises(RegistryUnavailable, match="corrupt"):
        registry.get(REFERENCE)


def test_bad_created_at_is_refused(registry: SqliteRegistry, pair: tuple[bytes, bytes]) -> None:
    with pytest.raises(VerdictError, match="RFC 3339"):
        registry.put(signed(pair[0], created_at="yesterday"))


def test_open_registry_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = open_registry(f"sqlite:///{tmp_path}/a.db")  # sqlite:////abs (SQLAlchemy)
    assert isinstance(absolute, SqliteRegistry) and absolute.path == tmp_path / "a.db"
    plain = open_registry(str(tmp_path / "b.db"))
    assert isinstance(plain, SqliteRegistry) and plain.path == tmp_path / "b.db"
    monkeypatch.setenv("HOME", str(tmp_path))
    home = open_registry("~/c.db")
    assert isinstance(home, SqliteRegistry) and home.path == tmp_path / "c.db"
    monkeypatch.chdir(tmp_path)
    relative = open_registry("sqlite:///sub/rel.db")
    assert isinstance(relative, SqliteRegistry) and relative.path == Path("sub/rel.db")
    for bad, reason in [
        ("postgres://db/x", "unsupported registry URL"),
        ("sqlite://", "names no file"),
        ("sqlite:///", "names no file"),
        ("sqlite:///:memory:", "names no file"),
        ("sqlite://rel.db", "has no host part"),
        ("sqlite:///v.db?mode=ro", "parameters"),
        ("kubernetes://Not_A_Namespace", "not a namespace name"),
    ]:
        with pytest.raises(RegistryUnavailable, match=reason):
            open_registry(bad)


def test_kubernetes_url_without_credentials_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(RegistryUnavailable, match="no Kubernetes credentials"):
        open_registry("kubernetes://modelward")


# --- many processes ----------------------------------------------------------------------------

WRITES = 120
READERS = 4


def _writer(path: str, private_pem: bytes, start: multiprocessing.synchronize.Event) -> None:
    registry = SqliteRegistry(Path(path))
    start.wait()
    for i in range(WRITES):
        created = f"2026-03-01T00:{i // 60:02d}:{i % 60:02d}Z"
        registry.put(signed(private_pem, reference=f"{OTHER}-{i % 7}", created_at=created))


def _reader(
    path: str,
    start: multiprocessing.synchronize.Event,
    done: multiprocessing.synchronize.Event,
    errors: multiprocessing.Queue[str],
) -> None:
    registry = SqliteRegistry(Path(path), timeout=30)
    start.wait()
    rounds = 0
    try:
        while not done.is_set():
            for i in range(7):
                found = registry.get(f"{OTHER}-{i}")
                assert found is None or found.reference == f"{OTHER}-{i}"
            assert len(registry.list()) <= 8  # seven references and the seed
            rounds += 1
    except BaseException:
        errors.put(traceback.format_exc())
    errors.put(f"rounds {rounds}")


def test_readers_and_a_writer_in_separate_processes(
    tmp_path: Path, pair: tuple[bytes, bytes]
) -> None:
    path = tmp_path / "shared.db"
    SqliteRegistry(path).put(signed(pair[0], reference="seed"))
    context = multiprocessing.get_context("spawn")
    start, done = context.Event(), context.Event()
    errors: multiprocessing.Queue[str] = context.Queue()
    readers = [
        context.Process(target=_reader, args=(str(path), start, done, errors))
        for _ in range(READERS)
    ]
    writer = context.Process(target=_writer, args=(str(path), pair[0], start))
    for process in [*readers, writer]:
        process.start()
    time.sleep(0.5)  # let every process import before they all start together
    start.set()
    writer.join(120)
    done.set()
    for process in readers:
        process.join(60)
    reports = [errors.get(timeout=10) for _ in range(READERS)]
    while not errors.empty():
        reports.append(errors.get())
    assert [r for r in reports if not r.startswith("rounds ")] == []
    assert all(int(r.split()[1]) > 0 for r in reports)  # every reader read while writes went on
    assert writer.exitcode == 0 and [p.exitcode for p in readers] == [0] * READERS

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM verdicts").fetchone()[0] == WRITES + 1
    registry = SqliteRegistry(path)
    keys = VerdictKeys.from_pems([pair[1]])
    stored = [v for i in range(7) for v in registry.history(f"{OTHER}-{i}")]
    assert len(stored) == WRITES
    assert all(keys.verify(v, v.reference).trusted for v in stored)  # intact, if old
    expected = {f"2026-03-01T00:{i // 60:02d}:{i % 60:02d}Z" for i in range(WRITES)}
    assert {v.created_at for v in stored} == expected

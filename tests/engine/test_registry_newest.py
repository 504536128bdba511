"""Which stored verdict counts: the newest by signed time, whatever the SQLite index says."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelward.engine.verdicts.registry import sqlite as sqlite_module
from modelward.engine.verdicts.registry.newest import (
    NewestVerdictLookup,
    claimed_created_at,
    newest_claimed,
    newest_verified,
)
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from modelward.engine.verdicts.signed import VerdictKeys, generate_keypair
from tests.engine.rollback_builders import (
    HOUR,
    history,
    insert_row,
    make_signed,
    now,
    reorder_columns,
)
from tests.engine.verdict_builders import REFERENCE, flip_payload_byte

OTHER = "s3://bucket/models/other"


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return generate_keypair()


@pytest.fixture
def keys(pair: tuple[bytes, bytes]) -> VerdictKeys:
    return VerdictKeys.from_pems([pair[1]])


@pytest.fixture
def registry(tmp_path: Path) -> SqliteRegistry:
    return SqliteRegistry(tmp_path / "verdicts.db")


def test_edited_columns_change_neither_lookup_nor_listing(
    registry: SqliteRegistry, pair: tuple[bytes, bytes], keys: VerdictKeys
) -> None:
    story = history(pair[0], REFERENCE)
    registry.put(story.deny)
    registry.put(story.allow)  # stored last, but signed first
    reorder_columns(registry.path, story.allow, story.deny)
    chosen = newest_verified(registry.candidates(REFERENCE), REFERENCE, keys)
    shown = registry.get(REFERENCE)
    assert chosen is not None and shown is not None
    assert chosen.envelope == shown.envelope == story.deny.envelope
    [listed] = registry.list()
    assert listed.envelope == story.deny.envelope and listed.outcome == "allow"  # index: unsigned
    assert [s.envelope for s in registry.history(REFERENCE)] == [
        story.deny.envelope, story.allow.envelope,
    ]  # fmt: skip
    lookup = NewestVerdictLookup(registry.candidates, keys)
    found = lookup(REFERENCE)
    check = keys.check(found, REFERENCE) if found is not None else None
    assert check is not None and check.verdict is not None and check.verdict.outcome == "deny"


def test_verdicts_that_do_not_verify_neither_win_nor_hide_a_genuine_one(
    registry: SqliteRegistry, pair: tuple[bytes, bytes], keys: VerdictKeys
) -> None:
    genuine = make_signed(pair[0], REFERENCE, "allow", now() - HOUR)
    forged = make_signed(generate_keypair()[0], REFERENCE, "deny", now())
    replayed = make_signed(pair[0], OTHER, "allow", now())
    registry.put(genuine)
    registry.put(forged)
    insert_row(registry.path, REFERENCE, replayed)
    insert_row(registry.path, REFERENCE, flip_payload_byte(genuine))
    candidates = registry.candidates(REFERENCE)
    assert len(candidates) == 4
    assert newest_verified(candidates, REFERENCE, keys) == genuine
    claimed = newest_claimed(candidates)  # for display only: claims are free
    assert claimed is not None and claimed.envelope in (forged.envelope, replayed.envelope)
    only_bad = [c for c in candidates if c.envelope != genuine.envelope]
    first = newest_verified(only_bad, REFERENCE, keys)
    assert first is not None and not keys.check(first, REFERENCE).trusted  # it says why
    assert newest_verified([], REFERENCE, keys) is None


def test_at_the_same_signed_instant_a_deny_wins(
    pair: tuple[bytes, bytes], keys: VerdictKeys
) -> None:
    moment = now() - HOUR
    allow = make_signed(pair[0], REFERENCE, "allow", moment)
    deny = make_signed(pair[0], REFERENCE, "deny", moment)
    assert newest_verified([allow, deny], REFERENCE, keys) == deny
    assert newest_verified([deny, allow], REFERENCE, keys) == deny


def test_claimed_time_is_read_from_the_payload(pair: tuple[bytes, bytes]) -> None:
    verdict = make_signed(pair[0], REFERENCE, "allow", now())
    assert claimed_created_at(verdict) is not None
    broken = type(verdict)(
        {"payload": "%%%"}, REFERENCE, None, "2100-01-01T00:00:00Z", "allow", "k"
    )
    assert claimed_created_at(broken) is None


def test_candidates_are_bounded_to_the_most_recently_stored(
    registry: SqliteRegistry, pair: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "MAX_CANDIDATES", 3)
    verdicts = [make_signed(pair[0], REFERENCE, "allow", now() - i * HOUR) for i in range(5)]
    for verdict in verdicts:
        registry.put(verdict)
    assert registry.candidates(REFERENCE) == verdicts[:1:-1]  # the last three stored, newest first

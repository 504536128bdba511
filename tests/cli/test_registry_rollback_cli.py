"""``registry show --key`` exits 0 only when admission would admit; ``vet --max-age``.

Rollback attempts on a SQLite registry (tests/engine/rollback_builders.py): the command has no
memory of verdicts it never saw, so a deleted newest verdict is caught once the older verdict's
maximum age has passed (the webhook's high-water mark catches it earlier; see
tests/admission/test_verdict_rollback.py).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.verdicts.freshness import parse_time
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from modelward.engine.verdicts.signed import generate_keypair
from tests.cli.test_verdicts_cli import REAL_MODEL, mw
from tests.engine.rollback_builders import (
    ATTACKS,
    HOUR,
    History,
    history,
    make_signed,
    now,
    sqlite_attack,
)

REFERENCE = "hf://acme/model@" + "a" * 40
OTHER = "hf://acme/other@" + "b" * 40


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    private, public = generate_keypair()
    path = tmp_path_factory.mktemp("keys") / "verdict.pub"
    path.write_bytes(public)
    return private, path


def show(db: Path, key: Path | None, *extra: str, reference: str = REFERENCE) -> Any:
    args = ["registry", "show", reference, "--registry", str(db), *extra]
    return mw(*args, *(["--key", str(key)] if key else []))


def stored(db: Path, private: bytes, **options: Any) -> History:
    story = history(private, REFERENCE, **options)
    registry = SqliteRegistry(db)
    registry.put(story.allow)
    registry.put(story.deny)
    return story


def test_only_a_trusted_fresh_allow_exits_zero(tmp_path: Path, pair: tuple[bytes, Path]) -> None:
    db = tmp_path / "v.db"
    SqliteRegistry(db).put(history(pair[0], REFERENCE, allow_expires=now() + HOUR).allow)
    proc = show(db, pair[1])
    assert proc.returncode == 0, proc.stderr
    assert "admission  ADMIT" in proc.stdout and "signature  verified" in proc.stdout
    unchecked = show(db, None)  # no key: shown, marked unverified, nothing claimed
    assert unchecked.returncode == 0
    assert "signature  NOT CHECKED: every field above is unverified" in unchecked.stdout
    assert "admission  " not in unchecked.stdout


@pytest.mark.parametrize("attack", ATTACKS)
def test_show_exits_non_zero_on_every_rollback(
    tmp_path: Path, pair: tuple[bytes, Path], attack: str
) -> None:
    db = tmp_path / "v.db"
    # a short maximum age, already elapsed: what is left after deleting the deny has expired
    story = stored(db, pair[0], allow_expires=now() - timedelta(seconds=1))
    other = make_signed(pair[0], OTHER, "allow", now())
    sqlite_attack(db, attack, story, other)
    proc = show(db, pair[1], "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["check"]["admit"] is False
    expected = "expired" if attack == "delete-newest" else "deny"
    assert shown["status"] == expected and f"not admitted ({expected})" in proc.stderr
    counted = story.allow if attack == "delete-newest" else story.deny
    assert shown["created_at"] == counted.created_at  # the signed time, not the index's


def test_statuses_untrusted_and_legacy_expiry(tmp_path: Path, pair: tuple[bytes, Path]) -> None:
    db = tmp_path / "v.db"
    registry = SqliteRegistry(db)
    registry.put(make_signed(pair[0], OTHER, "allow", now()))
    sqlite_attack(
        db, "replay", history(pair[0], REFERENCE), make_signed(pair[0], OTHER, "allow", now())
    )
    replayed = show(db, pair[1])
    assert replayed.returncode == 1
    assert f"not admitted (untrusted): the verdict was signed for '{OTHER}'" in replayed.stderr
    assert f"stored as  {REFERENCE}" in replayed.stdout  # the payload names another model

    old = "hf://acme/old@" + "c" * 40
    registry.put(make_signed(pair[0], old, "allow", now() - timedelta(days=31)))  # no expires_at
    legacy = show(db, pair[1], reference=old)
    assert legacy.returncode == 1
    assert "not admitted (expired)" in legacy.stderr and "default maximum age 30d" in legacy.stderr
    listed = json.loads(mw("registry", "list", "--registry", str(db), "--key", str(pair[1]),
                           "--format", "json").stdout)  # fmt: skip
    assert {(v["reference"], v["status"]) for v in listed} == {
        (OTHER, "admit"), (OTHER, "untrusted"), (old, "expired"),
    }  # fmt: skip


def test_list_and_show_print_the_payload_not_the_index(
    tmp_path: Path, pair: tuple[bytes, Path]
) -> None:
    db = tmp_path / "v.db"
    story = stored(db, pair[0], allow_expires=now() + HOUR)
    sqlite_attack(db, "reorder", story, story.allow)  # the index now says: allow, year 2100
    for key in (None, pair[1]):
        shown = json.loads(show(db, key, "--format", "json").stdout)
        assert (shown["outcome"], shown["created_at"]) == ("deny", story.deny.created_at)
        table = mw("registry", "list", "--registry", str(db),
                   *(["--key", str(key)] if key else [])).stdout  # fmt: skip
        assert "2100" not in table and " deny " in table


def test_vet_signs_the_maximum_age(tmp_path: Path, pair: tuple[bytes, Path]) -> None:
    keys = tmp_path / "keys"
    assert mw("keys", "generate", "--out-dir", str(keys)).returncode == 0
    db, private = tmp_path / "v.db", str(keys / "verdict.key")
    common = ("--signing-key", private, "--publish", "--registry", str(db), "--format", "json")
    bad = mw("vet", str(REAL_MODEL), "--max-age", "forever", *common)
    assert bad.returncode == 2 and "--expires: 'forever' is neither a maximum age" in bad.stderr

    vet = mw("vet", str(REAL_MODEL), "--max-age", "36h", *common)
    assert vet.returncode == 0, vet.stderr
    assert "admission trusts it until" in vet.stderr
    shown = json.loads(show(db, keys / "verdict.pub", "--format", "json",
                            reference=str(REAL_MODEL)).stdout)  # fmt: skip
    created, expires = parse_time(shown["created_at"]), parse_time(shown["expires_at"])
    assert created is not None and expires is not None and expires - created == timedelta(hours=36)
    assert shown["status"] == "admit" and shown["verified"] is True

    day = (datetime.now(UTC) + timedelta(days=10)).date()
    vet = mw("vet", str(REAL_MODEL), "--expires", day.isoformat(), *common)
    assert vet.returncode == 0, vet.stderr
    shown = json.loads(show(db, keys / "verdict.pub", "--format", "json",
                            reference=str(REAL_MODEL)).stdout)  # fmt: skip
    end_of_day = datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=1)
    assert parse_time(shown["expires_at"]) == end_of_day and shown["status"] == "admit"

    data = tmp_path / "config.yaml"
    data.write_text("verdict_max_age: 1s\n")  # the policy configuration's default
    vet = mw("vet", str(REAL_MODEL), "--data", str(data), *common)
    assert vet.returncode == 0, vet.stderr
    time.sleep(1.1)
    expired = show(db, keys / "verdict.pub", reference=str(REAL_MODEL))
    assert expired.returncode == 1 and "not admitted (expired)" in expired.stderr

"""Freshness of verdicts: signed expiry, the default maximum age, per-reference high-water marks."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from modelward.engine.verdicts.freshness import (
    DEFAULT_MAX_AGE,
    Freshness,
    HighWaterMarks,
    expiry_after,
    format_max_age,
    format_time,
    parse_max_age,
    parse_time,
)
from modelward.engine.verdicts.signed import Verdict, VerdictKeys, generate_keypair, sign_verdict
from tests.engine.verdict_builders import REFERENCE, make_verdict, signed

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def at(moment: datetime) -> str:
    return format_time(moment)


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return generate_keypair()


def keys_at(pair: tuple[bytes, bytes], now: datetime = NOW, **options: object) -> VerdictKeys:
    freshness = Freshness(clock=lambda: now, **options)  # type: ignore[arg-type]
    return VerdictKeys.from_pems([pair[1]], freshness=freshness)


# --- durations and times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("90m", timedelta(minutes=90)),
     ("45s", timedelta(seconds=45)), ("2w", timedelta(weeks=2)), (3600, timedelta(hours=1))],
)  # fmt: skip
def test_max_ages_are_parsed(text: str | int, expected: timedelta) -> None:
    assert parse_max_age(text) == expected


@pytest.mark.parametrize("text", ["", "0d", "30", "1y", "-5d", "3661d", "30 days", "1d12h", True])
def test_bad_max_ages_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="maximum age"):
        parse_max_age(text)  # type: ignore[arg-type]


def test_times_need_an_offset() -> None:
    assert parse_time("2026-06-01T12:00:00Z") == NOW
    assert parse_time("2026-06-01T14:00:00+02:00") == NOW
    assert parse_time("2026-06-01T12:00:00") is None  # local time: ambiguous
    assert parse_time("yesterday") is None and parse_time(None) is None
    assert expiry_after("2026-06-01T12:00:00Z", timedelta(days=1)) == "2026-06-02T12:00:00.000000Z"
    assert [format_max_age(parse_max_age(t)) for t in ("30d", "36h", "90m", "61s", "2w")] == [
        "30d", "36h", "90m", "61s", "14d",
    ]  # fmt: skip


# --- the payload ---------------------------------------------------------------------------------


def test_payload_without_expiry_is_the_older_format_and_still_verifies(
    pair: tuple[bytes, bytes],
) -> None:
    old_style = make_verdict()
    assert b"expires_at" not in old_style.payload()  # byte for byte what older versions signed
    document = json.loads(old_style.payload())
    assert Verdict.model_validate(document) == old_style
    with_expiry = make_verdict(expires_at=at(datetime.now(UTC) + timedelta(days=1)))
    assert json.loads(with_expiry.payload())["expires_at"] == with_expiry.expires_at
    keys = VerdictKeys.from_pems([pair[1]])
    assert keys.check(sign_verdict(old_style, pair[0]), REFERENCE).trusted
    assert keys.check(sign_verdict(with_expiry, pair[0]), REFERENCE).trusted


def test_expires_at_is_covered_by_the_signature(pair: tuple[bytes, bytes]) -> None:
    """Extending the expiry in the payload breaks the signature."""
    soon = signed(
        pair[0], created_at=at(NOW - timedelta(days=2)), expires_at=at(NOW - timedelta(1))
    )
    envelope = dict(soon.envelope)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["expires_at"] = at(NOW + timedelta(days=365))
    envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    forged = type(soon)(envelope, soon.reference, None, soon.created_at, "allow", soon.key_id)
    check = keys_at(pair).check(forged, REFERENCE)
    assert not check.trusted and check.reason.startswith("bad signature")


# --- expiry --------------------------------------------------------------------------------------


def test_signed_expiry_decides(pair: tuple[bytes, bytes]) -> None:
    keys = keys_at(pair)
    fresh = signed(
        pair[0], created_at=at(NOW - timedelta(days=90)), expires_at=at(NOW + timedelta(1))
    )
    assert keys.check(fresh, REFERENCE).trusted  # older than the default, but signed for longer
    gone = signed(pair[0], created_at=at(NOW - timedelta(hours=2)), expires_at=at(NOW))
    check = keys.check(gone, REFERENCE)
    assert not check.trusted and check.verdict is None
    assert check.reason.startswith("expired: the verdict expired at 2026-06-01T12:00:00")
    assert keys.verify(gone, REFERENCE).trusted  # the signature itself is fine


def test_verdicts_without_expiry_get_the_default_max_age(pair: tuple[bytes, bytes]) -> None:
    inside = signed(pair[0], created_at=at(NOW - DEFAULT_MAX_AGE + timedelta(seconds=1)))
    outside = signed(pair[0], created_at=at(NOW - DEFAULT_MAX_AGE))
    assert keys_at(pair).check(inside, REFERENCE).trusted
    check = keys_at(pair).check(outside, REFERENCE)
    assert not check.trusted and "the default maximum age 30d" in check.reason
    short = keys_at(pair, default_max_age=timedelta(hours=1))
    assert not short.check(inside, REFERENCE).trusted


def test_unreadable_signed_times_are_untrusted(pair: tuple[bytes, bytes]) -> None:
    keys = keys_at(pair)
    for fields in ({"created_at": "yesterday"}, {"expires_at": "never"}):
        check = keys.check(signed(pair[0], **fields), REFERENCE)
        assert not check.trusted and "is not an RFC 3339 time" in check.reason


# --- high-water marks ----------------------------------------------------------------------------


def test_an_older_verdict_is_superseded_once_a_newer_one_was_seen(
    pair: tuple[bytes, bytes],
) -> None:
    keys = keys_at(pair, marks=HighWaterMarks())
    older = signed(pair[0], outcome="allow", created_at=at(NOW - timedelta(hours=2)))
    newer = signed(pair[0], outcome="deny", created_at=at(NOW - timedelta(hours=1)))
    assert keys.check(older, REFERENCE).trusted  # nothing newer seen yet
    assert keys.check(newer, REFERENCE).trusted
    check = keys.check(older, REFERENCE)
    assert not check.trusted and check.reason.startswith("superseded: a newer verdict")
    assert keys.check(newer, REFERENCE).trusted  # the newest stays trusted
    other = signed(pair[0], reference="hf://org/other@" + "1" * 40, created_at=older.created_at)
    assert keys.check(other, other.reference).trusted  # marks are per reference


def test_marks_rise_only_for_verdicts_that_verify(pair: tuple[bytes, bytes]) -> None:
    marks = HighWaterMarks()
    keys = keys_at(pair, marks=marks)
    attacker = generate_keypair()[0]
    forged = signed(attacker, outcome="deny", created_at=at(NOW))
    keys.observe(forged)
    assert not keys.check(forged, REFERENCE).trusted
    assert marks.get(REFERENCE) is None  # a forged "newer" verdict cannot lock a model out
    genuine = signed(pair[0], created_at=at(NOW - timedelta(hours=1)))
    assert keys.check(genuine, REFERENCE).trusted
    newer = signed(pair[0], outcome="deny", created_at=at(NOW - timedelta(minutes=1)))
    keys.observe(newer)  # e.g. delivered by a watch, never looked up
    assert marks.get(REFERENCE) == NOW - timedelta(minutes=1)
    assert keys.check(genuine, REFERENCE).reason.startswith("superseded")


def test_expired_verdicts_still_raise_the_mark(pair: tuple[bytes, bytes]) -> None:
    keys = keys_at(pair, marks=HighWaterMarks())
    old = signed(pair[0], created_at=at(NOW - timedelta(days=3)), expires_at=at(NOW + timedelta(1)))
    newest = signed(pair[0], created_at=at(NOW - timedelta(days=2)), expires_at=at(NOW))
    assert keys.check(newest, REFERENCE).reason.startswith("expired")
    assert keys.check(old, REFERENCE).reason.startswith("superseded")


def test_marks_are_a_bounded_lru() -> None:
    marks = HighWaterMarks(size=2)
    marks.raise_to("a", NOW)
    marks.raise_to("b", NOW)
    marks.get("a")  # reads do not refresh; raising does
    marks.raise_to("a", NOW - timedelta(1))  # never lowers, but refreshes
    marks.raise_to("c", NOW)
    assert len(marks) == 2 and marks.get("b") is None
    assert marks.get("a") == NOW and marks.get("c") == NOW
    with pytest.raises(ValueError):
        HighWaterMarks(size=0)

"""ModelVetting status transitions and when a Pending request is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modelward.controller import status as st

MOMENT = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def condition(status: dict[str, Any]) -> dict[str, Any]:
    (found,) = status["conditions"]
    assert found["type"] == st.CONDITION
    return dict(found)


def test_time_text_round_trips_and_rejects_garbage() -> None:
    assert st.now_text(MOMENT) == "2025-03-01T12:00:00Z"
    assert st.parse_text("2025-03-01T12:00:00Z") == MOMENT
    for bad in (None, 5, "", "yesterday", "2025-03-01 12:00:00"):
        assert st.parse_text(bad) is None


def test_running_records_the_attempt_and_clears_the_last_one() -> None:
    before = {"nextAttemptAt": "x", "result": "abc", "completedAt": "y", "attempts": 1}
    moved = st.running(before, 2, "mwv-1-2")
    assert (moved["phase"], moved["reason"], moved["attempts"]) == ("Running", "JobCreated", 2)
    assert moved["jobName"] == "mwv-1-2"
    assert st.parse_text(moved["startedAt"]) is not None
    assert not {"nextAttemptAt", "result", "completedAt"} & set(moved)
    assert condition(moved)["status"] == "Unknown"
    assert before["result"] == "abc", "the old status is not changed in place"


def test_publishing_stays_running_and_keeps_the_transition_time() -> None:
    started = st.running({}, 1, "j")
    started["conditions"][0]["lastTransitionTime"] = "2025-01-01T00:00:00Z"
    claim = st.publishing(started, "digest", "deny")
    assert (claim["phase"], claim["reason"], claim["result"]) == ("Running", "Publishing", "digest")
    assert "deny" in claim["message"]
    assert condition(claim)["lastTransitionTime"] == "2025-01-01T00:00:00Z"


def test_succeeded_records_the_verdict() -> None:
    claim = st.publishing(st.running({}, 1, "j"), "digest", "allow")
    claim["conditions"][0]["lastTransitionTime"] = "2025-01-01T00:00:00Z"
    done = st.succeeded(
        claim,
        verdict="mv-1",
        outcome="allow",
        digest="sha256:ab",
        bundle="rev",
        scanner="modelward 0.1.0",
        message="allow verdict mv-1",
    )
    assert (done["phase"], done["reason"], done["outcome"]) == ("Succeeded", "Vetted", "allow")
    assert (done["verdict"], done["digest"], done["observedBundle"]) == ("mv-1", "sha256:ab", "rev")
    assert done["scanner"] == "modelward 0.1.0" and "completedAt" in done
    assert condition(done)["status"] == "True"
    assert condition(done)["lastTransitionTime"] != "2025-01-01T00:00:00Z", "the truth changed"
    no_digest = st.succeeded(
        {}, verdict="v", outcome="deny", digest=None, bundle="b", scanner="s", message="m"
    )
    assert "digest" not in no_digest


def test_failed_drops_any_earlier_outcome() -> None:
    before = {"outcome": "allow", "verdict": "mv-1", "nextAttemptAt": "x", "attempts": 3}
    moved = st.failed(before, "JobFailed", "the Job failed")
    assert (moved["phase"], moved["reason"], moved["attempts"]) == ("Failed", "JobFailed", 3)
    assert not {"outcome", "verdict", "nextAttemptAt"} & set(moved)
    assert condition(moved)["status"] == "False" and "completedAt" in moved


def test_retry_goes_back_to_pending_with_a_time_to_wait_for() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    moved = st.retry({"result": "r", "attempts": 1}, "JobFailed", "the Job failed", 60)
    assert (moved["phase"], moved["reason"], moved["attempts"]) == ("Pending", "JobFailed", 1)
    assert moved["message"] == "the Job failed; retrying in 60s"
    assert "result" not in moved
    next_at = st.parse_text(moved["nextAttemptAt"])
    assert next_at is not None and 59 <= (next_at - now).total_seconds() <= 62
    assert not st.due(moved, now)
    assert st.due(moved, now + timedelta(seconds=62))


def test_requeued_starts_again_from_the_first_attempt_but_keeps_the_verdict() -> None:
    before = {"attempts": 2, "jobName": "j", "verdict": "mv-1", "outcome": "allow", "result": "r"}
    moved = st.requeued(before, "Revet", "vetting again")
    assert (moved["phase"], moved["attempts"], moved["reason"]) == ("Pending", 0, "Revet")
    assert (moved["verdict"], moved["outcome"]) == ("mv-1", "allow")
    assert not {"jobName", "result", "nextAttemptAt"} & set(moved)
    assert st.due(moved, MOMENT)


def test_due() -> None:
    assert st.due({}, MOMENT)
    assert st.due({"nextAttemptAt": "2025-03-01T12:00:00Z"}, MOMENT)
    assert st.due({"nextAttemptAt": "2025-03-01T11:59:59Z"}, MOMENT)
    assert not st.due({"nextAttemptAt": "2025-03-01T12:00:01Z"}, MOMENT)


def test_messages_are_bounded() -> None:
    moved = st.failed({}, "MalformedResult", "x" * 5000)
    assert len(moved["message"]) == 1024 and len(condition(moved)["message"]) == 1024


def test_one_condition_is_kept() -> None:
    status = st.running({}, 1, "j")
    for _ in range(3):
        status = st.retry(st.running(status, 2, "j"), "JobFailed", "m", 1)
    assert len(status["conditions"]) == 1

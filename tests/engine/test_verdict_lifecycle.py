"""Verdict lifecycle in the engine: approval scopes, ``--expires``, signed revocations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelward.engine.verdicts.freshness import Expiry, parse_expiry, parse_time
from modelward.engine.verdicts.keys import load_private_key
from modelward.engine.verdicts.registry.newest import newest_verified
from modelward.engine.verdicts.registry.revoke import revoke
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from modelward.engine.verdicts.scope import (
    Scope,
    ScopeError,
    parse_scope,
    parse_selector,
    scope_input,
    selector_matches,
)
from modelward.engine.verdicts.signed import (
    Verdict,
    VerdictKeys,
    VerdictSigner,
    generate_keypair,
    sign_verdict,
)
from tests.engine.verdict_builders import REFERENCE, make_verdict

TEAM_A = {"team": "a", "modelward.dev/environment": "prod"}


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return generate_keypair()


@pytest.fixture
def signer(pair: tuple[bytes, bytes]) -> VerdictSigner:
    return VerdictSigner(load_private_key(pair[0]))


@pytest.fixture
def keys(pair: tuple[bytes, bytes]) -> VerdictKeys:
    return VerdictKeys.from_pems([pair[1]])


# --- scope --------------------------------------------------------------------------------------


def test_scope_items_parse_into_the_signed_fields() -> None:
    items = ["namespace=team-a", "namespace-selector=team in (a,b),!legacy", "env=prod"]
    scope = parse_scope([*items, "use=chat-support", "use-case=search", "namespace=team-a"])
    assert scope == Scope(
        namespaces=["team-a"],
        namespace_selectors=["team in (a,b),!legacy"],
        environments=["prod"],
        use_cases=["chat-support", "search"],
    )
    assert parse_scope([]) is None


@pytest.mark.parametrize(
    "item",
    ["team-a", "namespace=", "colour=blue", "namespace=Team_A", "namespace-selector=team=(a"],
)
def test_unreadable_scope_items_are_refused(item: str) -> None:
    with pytest.raises(ScopeError):
        parse_scope([item])


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("team=a", TEAM_A, True),
        ("team==a", TEAM_A, True),
        ("team=b", TEAM_A, False),
        ("team!=b", TEAM_A, True),
        ("team!=b", {}, True),
        ("team", TEAM_A, True),
        ("!team", TEAM_A, False),
        ("team in (a, b)", TEAM_A, True),
        ("team notin (a)", TEAM_A, False),
        ("team=a,modelward.dev/environment=prod", TEAM_A, True),
        ("team=a,modelward.dev/environment=dev", TEAM_A, False),
    ],
)
def test_label_selectors_follow_kubernetes(
    selector: str, labels: dict[str, str], matches: bool
) -> None:
    parse_selector(selector)
    assert selector_matches(selector, labels) is matches


def test_namespaces_and_selectors_are_alternatives_and_environments_must_match() -> None:
    scope = parse_scope(["namespace=team-a", "namespace-selector=team=b", "env=prod"])
    assert scope is not None
    assert scope.judge("team-a", {"team": "a"}, "prod") == ""
    assert scope.judge("other", {"team": "b"}, "prod") == ""
    assert "namespace 'other' is not in the approved scope" in scope.judge("other", {}, "prod")
    assert "environment is 'dev'" in scope.judge("team-a", {}, "dev")
    assert "environment is not known" in scope.judge("team-a", {}, None)


def test_unknown_labels_fail_closed_for_selectors() -> None:
    scope = parse_scope(["namespace-selector=team=a"])
    assert scope is not None and scope.judge("team-a", None, None) != ""


def test_use_cases_alone_restrict_nothing() -> None:
    assert scope_input(parse_scope(["use=chat"]), "any", None, None)["in_scope"] is True
    assert scope_input(None, "any", None, None) == {
        "scope": None, "in_scope": True, "scope_reason": ""
    }  # fmt: skip


# --- expiry -------------------------------------------------------------------------------------


def test_expires_takes_a_maximum_age_a_date_or_a_time() -> None:
    assert parse_expiry("36h") == Expiry(age=timedelta(hours=36))
    day = (datetime.now(UTC) + timedelta(days=5)).date()
    until = parse_expiry(day.isoformat()).until
    assert until == datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=1)
    moment = parse_expiry("2030-01-01T10:00:00+02:00")
    assert moment.after("2029-01-01T00:00:00Z") == "2030-01-01T08:00:00.000000Z"


@pytest.mark.parametrize("text", ["forever", "2020-01-01", "2027-02-30", "9999-01-01", "0d"])
def test_expires_refuses_the_past_nonsense_and_the_far_future(text: str) -> None:
    with pytest.raises(ValueError):
        parse_expiry(text)


@pytest.mark.parametrize("text", ["4000d", "0d", " 600w "])
def test_a_duration_out_of_range_says_the_range(text: str) -> None:
    with pytest.raises(ValueError, match="at most 3660d"):
        parse_expiry(text)


# --- revocation ---------------------------------------------------------------------------------


def test_optional_fields_are_signed_only_when_set() -> None:
    plain = make_verdict()
    assert b'"scope"' not in plain.payload() and b'"revocation"' not in plain.payload()
    scoped = plain.model_copy(update={"scope": parse_scope(["namespace=team-a"])})
    assert b'"scope":{"namespaces":["team-a"]' in scoped.payload()
    assert Verdict.model_validate_json(scoped.payload()) == scoped


def test_a_revocation_is_the_newest_verified_statement(
    tmp_path: Path, pair: tuple[bytes, bytes], signer: VerdictSigner, keys: VerdictKeys
) -> None:
    registry = SqliteRegistry(tmp_path / "v.db")
    approval = sign_verdict(make_verdict(), pair[0])
    registry.put(approval)
    revoked = revoke(registry, REFERENCE, reason="backdoor", revoked_by="secops", signer=signer)
    assert revoked.outcome == "revoked"
    chosen = newest_verified(registry.candidates(REFERENCE), REFERENCE, keys)
    assert chosen is not None and chosen.envelope == revoked.envelope
    check = keys.check(chosen, REFERENCE)
    assert check.trusted and check.verdict is not None
    revocation = check.verdict.revocation
    assert revocation is not None and revocation.reason == "backdoor"
    assert revocation.revoked_by == "secops" and revocation.revokes == approval.created_at
    assert check.verdict.digest == approval.digest
    assert check.verdict.decision.outcome == "deny"  # what earlier versions read: fail closed
    expires = parse_time(check.verdict.expires_at)
    assert expires is not None and expires - datetime.now(UTC) > timedelta(days=3000)


def test_a_revocation_follows_a_verdict_signed_slightly_in_the_future(
    tmp_path: Path, pair: tuple[bytes, bytes], signer: VerdictSigner, keys: VerdictKeys
) -> None:
    registry = SqliteRegistry(tmp_path / "v.db")
    ahead = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    registry.put(sign_verdict(make_verdict(created_at=ahead), pair[0]))
    revoked = revoke(registry, REFERENCE, reason="leak", revoked_by="me", signer=signer)
    chosen = newest_verified(registry.candidates(REFERENCE), REFERENCE, keys)
    assert chosen is not None and chosen.envelope == revoked.envelope


def test_revoking_without_any_stored_verdict_creates_the_registry(
    tmp_path: Path, signer: VerdictSigner, keys: VerdictKeys
) -> None:
    registry = SqliteRegistry(tmp_path / "new" / "v.db")
    revoke(registry, REFERENCE, reason="banned", revoked_by="me", signer=signer)
    [stored] = registry.candidates(REFERENCE)
    check = keys.check(stored, REFERENCE)
    assert check.trusted and check.verdict is not None and check.verdict.digest is None


def test_vetting_again_lifts_a_revocation(
    tmp_path: Path, pair: tuple[bytes, bytes], signer: VerdictSigner, keys: VerdictKeys
) -> None:
    registry = SqliteRegistry(tmp_path / "v.db")
    registry.put(sign_verdict(make_verdict(), pair[0]))
    revoke(registry, REFERENCE, reason="false alarm", revoked_by="me", signer=signer)
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    again = sign_verdict(make_verdict(created_at=later), pair[0])
    registry.put(again)
    chosen = newest_verified(registry.candidates(REFERENCE), REFERENCE, keys)
    assert chosen is not None and chosen.envelope == again.envelope

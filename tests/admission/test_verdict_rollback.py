"""No verdict rollback through a SQLite registry: the admission core and its lookup layer.

``Gate`` wires the lookup exactly as ``AdmissionService`` does (``sqlite_lookup`` over the file,
keys with high-water marks), with the clock under the test's control; ``restart`` starts over
with empty marks. Each attack starts from an older signed allow and a newer signed deny.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelward.admission.config import WebhookConfig, load_webhook_config
from modelward.admission.env import build_env, sqlite_lookup, verdict_keys
from modelward.admission.review.core import ReviewResult, review
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from tests.admission.core_helpers import (
    REFERENCE,
    container,
    other_keys,
    pod,
    real_facts,
    review_of,
    vetting_keys,
)
from tests.engine.rollback_builders import (
    ATTACKS,
    HOUR,
    History,
    history,
    make_signed,
    now,
    sqlite_attack,
)

OTHER = "hf://acme/other-model@" + "7" * 40


class Gate:
    """The webhook's view of the registry: it runs until ``restart`` (which forgets the marks)."""

    def __init__(self, config: WebhookConfig, clock: list[datetime]) -> None:
        self.config, self.clock = config, clock
        self.restart()

    def restart(self) -> None:
        keys = verdict_keys(self.config, remember=True)
        keys.freshness = dataclasses.replace(keys.freshness, clock=lambda: self.clock[0])
        self.env, _ = build_env(self.config, lookup=sqlite_lookup(self.config, keys), keys=keys)

    def decide(self) -> ReviewResult:
        return review(review_of(pod(container("vllm", model=REFERENCE))), self.env)


def verdict_of(result: ReviewResult) -> dict[str, Any]:
    [model] = result.audit["models"]
    return {**model["verdict"], "deny": model["deny"]}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, WebhookConfig]:
    (tmp_path / "vetting.pub").write_bytes(vetting_keys()[1])
    settings = {"registry": {"type": "sqlite", "path": "verdicts.db"},
                "verdict_keys": ["vetting.pub"], "kubernetes": {"access": "off"}}  # fmt: skip
    (tmp_path / "webhook.yaml").write_text(yaml.safe_dump(settings))
    return tmp_path / "verdicts.db", load_webhook_config(tmp_path / "webhook.yaml")


def stored_story(path: Path, *, allow_expires: datetime) -> History:
    story = history(vetting_keys()[0], REFERENCE, allow_expires=allow_expires, facts=real_facts())
    registry = SqliteRegistry(path)
    registry.put(story.allow)
    registry.put(story.deny)
    return story


def other_models_allow() -> Any:
    facts = real_facts()
    facts["subject"]["ref"] = OTHER
    return make_signed(vetting_keys()[0], OTHER, "allow", now(), facts=facts)


def test_the_older_allow_alone_is_admitted(setup: tuple[Path, WebhookConfig]) -> None:
    """The baseline the attacks start from: the allow verdict is genuine and admits."""
    path, config = setup
    SqliteRegistry(path).put(history(vetting_keys()[0], REFERENCE, facts=real_facts()).allow)
    result = Gate(config, [now()]).decide()
    assert result.allowed, verdict_of(result)


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_attack_admits_while_the_webhook_runs(
    setup: tuple[Path, WebhookConfig], attack: str
) -> None:
    path, config = setup
    story = stored_story(path, allow_expires=now() + HOUR)
    gate = Gate(config, [now()])
    before = gate.decide()
    assert not before.allowed and verdict_of(before)["deny"] == ["verdict-denied"]

    sqlite_attack(path, attack, story, other_models_allow())
    after = gate.decide()
    seen = verdict_of(after)
    assert not after.allowed, seen
    if attack == "delete-newest":  # only the older allow is left: it is superseded
        assert seen["trusted"] is False and seen["reason"].startswith("superseded: a newer")
        assert seen["deny"] == ["verdict-untrusted"]
    else:  # the deny is still stored and still the newest by signed time
        assert seen["trusted"] is True and seen["deny"] == ["verdict-denied"]


@pytest.mark.parametrize("attack", ["reorder", "reapply-old", "replay"])
def test_attacks_that_leave_the_deny_stored_fail_even_without_memory(
    setup: tuple[Path, WebhookConfig], attack: str
) -> None:
    """A webhook that never saw the deny (just restarted) still picks it by signed time."""
    path, config = setup
    story = stored_story(path, allow_expires=now() + HOUR)
    sqlite_attack(path, attack, story, other_models_allow())
    result = Gate(config, [now()]).decide()
    assert not result.allowed and verdict_of(result)["deny"] == ["verdict-denied"]


def test_after_a_restart_a_deleted_deny_lets_the_allow_in_only_until_it_expires(
    setup: tuple[Path, WebhookConfig],
) -> None:
    """The documented window: no memory survives a restart, the allow's maximum age does."""
    path, config = setup
    clock = [now()]
    story = stored_story(path, allow_expires=clock[0] + timedelta(minutes=5))
    gate = Gate(config, clock)
    assert not gate.decide().allowed
    sqlite_attack(path, "delete-newest", story, other_models_allow())
    assert verdict_of(gate.decide())["reason"].startswith("superseded")

    gate.restart()
    assert gate.decide().allowed  # within the allow's signed maximum age
    clock[0] += timedelta(minutes=5)
    expired = gate.decide()
    assert not expired.allowed
    assert verdict_of(expired)["reason"].startswith("expired: the verdict expired at")


def test_verdicts_without_expiry_get_the_configured_default_max_age(
    setup: tuple[Path, WebhookConfig],
) -> None:
    path, config = setup
    SqliteRegistry(path).put(history(vetting_keys()[0], REFERENCE, facts=real_facts()).allow)
    clock = [now()]  # the allow was signed two hours ago, without expires_at
    assert Gate(config, clock).decide().allowed  # the default is 30 days
    short = config.model_copy(
        update={"verdict_freshness": config.verdict_freshness.model_copy(
            update={"default_max_age": "90m"})}
    )  # fmt: skip
    result = Gate(short, clock).decide()
    assert not result.allowed
    assert "the default maximum age 90m" in verdict_of(result)["reason"]


def test_replayed_verdict_alone_is_untrusted(setup: tuple[Path, WebhookConfig]) -> None:
    path, config = setup
    SqliteRegistry(path).put(other_models_allow())
    sqlite_attack(path, "replay", history(vetting_keys()[0], REFERENCE), other_models_allow())
    result = Gate(config, [now()]).decide()
    assert not result.allowed
    assert f"signed for '{OTHER}'" in verdict_of(result)["reason"]


def test_a_forged_newer_verdict_neither_wins_nor_locks_the_model_out(
    setup: tuple[Path, WebhookConfig],
) -> None:
    """Only verdicts that verify compete and raise marks: a forged deny is just ignored."""
    path, config = setup
    genuine = history(vetting_keys()[0], REFERENCE, facts=real_facts()).allow
    forged = make_signed(other_keys()[0], REFERENCE, "deny", now(), facts=real_facts())
    registry = SqliteRegistry(path)
    registry.put(genuine)
    registry.put(forged)
    gate = Gate(config, [now()])
    assert gate.decide().allowed
    assert gate.decide().allowed

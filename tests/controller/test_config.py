"""The controller configuration: defaults, validation, loading from YAML."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from modelward.controller.config import (
    ControllerConfig,
    ControllerConfigError,
    LeaderElectionConfig,
    load_controller_config,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "controller.yaml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    config = ControllerConfig(signing_key=Path("/keys/verdict.key"))
    assert (config.namespace, config.registry) == ("modelward", "kubernetes://modelward")
    assert config.max_age == timedelta(days=30)
    assert (config.job.active_deadline_seconds, config.job.backoff_limit) == (900, 1)
    assert config.job.resources["limits"]["memory"] == "4Gi"
    queue = config.queue
    assert (queue.max_running, queue.max_running_per_namespace, queue.max_attempts) == (4, 2, 3)
    assert config.revet.enabled and config.revet.max_age_delta == timedelta(days=7)
    assert config.revet.per_minute == 10
    election = config.leader_election
    assert (election.lease_seconds, election.renew_seconds, election.retry_seconds) == (15, 10, 2)
    assert config.metrics_port == 9090


def test_the_signing_key_is_required() -> None:
    with pytest.raises(ValidationError, match="signing_key"):
        ControllerConfig.model_validate({})


@pytest.mark.parametrize(
    ("lease", "renew", "retry"),
    [
        (10, 10, 2),  # lease must exceed renew
        (10, 12, 2),
        (15, 10, 9),  # renew must exceed 1.2 x retry
        (15, 6, 5),  # 6 == 1.2 x 5
    ],
)
def test_leader_election_timings_must_be_ordered(lease: int, renew: int, retry: int) -> None:
    with pytest.raises(ValidationError, match=r"lease_seconds > renew_seconds > 1.2 x retry"):
        LeaderElectionConfig(lease_seconds=lease, renew_seconds=renew, retry_seconds=retry)


def test_leader_election_timings_just_inside_the_rule() -> None:
    election = LeaderElectionConfig(lease_seconds=7, renew_seconds=6, retry_seconds=4)
    assert election.renew_seconds == 6


@pytest.mark.parametrize(
    "overrides",
    [
        {"job": {"active_deadline_seconds": 5}},
        {"job": {"backoff_limit": 11}},
        {"job": {"image_pull_policy": "Sometimes"}},
        {"queue": {"max_running": 0}},
        {"queue": {"max_attempts": 0}},
        {"queue": {"retry_base_seconds": 0}},
        {"revet": {"per_minute": 0}},
        {"revet": {"max_age": "soon"}},
        {"revet": {"max_age": True}},
        {"verdict_max_age": "0s"},
        {"metrics_port": 70000},
        {"resync_seconds": 0},
        {"kubernetes": {"access": "magic"}},
        {"unknown": 1},
        {"job": {"imagee": "typo"}},
    ],
)
def test_invalid_values_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ControllerConfig.model_validate({"signing_key": "k.pem", **overrides})


def test_durations_accept_seconds_as_numbers() -> None:
    config = ControllerConfig.model_validate(
        {"signing_key": "k", "verdict_max_age": 3600, "revet": {"max_age": "12h"}}
    )
    assert config.verdict_max_age == "3600s" and config.max_age == timedelta(hours=1)
    assert config.revet.max_age_delta == timedelta(hours=12)


def test_the_configuration_is_frozen() -> None:
    config = ControllerConfig(signing_key=Path("k"))
    with pytest.raises(ValidationError):
        config.namespace = "other"  # type: ignore[misc]


def test_loading_resolves_relative_paths_from_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "namespace: vetting\n"
        "signing_key: keys/verdict.key\n"
        "policies: /etc/policies\n"
        "data: data.yaml\n"
        "queue: {max_running: 8, max_running_per_namespace: 0}\n"
        "leader_election: {lease_seconds: 30, renew_seconds: 20, retry_seconds: 5}\n",
    )
    config = load_controller_config(path)
    assert config.namespace == "vetting"
    assert config.signing_key == tmp_path / "keys" / "verdict.key"
    assert config.policies == Path("/etc/policies")
    assert config.data == tmp_path / "data.yaml"
    assert (config.queue.max_running, config.queue.max_running_per_namespace) == (8, 0)
    assert config.leader_election.lease_seconds == 30


def test_loading_reports_every_problem_with_its_place(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "signing_key: k\nqueue: {max_running: 0}\n"
        "leader_election: {lease_seconds: 5, renew_seconds: 10}\n",
    )
    with pytest.raises(ControllerConfigError) as caught:
        load_controller_config(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: invalid configuration: ")
    assert "queue.max_running" in text and "leader_election" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "must be a mapping"),
        ("signing_key: [unclosed\n", "controller.yaml"),
        ("namespace: x\n", "signing_key"),
    ],
)
def test_loading_bad_files(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ControllerConfigError, match=expected):
        load_controller_config(write(tmp_path, text))


def test_an_empty_file_lacks_the_signing_key(tmp_path: Path) -> None:
    with pytest.raises(ControllerConfigError, match="signing_key"):
        load_controller_config(write(tmp_path, ""))


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ControllerConfigError, match="cannot read it"):
        load_controller_config(tmp_path / "absent.yaml")


def test_errors_are_the_project_error_type(tmp_path: Path) -> None:
    from modelward.engine.errors import Error

    with pytest.raises(Error) as caught:
        load_controller_config(tmp_path / "absent.yaml")
    assert "absent.yaml" in caught.value.diagnostics()

"""``build_env``: the configured bundle, data, evaluator, keys and registry, and closing them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from modelward.admission.config import load_webhook_config
from modelward.admission.env import build_env
from modelward.admission.review.core import review
from modelward.engine.errors import Error
from modelward.engine.verdicts.registry import open_registry
from tests.admission.core_helpers import (
    REFERENCE,
    container,
    pod,
    review_of,
    signed_verdict,
    vetting_keys,
)
from tests.conftest import tool_binary


def write_config(folder: Path, **extra: object) -> Path:
    (folder / "vetting.pub").write_bytes(vetting_keys()[1])
    open_registry(str(folder / "verdicts.db")).put(signed_verdict())
    settings = {"registry": {"type": "sqlite", "path": "verdicts.db"},
                "verdict_keys": ["vetting.pub"], **extra}  # fmt: skip
    path = folder / "webhook.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def remote_code_review() -> dict[str, object]:
    return review_of(pod(container("vllm", model=REFERENCE, args=["--trust-remote-code"])))


def test_configured_registry_and_keys_trust_the_stored_verdict(tmp_path: Path) -> None:
    env, close = build_env(load_webhook_config(write_config(tmp_path)))
    try:
        result = review(remote_code_review(), env)
    finally:
        close()
    assert result.allowed
    verdict = result.audit["models"][0]["verdict"]
    assert verdict == {"present": True, "trusted": True, "reason": "", "digest": verdict["digest"]}
    assert verdict["digest"].startswith("sha256:")
    assert env.namespace_labels("ml") is None


def test_data_replaces_the_bundles_configuration(tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text("allow_trust_remote_code: false\n")
    env, close = build_env(load_webhook_config(write_config(tmp_path, data="strict.yaml")))
    try:
        result = review(remote_code_review(), env)
    finally:
        close()
    assert not result.allowed
    assert result.audit["models"][0]["deny"] == ["trust-remote-code-denied"]


def test_given_lookup_and_labels_are_used(tmp_path: Path) -> None:
    config = load_webhook_config(write_config(tmp_path))
    dry_run = {"modelward.dev/mode": "dry-run"}
    env, close = build_env(config, lookup=lambda ref: None, namespace_labels=lambda ns: dry_run)
    try:
        result = review(remote_code_review(), env)
    finally:
        close()
    assert result.allowed and result.audit["mode"] == "dry-run" and result.audit["would_deny"]


def test_opa_engine_evaluates_and_close_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{tool_binary('opa').parent}{os.pathsep}{os.environ['PATH']}")
    env, close = build_env(load_webhook_config(write_config(tmp_path, engine="opa")))
    try:
        result = review(remote_code_review(), env)
    finally:
        close()
    assert result.allowed
    assert result.response["response"]["warnings"][0].startswith("trust-remote-code")
    denied = review(review_of(pod(container("vllm", model="hf://acme/m@main"))), env)
    assert denied.audit["models"][0]["deny"] == ["evaluation-error"]  # the server is gone


def test_unreadable_keys_and_bundles_are_errors(tmp_path: Path) -> None:
    config = load_webhook_config(write_config(tmp_path))
    with pytest.raises(Error, match="cannot read the verdict key"):
        build_env(config.model_copy(update={"verdict_keys": [tmp_path / "missing.pub"]}))
    with pytest.raises(Error, match="must be a directory"):
        build_env(config.model_copy(update={"policies": tmp_path / "nowhere"}))

"""Auto-vetting in the admission core: which denied references are listed, and what the answer
says. The core only lists; nothing here creates a resource."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelward.admission.config import AutoVettingConfig, WebhookConfig, load_webhook_config
from modelward.admission.errors import ConfigError
from modelward.admission.review.core import ReviewResult, review
from modelward.admission.review.responses import MAX_WARNING_CHARS
from modelward.admission.review.vetting import VettingRequest
from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.verdicts.registry import RegistryUnavailable, open_registry
from modelward.engine.vetting.resource import vetting_name
from tests.admission.core_helpers import (
    REFERENCE,
    REVISION,
    container,
    deployment,
    make_env,
    other_keys,
    pod,
    review_of,
    signed_verdict,
)
from tests.cli.helpers import run

LABEL = "modelward.dev/auto-vet"
UNVETTED = f"hf://acme/unvetted@{REVISION}"
ENABLED = WebhookConfig(auto_vetting=AutoVettingConfig(enabled=True))
ON = {LABEL: "true"}


def decide(
    obj: dict[str, Any],
    labels: dict[str, str] | None = ON,
    *,
    config: WebhookConfig = ENABLED,
    namespace: str = "ml",
    verdicts: dict[str, Any] | None = None,
    **request: Any,
) -> ReviewResult:
    known = {namespace: labels} if labels is not None else {}
    env = make_env(verdicts, labels=known, config=config)
    return review(review_of(obj, namespace=namespace, **request), env)


def message(result: ReviewResult) -> str:
    return str(result.response["response"]["status"]["message"])


def warnings(result: ReviewResult) -> list[str]:
    return list(result.response["response"].get("warnings", []))


def unvetted_pod(reference: str = UNVETTED) -> dict[str, Any]:
    return pod(container("vllm", model=reference))


def assert_nothing_requested(result: ReviewResult) -> None:
    assert result.vetting == ()
    assert result.audit["vetting_requested"] == []
    assert "vetting requested" not in result.audit["message"]
    assert not any("vetting" in line for line in warnings(result))


def test_a_labelled_namespace_lists_the_unvetted_reference_and_the_deny_says_so() -> None:
    result = decide(unvetted_pod())
    assert not result.allowed
    name = vetting_name(UNVETTED)
    assert result.vetting == (
        VettingRequest("ml", UNVETTED, "needed by Pod ml/server (alice@example.com) at admission"),
    )
    assert result.vetting[0].name == name
    command = f"kubectl get modelvetting -n ml {name} -w"
    assert f"vetting requested: {command}; apply again once it has succeeded." in message(result)
    assert message(result).startswith(f"Pod ml/server is denied: container vllm, model {UNVETTED}")
    assert "model-unvetted" in message(result)
    assert warnings(result) == [f"vetting requested: {command}"]
    assert result.audit["vetting_requested"] == [UNVETTED]


def test_the_canonical_reference_is_requested_however_it_was_written() -> None:
    written = f"hf://acme/unvetted:{REVISION}"  # KServe's spelling
    result = decide(unvetted_pod(written))
    assert [r.reference for r in result.vetting] == [UNVETTED]


@pytest.mark.parametrize("labels", [None, {}, {LABEL: "false"}, {LABEL: "True"}, {"team": "x"}])
def test_without_the_label_set_to_true_nothing_is_requested(labels: dict[str, str] | None) -> None:
    result = decide(unvetted_pod(), labels)
    assert not result.allowed and "model-unvetted" in message(result)
    assert_nothing_requested(result)


def test_disabled_by_default_even_in_a_labelled_namespace() -> None:
    assert WebhookConfig().auto_vetting == AutoVettingConfig(enabled=False)
    result = decide(unvetted_pod(), config=WebhookConfig())
    assert not result.allowed
    assert_nothing_requested(result)


def test_another_label_name_can_be_configured() -> None:
    config = WebhookConfig(
        auto_vetting=AutoVettingConfig(enabled=True, namespace_label="example.com/vet")
    )
    assert decide(unvetted_pod(), ON, config=config).vetting == ()
    listed = decide(unvetted_pod(), {"example.com/vet": "true"}, config=config)
    assert [r.reference for r in listed.vetting] == [UNVETTED]


def test_a_dry_run_request_lists_nothing_and_says_nothing_about_requests() -> None:
    result = decide(unvetted_pod(), dryRun=True)
    assert not result.allowed and "model-unvetted" in message(result)
    assert_nothing_requested(result)


def test_a_reference_vetted_with_deny_is_not_requested() -> None:
    finding = PolicyFinding(id="scan-finding", msg="os.system in model.pkl", severity="critical")
    decision = Decision(outcome="deny", deny=[finding], engine="embedded", bundle_revision="x")
    result = decide(
        unvetted_pod(REFERENCE), verdicts={REFERENCE: signed_verdict(decision=decision)}
    )
    assert not result.allowed and "verdict-denied" in message(result)
    assert_nothing_requested(result)


def test_a_reference_whose_verdict_does_not_verify_is_not_requested() -> None:
    forged = signed_verdict(private_pem=other_keys()[0])
    result = decide(unvetted_pod(REFERENCE), verdicts={REFERENCE: forged})
    assert not result.allowed and "verdict-untrusted" in message(result)
    assert_nothing_requested(result)


@pytest.mark.parametrize(
    ("reference", "denied_by"),
    [
        ("hf://acme/unvetted", "unpinned-reference"),  # a moving reference: vetting cannot pin it
        ("hf://acme/unvetted@main", "unpinned-reference"),
        ("gopher://acme/model", "model-reference-unresolvable"),  # does not parse
    ],
)
def test_unpinned_and_unparseable_references_are_not_requested(
    reference: str, denied_by: str
) -> None:
    result = decide(unvetted_pod(reference))
    assert not result.allowed and denied_by in message(result)
    assert_nothing_requested(result)


def test_a_registry_that_did_not_answer_requests_nothing() -> None:
    def unavailable(reference: str) -> None:
        raise RegistryUnavailable("verdict cache not synced yet")

    env = make_env(labels={"ml": ON}, config=ENABLED, lookup=unavailable)
    result = review(review_of(unvetted_pod()), env)
    assert not result.allowed and "registry-unavailable" in message(result)
    assert_nothing_requested(result)


def test_an_admitted_workload_requests_nothing() -> None:
    result = decide(unvetted_pod(REFERENCE), verdicts={REFERENCE: signed_verdict()})
    assert result.allowed
    assert result.vetting == () and result.audit["vetting_requested"] == []


def test_warn_mode_admits_requests_and_warns() -> None:
    result = decide(unvetted_pod(), {**ON, "modelward.dev/mode": "warn"})
    assert result.allowed
    assert [r.reference for r in result.vetting] == [UNVETTED]
    lines = warnings(result)
    assert (
        lines[0] == f"vetting requested: kubectl get modelvetting -n ml {vetting_name(UNVETTED)} -w"
    )
    assert any(line.startswith("would deny: model-unvetted") for line in lines)


def test_dry_run_mode_admits_silently_but_still_requests() -> None:
    result = decide(unvetted_pod(), {**ON, "modelward.dev/mode": "dry-run"})
    assert result.allowed and warnings(result) == []
    assert [r.reference for r in result.vetting] == [UNVETTED]
    assert result.audit["vetting_requested"] == [UNVETTED]


def test_one_request_per_reference_and_only_for_references_evaluated() -> None:
    second = f"hf://acme/second@{'4' * 40}"
    obj = deployment(
        container("a", model=UNVETTED), container("b", model=UNVETTED), container("c", model=second)
    )
    result = decide(obj)
    # The first deny ends the review: the other references are neither looked up nor evaluated,
    # so only the first is requested; the next apply asks for the next one.
    assert [r.reference for r in result.vetting] == [UNVETTED]
    assert "not evaluated (the review is denied already)" in message(result)


def test_warnings_stay_within_the_per_warning_limit_for_a_long_namespace() -> None:
    namespace = "n" * 63
    result = decide(unvetted_pod(), namespace=namespace)
    [line] = [w for w in warnings(result) if w.startswith("vetting requested")]
    assert len(line) <= MAX_WARNING_CHARS
    assert vetting_name(UNVETTED) in line and not line.endswith("...")
    command = f"kubectl get modelvetting -n {namespace} {vetting_name(UNVETTED)} -w"
    assert command in message(result)  # the message has room for the whole command


def test_the_configuration_is_strict(tmp_path: Path) -> None:
    path = tmp_path / "webhook.yaml"
    path.write_text(yaml.safe_dump({"auto_vetting": {"enabled": True, "namespace_label": "x/y"}}))
    assert load_webhook_config(path).auto_vetting == AutoVettingConfig(
        enabled=True, namespace_label="x/y"
    )
    path.write_text(yaml.safe_dump({"auto_vetting": {"enabled": True, "label": "x"}}))
    with pytest.raises(ConfigError, match=r"auto_vetting\.label"):
        load_webhook_config(path)


def test_the_cli_review_never_claims_a_request(tmp_path: Path) -> None:
    config = tmp_path / "webhook.yaml"
    registry = tmp_path / "verdicts.db"
    open_registry(str(registry)).put(signed_verdict())  # another reference: UNVETTED has none
    settings = {"auto_vetting": {"enabled": True}, "registry": {"path": str(registry)}}
    config.write_text(yaml.safe_dump(settings))
    review_file = tmp_path / "review.json"
    review_file.write_text(json.dumps(review_of(unvetted_pod())))
    proc = run("admission", "review", str(review_file), "--config", str(config),
               "--namespace-labels", f"{LABEL}=true")  # fmt: skip
    assert "model-unvetted" in proc.stdout, proc.stdout + proc.stderr
    assert "vetting requested" not in proc.stdout

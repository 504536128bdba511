"""``modelward admission review|check``, run as a user runs them, on a real SQLite registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelward.engine.verdicts.registry import open_registry
from tests.admission.core_helpers import (
    REFERENCE,
    REVISION,
    container,
    deployment,
    pod,
    review_of,
    signed_verdict,
    vetting_keys,
)
from tests.cli.helpers import run

UNVETTED = f"hf://acme/unvetted@{REVISION}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A webhook configuration trusting the vetting key, with REFERENCE vetted in the registry."""
    folder = tmp_path_factory.mktemp("admission-cli")
    (folder / "keys").mkdir()
    (folder / "keys" / "vetting.pub").write_bytes(vetting_keys()[1])
    open_registry(str(folder / "verdicts.db")).put(signed_verdict())
    config = {"registry": {"type": "sqlite", "path": "verdicts.db"},
              "verdict_keys": ["keys/vetting.pub"]}  # fmt: skip
    (folder / "webhook.yaml").write_text(yaml.safe_dump(config))
    return folder


def manifest(folder: Path, name: str, *documents: Any) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump_all(documents))
    return path


def mixed_manifest(folder: Path) -> Path:
    two = deployment(container("server", model=REFERENCE),
                     container("draft", model=UNVETTED), name="two-models")  # fmt: skip
    listed = {"apiVersion": "v1", "kind": "List", "items": [
        pod(container("vllm", model=REFERENCE, args=["--trust-remote-code"]), name="remote"),
    ]}  # fmt: skip
    nginx = pod(name="nginx")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}}
    return manifest(folder, "mixed.yaml", two, nginx, listed, service)


def test_check_prints_one_line_per_container_and_model(setup: Path) -> None:
    proc = run("admission", "check", str(mixed_manifest(setup)), "--config",
               str(setup / "webhook.yaml"))  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert lines[0] == ["WORKLOAD", "CONTAINER", "MODEL", "DECISION", "POLICIES"]
    assert lines[1:4] == [
        ["Deployment", "default/two-models", "server", REFERENCE, "allow", "-"],
        ["Deployment", "default/two-models", "draft", UNVETTED, "deny", "model-unvetted"],
        ["Pod", "default/remote", "vllm", REFERENCE, "warn", "trust-remote-code"],
    ]
    assert proc.stdout.splitlines()[-1] == "4 workloads, 1 would be denied"


def test_check_says_why_each_denied_workload_is_denied(setup: Path) -> None:
    proc = run("admission", "check", str(mixed_manifest(setup)), "--config",
               str(setup / "webhook.yaml"))  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    text = proc.stdout.split("why denied:\n", 1)[1]
    reasons = " ".join(text.split())
    assert reasons.startswith(
        f"Deployment default/two-models is denied: container draft, model {UNVETTED}"
    )
    assert "model-unvetted: " in reasons
    assert "Pod default/remote" not in reasons  # a warn is not a denial
    assert max(len(line) for line in proc.stdout.splitlines()[-6:]) <= 100


def test_check_json_report(setup: Path) -> None:
    proc = run("admission", "check", str(mixed_manifest(setup)), "--config",
               str(setup / "webhook.yaml"), "--format", "json", "--namespace", "ml")  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["would_deny"] == 1
    [two, nginx, remote, service] = report["workloads"]
    assert (two["kind"], two["namespace"], two["name"]) == ("Deployment", "ml", "two-models")
    assert [m["deny"] for m in two["models"]] == [[], ["model-unvetted"]]
    assert two["allowed"] is False and "model-unvetted" in two["message"]
    assert nginx["models"] == [] and nginx["allowed"] is True
    assert remote["warnings"][0].startswith("trust-remote-code (container vllm)")
    assert service["models"] == []


def test_check_exits_0_when_nothing_is_denied(setup: Path) -> None:
    path = manifest(setup, "ok.yaml", deployment(container("server", model=REFERENCE)), pod())
    proc = run("admission", "check", str(path), "--config", str(setup / "webhook.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "2 workloads, 0 would be denied"


def test_check_without_verdicts_fails_closed(setup: Path, tmp_path: Path) -> None:
    path = manifest(setup, "one.yaml", pod(container("server", model=REFERENCE)))
    proc = run("admission", "check", str(path), "--registry", str(tmp_path / "missing.db"))
    assert proc.returncode == 1
    assert "registry-unavailable" in proc.stdout


def test_check_names_the_bad_yaml_document(setup: Path) -> None:
    path = setup / "bad.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: [unclosed\n")
    proc = run("admission", "check", str(path))
    assert proc.returncode == 2
    assert f"{path}: document 2: not valid YAML" in proc.stderr
    path.write_text("kind: Pod\n---\n- just\n- a list\n")
    proc = run("admission", "check", str(path))
    assert proc.returncode == 2 and "document 2: not a Kubernetes object" in proc.stderr


def test_review_prints_the_response_review(setup: Path) -> None:
    body = review_of(pod(container("vllm", model=UNVETTED)), api_version="admission.k8s.io/v1beta1")
    path = setup / "review.json"
    path.write_text(json.dumps(body))
    proc = run("admission", "review", str(path), "--config", str(setup / "webhook.yaml"))
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["apiVersion"] == "admission.k8s.io/v1beta1"
    assert answer["response"]["uid"] == body["request"]["uid"]
    assert answer["response"]["allowed"] is False
    assert "model-unvetted" in answer["response"]["status"]["message"]


def test_review_uses_the_namespace_labels(setup: Path) -> None:
    path = setup / "review-warn.json"
    path.write_text(json.dumps(review_of(pod(container("vllm", model=UNVETTED)))))
    proc = run("admission", "review", str(path), "--config", str(setup / "webhook.yaml"),
               "--namespace-labels", "team=search,modelward.dev/mode=warn")  # fmt: skip
    answer = json.loads(proc.stdout)["response"]
    assert answer["allowed"] is True
    assert answer["warnings"][0].startswith("would deny: model-unvetted")


def test_review_of_a_vetted_model_is_allowed(setup: Path) -> None:
    path = setup / "review-ok.json"
    path.write_text(json.dumps(review_of(deployment(container("vllm", model=REFERENCE)))))
    proc = run("admission", "review", str(path), "--config", str(setup / "webhook.yaml"))
    assert json.loads(proc.stdout)["response"]["allowed"] is True, proc.stdout


def test_review_refuses_what_is_not_a_review(setup: Path, shared: Path) -> None:
    broken = shared / "fixtures" / "admission" / "connaisseur__21_broken_admission_request.json"
    proc = run("admission", "review", str(broken))
    assert proc.returncode == 2
    assert "not an AdmissionReview: request.uid is missing" in proc.stderr
    proc = run("admission", "review", str(setup / "webhook.yaml"))
    assert proc.returncode == 2 and "not JSON" in proc.stderr
    valid = setup / "review-labels.json"
    valid.write_text(json.dumps(review_of(pod())))
    proc = run("admission", "review", str(valid), "--namespace-labels", "x")
    assert proc.returncode == 2 and "'x' is not key=value" in proc.stderr

"""``--trust-remote-code`` at admission, judged by what the model's verdict says about its code.

Real-shaped repositories (``tests.code.repos``) are vetted with ``modelward vet --reference
hf://…`` and published to the cluster's registry; Deployments serving them through vLLM, with and
without ``--trust-remote-code``, go to the chart's webhook on a real kube-apiserver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.code.repos import remote_code_model
from tests.e2e.admission_cluster import (
    RELEASE_NAMESPACE,
    ApiResult,
    create,
    installed,
    make_namespace,
    run_modelward,
)
from tests.e2e.kube import Cluster, cluster_fixture
from tests.e2e.vetting_cluster import wait_for

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture("module")
NAMESPACE = "ml-remote-code"
BENIGN = "hf://example-org/remote-benign@" + "a" * 40
#: Also loads extra weights with torch.load inside a function: medium findings, the verdict allows.
RISKY = "hf://example-org/remote-risky@" + "b" * 40
#: Runs a process when the module is imported: a high finding, the verdict denies.
HOSTILE = "hf://example-org/remote-hostile@" + "c" * 40

RISKY_PAYLOAD = """

def load_extra(path):
    return torch.load(path)
"""
HOSTILE_PAYLOAD = """
import subprocess

subprocess.run(["sh", "-c", "id"], check=False)
"""


@dataclass
class Setup:
    cluster: Cluster
    outcomes: dict[str, str]


def vet(cluster: Cluster, root: Path, reference: str, private: Path) -> str:
    done = run_modelward(
        ["vet", str(root), "--reference", reference, "--signing-key", str(private),
         "--publish", "--registry", f"kubernetes://{RELEASE_NAMESPACE}", "--format", "json"],
        cluster,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return "allow" if done.returncode == 0 else "deny"


@pytest.fixture(scope="module")
def setup(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("remote-code")
    with installed(kube_cluster, root) as release:
        make_namespace(release.api, NAMESPACE)
        models = {
            BENIGN: remote_code_model(root / "benign"),
            RISKY: remote_code_model(root / "risky", payload=RISKY_PAYLOAD),
            HOSTILE: remote_code_model(root / "hostile", payload=HOSTILE_PAYLOAD),
        }
        outcomes = {
            ref: vet(kube_cluster, path, ref, release.private_key) for ref, path in models.items()
        }
        setup = Setup(kube_cluster, outcomes)
        wait_for(
            "the webhook to see the verdicts",
            lambda: deploy(setup, "probe", BENIGN, False).status == 201,
        )
        yield setup


def deployment(name: str, reference: str, trust: bool) -> dict[str, Any]:
    repo, _, revision = reference.removeprefix("hf://").partition("@")
    flag = " --trust-remote-code" if trust else ""
    server: dict[str, Any] = {
        "name": "server",
        "image": "registry.invalid/vllm-openai:v0.9",
        "command": ["/bin/sh", "-c"],
        "args": [f"vllm serve {repo} --revision {revision}{flag} --port 8000"],
    }
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [server]}}},
    }  # fmt: skip


def deploy(setup: Setup, name: str, reference: str, trust: bool) -> ApiResult:
    path = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments?dryRun=All"
    return create(setup.cluster, path, deployment(name, reference, trust))


def test_the_vetted_verdicts_judge_the_code(setup: Setup) -> None:
    assert setup.outcomes == {BENIGN: "allow", RISKY: "allow", HOSTILE: "deny"}


@pytest.mark.parametrize("reference", [BENIGN, RISKY], ids=["benign", "medium-findings"])
def test_remote_code_without_high_findings_is_admitted_with_a_warning(
    setup: Setup, reference: str
) -> None:
    result = deploy(setup, "trusted", reference, trust=True)
    assert result.status == 201, result.body
    assert any(w.startswith("trust-remote-code-present") for w in result.warnings), result.warnings


def test_remote_code_with_high_findings_is_denied_naming_file_and_line(setup: Setup) -> None:
    result = deploy(setup, "hostile", HOSTILE, trust=True)
    assert result.status == 403, result.body
    assert "trust-remote-code-findings" in result.message, result.message
    assert "modeling_x.py:" in result.message and "[code.process]" in result.message

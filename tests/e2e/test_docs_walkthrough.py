"""docs/admission.md's install walkthrough, run as written against a real kube-apiserver.

Every ```` ```sh walkthrough ```` block runs in order in one bash shell with helm, kubectl and
modelward on PATH. The kubelet starting the webhook image is the one step this machine cannot
take; right after ``helm install`` the test runs the installed Deployment's own command with its
mounted ConfigMap and Secrets instead (tests/e2e/installed_webhook.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.e2e.kube import REPO, Cluster, cluster_fixture, tool_path

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture("module")

DOC = REPO / "docs" / "admission.md"
MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"
REF = "hf://sentence-transformers/all-MiniLM-L6-v2@7dbbc90392e2f80f3d3c277d6e90027e55de9125"
BLOCK = re.compile(r"^```sh walkthrough\n(.*?)^```", re.DOTALL | re.MULTILINE)


def walkthrough_script(webhook_root: str) -> str:
    blocks = BLOCK.findall(DOC.read_text())
    installs = [i for i, b in enumerate(blocks) if "helm install" in b]
    assert len(blocks) >= 8 and len(installs) == 1, "the walkthrough blocks changed shape"
    start_pod = f'"$PYTHON" -m tests.e2e.installed_webhook "{webhook_root}"\n'
    blocks.insert(installs[0] + 1, start_pod)
    return "\n".join(blocks)


def _stop_webhook(pid_file: Path) -> None:
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)


def test_install_walkthrough_runs_as_documented(kube_cluster: Cluster, tmp_path: Path) -> None:
    workdir, webhook_root = tmp_path / "work", tmp_path / "pod"
    webhook_root.mkdir()
    tools = str(tool_path("helm").parent)
    env = {
        "PATH": f"{tools}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "KUBECONFIG": str(kube_cluster.kubeconfig_path),
        "WORKDIR": str(workdir),
        "MODEL": str(MODEL),
        "REF": REF,
        "PYTHON": sys.executable,
    }
    tool_path("kubectl")  # fails with the build command when it is missing
    try:
        result = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + walkthrough_script(str(webhook_root))],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    finally:
        _stop_webhook(webhook_root / "webhook.pid")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]

    # What the walkthrough did, seen from the cluster and its own files.
    assert "0 would be denied" in result.stdout, result.stdout[-3000:]
    api = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
    deployment = client.AppsV1Api(api).read_namespaced_deployment("embeddings", "ml-team")
    assert deployment.metadata.name == "embeddings"
    labels = client.CoreV1Api(api).read_namespace("ml-team").metadata.labels
    assert labels["modelward.dev/mode"] == "enforce"
    exported = json.loads((workdir / "verdicts.json").read_text())
    assert REF in json.dumps(exported)
    hooks = client.AdmissionregistrationV1Api(api).list_validating_webhook_configuration()
    assert [h.metadata.name for h in hooks.items] == []  # helm uninstall removed it
    audit = (webhook_root / "webhook.out").read_text()
    assert '"namespace": "ml-team"' in audit or '"namespace":"ml-team"' in audit

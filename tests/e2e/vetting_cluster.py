"""The vetting controller run against the real kube-apiserver, and the models it vets.

``ControllerProcess`` starts ``modelward controller run`` with a configuration like the chart's
(Jobs in the release namespace, verdicts as ModelVerdicts there), reaching the API server through
the test kubeconfig. ``Models`` pushes real model files to a real OCI registry as ModelPack
artifacts, so the vetting Jobs download what a cluster would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from tests.cli.helpers import MODELWARD
from tests.e2e.admission_cluster import RELEASE_NAMESPACE
from tests.e2e.kube import REPO, Cluster
from tests.sources.oci.artifacts import MODELPACK_ARTIFACT, MODELPACK_CONFIG, MODELPACK_RAW
from tests.sources.registry import Pusher, RegistryServer

MINILM = REPO / ".cache" / "models" / "all-minilm-l6-v2"
GROUP, VERSION, PLURAL = "modelward.dev", "v1alpha1", "modelvettings"


def controller_config(root: Path, cluster: Cluster, key: Path, **overrides: Any) -> Path:
    config: dict[str, Any] = {
        "namespace": RELEASE_NAMESPACE,
        "registry": f"kubernetes://{RELEASE_NAMESPACE}",
        "signing_key": str(key),
        "resync_seconds": 0.3,
        "queue": {"max_running": 4, "max_running_per_namespace": 2, "max_attempts": 2,
                  "retry_base_seconds": 0.2, "retry_max_seconds": 1},
        "revet": {"enabled": False},
        "leader_election": {"lease_seconds": 4, "renew_seconds": 3, "retry_seconds": 1},
        "kubernetes": {"access": "kubeconfig", "kubeconfig": str(cluster.kubeconfig_path)},
        "metrics_port": 0,
        "job": {"image": "modelward:test", "active_deadline_seconds": 300},
    }  # fmt: skip
    for key_name, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key_name), dict):
            config[key_name] = {**config[key_name], **value}
        else:
            config[key_name] = value
    path = root / f"controller-{time.monotonic_ns()}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class ControllerProcess:
    config: Path
    root: Path
    identity: str
    process: subprocess.Popen[bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / f"{self.identity}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(MODELWARD), "controller", "run", "--config", str(self.config),
                 "--identity", self.identity, "--log-level", "DEBUG"],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """Gone without a goodbye (no lease release, mid-pass)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Models:
    """Model files pushed to a registry; each push gives a pinned ``oci://`` reference."""

    def __init__(self, registry: RegistryServer, root: Path) -> None:
        self.registry, self.root = registry, root

    def push(self, repository: str, files: dict[str, bytes], tag: str = "v1") -> str:
        push = Pusher(self.registry, repository)
        layers = [
            push.blob(data, MODELPACK_RAW, {"org.cncf.model.filepath": name})
            for name, data in files.items()
        ]
        config = (json.dumps({"descriptor": {"name": tag}}).encode(), MODELPACK_CONFIG)
        digest = push.artifact(tag, config, layers, artifact_type=MODELPACK_ARTIFACT)
        return f"oci://{self.registry.host}/{repository}@{digest}"

    def benign(self, repository: str) -> str:
        files = {
            p.name: p.read_bytes() for p in (MINILM / "model.safetensors", MINILM / "config.json")
        }
        return self.push(repository, files)

    def malicious(self, repository: str) -> str:
        target = self.root / f"{repository.replace('/', '-')}.pt"
        subprocess.run(
            [sys.executable, str(REPO / "scripts" / "make_demo_pickle.py"), str(target)], check=True
        )
        return self.push(repository, {"pytorch_model.bin": target.read_bytes()})


def vettings(api: client.ApiClient, namespace: str | None = None) -> list[dict[str, Any]]:
    custom = client.CustomObjectsApi(api)
    if namespace is None:
        return list(custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"])
    return list(custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"])


def vetting(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    return dict(client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name
    ))  # fmt: skip


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 60, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def events_for(api: client.ApiClient, namespace: str, name: str) -> list[Any]:
    listed = client.CoreV1Api(api).list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    )
    return list(listed.items)

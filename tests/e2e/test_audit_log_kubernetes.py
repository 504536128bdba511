"""The audit log of a ``kubernetes://`` registry on a real kube-apiserver: immutable entry
ConfigMaps, two writers that never fork the chain, export and offline verification."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from modelward.engine.verdicts.auditlog.entry import EntrySigner
from modelward.engine.verdicts.keys import generate_keypair, load_private_key
from modelward.engine.verdicts.registry import audit_log, open_registry
from modelward.engine.verdicts.registry.kubernetes_log import entry_name
from tests.cli.helpers import MODELWARD
from tests.e2e.admission_cluster import apply_crd
from tests.e2e.kube import Cluster, cluster_fixture
from tests.engine.verdict_builders import REFERENCE, signed

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = REPO / "charts" / "modelward" / "crds" / "modelverdicts.yaml"
NAMESPACE = "modelward"
PRIVATE, PUBLIC = generate_keypair()
PER_WRITER = 15

kube_cluster = cluster_fixture("module")


@pytest.fixture(scope="module")
def api(kube_cluster: Cluster) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
    apply_crd(api, yaml.safe_load(CRD_FILE.read_text()))
    client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
    yield api
    api.close()


def writer(api: client.ApiClient, name: str) -> None:
    audit = EntrySigner(load_private_key(PRIVATE), name, "test")
    registry = open_registry(f"kubernetes://{NAMESPACE}", api_client=api, audit=audit)
    for i in range(PER_WRITER):
        registry.put(signed(PRIVATE, reference=f"{REFERENCE}-{name}-{i}"))


def cli(cluster: Cluster, *args: str) -> tuple[int, str, str]:
    import subprocess

    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig_path)}
    proc = subprocess.run([str(MODELWARD), *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def test_two_writers_append_one_chain_that_verifies(
    kube_cluster: Cluster, api: client.ApiClient, tmp_path: Path
) -> None:
    threads = [threading.Thread(target=writer, args=(api, f"replica-{i}")) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    registry = open_registry(f"kubernetes://{NAMESPACE}", api_client=api)
    stored = audit_log(registry)
    assert [seq for seq, _ in stored] == list(range(2 * PER_WRITER))
    core = client.CoreV1Api(api)
    first = core.read_namespaced_config_map(entry_name(0), NAMESPACE)
    assert first.immutable is True

    key, log = tmp_path / "verdict.pub", tmp_path / "log.jsonl"
    key.write_bytes(PUBLIC)
    url = f"kubernetes://{NAMESPACE}"
    code, _, err = cli(kube_cluster, "registry", "export-log", "--registry", url, "-o", str(log))
    assert code == 0, err
    code, out, err = cli(kube_cluster, "registry", "verify-log", str(log), "--key", str(key))
    assert code == 0, out + err
    assert out.startswith(f"intact: {2 * PER_WRITER} entries")

    # Tampering needs delete + create (the objects are immutable): both are found.
    core.delete_namespaced_config_map(entry_name(3), NAMESPACE)
    moved = core.read_namespaced_config_map(entry_name(8), NAMESPACE)
    core.delete_namespaced_config_map(entry_name(8), NAMESPACE)
    core.create_namespaced_config_map(NAMESPACE, {
        "metadata": {"name": entry_name(9 + 2 * PER_WRITER), "labels": moved.metadata.labels},
        "data": moved.data,
    })  # fmt: skip
    cli(kube_cluster, "registry", "export-log", "--registry", url, "-o", str(log))
    code, out, _ = cli(kube_cluster, "registry", "verify-log", str(log), "--key", str(key))
    assert code == 1
    assert out.splitlines()[:2] == [
        "seq 3: missing: no entry holds it (deleted)",
        f"seq 8: out of order: stored after seq {2 * PER_WRITER - 1}",
    ]


def test_a_publication_after_a_restart_continues_the_chain(api: client.ApiClient) -> None:
    before = len(audit_log(open_registry(f"kubernetes://{NAMESPACE}", api_client=api)))
    writer(api, "restarted")  # a new registry object: it finds the head by listing
    stored = audit_log(open_registry(f"kubernetes://{NAMESPACE}", api_client=api))
    assert len(stored) == before + PER_WRITER

"""``modelward audit`` against a real kube-apiserver: workloads created here, judged as running.

Verdicts come from a SQLite registry, or from ModelVerdict resources in the cluster itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from modelward.engine.verdicts.registry import open_registry
from tests.admission.core_helpers import (
    REFERENCE,
    REVISION,
    container,
    deployment,
    pod,
    signed_verdict,
    vetting_keys,
)
from tests.cli.helpers import MODELWARD, run
from tests.e2e.admission_cluster import apply_crd, inference_service_crd
from tests.e2e.kube import Cluster, cluster_fixture, tools_bin

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VERDICT_CRD = REPO / "charts" / "modelward" / "crds" / "modelverdicts.yaml"
#: The wgpolicyk8s.io CRDs, as `scripts/tools.sh policyreport-crds` fetches them.
POLICY_REPORT_CRDS = tools_bin().parent / "crds" / "policyreport"
UNVETTED = f"hf://acme/unvetted@{REVISION}"
MODE = "modelward.dev/mode"

kube_cluster = cluster_fixture("module")


def create_namespace(core: client.CoreV1Api, name: str, labels: dict[str, str]) -> None:
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": name, "labels": labels}})  # fmt: skip


def owned_replica_set(owner: dict[str, Any], model: str) -> dict[str, Any]:
    replica_set = deployment(container("server", model=model), name="vetted-5d8f")
    replica_set["kind"] = "ReplicaSet"
    replica_set["metadata"]["ownerReferences"] = [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": True,
    }]  # fmt: skip
    return replica_set


@pytest.fixture(scope="module")
def cluster(kube_cluster: Cluster) -> Iterator[Cluster]:
    """Namespaces in each mode with vetted, unvetted and model-less workloads."""
    api = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    apply_crd(api, inference_service_crd())
    apply_crd(api, yaml.safe_load(VERDICT_CRD.read_text()))
    for name in ("policyreports", "clusterpolicyreports"):
        crd = POLICY_REPORT_CRDS / f"wgpolicyk8s.io_{name}.yaml"
        assert crd.is_file(), f"{crd} is missing: run `bash scripts/tools.sh policyreport-crds`"
        apply_crd(api, yaml.safe_load(crd.read_text()))
    for name, labels in [("audit-prod", {}), ("audit-warn", {MODE: "warn"}), ("audit-exempt", {}),
                         ("audit-clean", {}), ("modelward", {})]:  # fmt: skip
        create_namespace(core, name, labels)
    vetted = apps.create_namespaced_deployment(
        "audit-prod", deployment(container("server", model=REFERENCE), name="vetted")
    ).to_dict()
    apps.create_namespaced_replica_set("audit-prod", owned_replica_set(vetted, UNVETTED))
    apps.create_namespaced_deployment("audit-prod", deployment(name="nginx"))
    core.create_namespaced_pod("audit-prod", pod(container("vllm", model=UNVETTED), name="rogue"))
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "minilm"},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"},
                                             "storageUri": REFERENCE}}}}  # fmt: skip
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", "audit-prod", "inferenceservices", isvc
    )
    core.create_namespaced_pod("audit-warn", pod(container("vllm", model=UNVETTED), name="risky"))
    core.create_namespaced_pod("audit-exempt", pod(container("v", model=UNVETTED), name="legacy"))
    apps.create_namespaced_deployment(
        "audit-clean", deployment(container("server", model=REFERENCE), name="vetted")
    )
    open_registry("kubernetes://modelward", api_client=api).put(signed_verdict())
    api.close()
    yield kube_cluster


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Webhook configurations trusting the vetting key: SQLite and in-cluster registries."""
    folder = tmp_path_factory.mktemp("audit")
    (folder / "vetting.pub").write_bytes(vetting_keys()[1])
    open_registry(str(folder / "verdicts.db")).put(signed_verdict())
    common = {"verdict_keys": ["vetting.pub"], "exempt_namespaces": ["audit-exempt"]}
    sqlite = {**common, "registry": {"type": "sqlite", "path": "verdicts.db"}}
    kube = {**common, "registry": {"type": "kubernetes", "namespace": "modelward"}}
    paths = {"sqlite": folder / "sqlite.yaml", "kubernetes": folder / "kube.yaml"}
    paths["sqlite"].write_text(yaml.safe_dump(sqlite))
    paths["kubernetes"].write_text(yaml.safe_dump(kube))
    return paths


def audit(cluster: Cluster, settings: Path, *args: str) -> tuple[int, str, str]:
    proc = run("audit", "--kubeconfig", str(cluster.kubeconfig_path), "--config", str(settings),
               *args)  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def table(stdout: str) -> list[list[str]]:
    """The rows of the report: the lines after the header up to the first blank line."""
    lines = stdout.splitlines()[1:]
    rows = lines[: lines.index("")] if "" in lines else lines[:-1]
    return [line.split() for line in rows]


def test_audit_reports_every_running_model(cluster: Cluster, settings: dict[str, Path]) -> None:
    code, out, err = audit(cluster, settings["sqlite"])
    assert code == 1, out + err
    rows = table(out)
    assert ["Pod", "audit-prod/rogue", "vllm", UNVETTED, "deny", "model-unvetted"] in rows
    assert ["Deployment", "audit-prod/vetted", "server", REFERENCE, "allow", "-"] in rows
    assert ["Pod", "audit-warn/risky", "vllm", UNVETTED, "deny", "model-unvetted"] in rows
    isvc = ["InferenceService", "audit-prod/minilm", "spec.predictor.model.storageUri"]
    assert [*isvc, REFERENCE, "allow", "-"] in rows  # the CRD exists, so it is listed
    assert ["Pod", "audit-exempt/legacy", "-", "-", "exempt", "-"] in rows
    assert not any(r[1] == "audit-prod/vetted-5d8f" for r in rows)  # judged through its owner
    assert not any(r[1] == "audit-prod/nginx" for r in rows)  # no model, no line


def test_owned_objects_are_listed_on_request(cluster: Cluster, settings: dict[str, Path]) -> None:
    code, out, _ = audit(
        cluster, settings["sqlite"], "--namespace", "audit-prod", "--include-owned"
    )
    assert code == 1
    assert ["ReplicaSet", "audit-prod/vetted-5d8f", "server", UNVETTED, "deny", "model-unvetted"] \
        in table(out)  # fmt: skip


def test_audit_json_shows_the_mode(cluster: Cluster, settings: dict[str, Path]) -> None:
    code, out, err = audit(cluster, settings["sqlite"], "-n", "audit-warn", "--format", "json")
    assert code == 1, err
    [risky] = json.loads(out)["workloads"]
    assert (risky["kind"], risky["name"], risky["mode"]) == ("Pod", "risky", "warn")
    assert risky["allowed"] is True and risky["would_deny"] is True
    assert risky["warnings"][0].startswith("would deny: model-unvetted")


@pytest.mark.parametrize("registry", ["sqlite", "kubernetes"])
def test_a_clean_namespace_passes(
    cluster: Cluster, settings: dict[str, Path], registry: str
) -> None:
    code, out, err = audit(cluster, settings[registry], "--namespace", "audit-clean")
    assert code == 0, out + err
    assert table(out) == [["Deployment", "audit-clean/vetted", "server", REFERENCE, "allow", "-"]]


def test_audit_errors_exit_2(cluster: Cluster, settings: dict[str, Path], tmp_path: Path) -> None:
    code, _, err = audit(cluster, settings["sqlite"], "-n", "x", "--all-namespaces")
    assert code == 2 and "exclude each other" in err
    proc = run("audit", "--kubeconfig", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "kubeconfig" in proc.stderr


def policy_reports(cluster: Cluster) -> dict[str, dict[str, Any]]:
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig_path))
    try:
        listing = client.CustomObjectsApi(api).list_cluster_custom_object(
            "wgpolicyk8s.io", "v1alpha2", "policyreports"
        )
    finally:
        api.close()
    return {item["metadata"]["namespace"]: item for item in listing["items"]}


def test_policy_reports_are_written_per_namespace(
    cluster: Cluster, settings: dict[str, Path]
) -> None:
    for _ in range(2):  # the second run replaces the reports of the first
        code, out, err = audit(cluster, settings["sqlite"], "--policy-report")
        assert code == 1, out + err
        assert "policy report written: audit-prod/modelward-audit" in err
    reports = policy_reports(cluster)
    summaries = {ns: report["summary"] for ns, report in reports.items()}
    zero = {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0}
    assert summaries == {
        "audit-prod": {**zero, "pass": 2, "fail": 1},  # vetted, minilm; rogue
        "audit-warn": {**zero, "fail": 1},
        "audit-exempt": {**zero, "skip": 1},
        "audit-clean": {**zero, "pass": 1},
    }
    prod = reports["audit-prod"]
    assert all(r["source"] == "modelward" for r in prod["results"])
    [fail] = [r for r in prod["results"] if r["result"] == "fail"]
    assert (fail["policy"], fail["resources"][0]["kind"], fail["resources"][0]["name"]) == (
        "model-unvetted",
        "Pod",
        "rogue",
    )
    assert fail["properties"] == {"container": "vllm", "model": UNVETTED, "digest": "-",
                                  "mode": "enforce"}  # fmt: skip
    passed = [r for r in prod["results"] if r["result"] == "pass"]
    assert {r["properties"]["model"] for r in passed} == {REFERENCE}
    assert all(r["properties"]["digest"].startswith("sha256:") for r in passed)


def test_inventory_shows_every_workload_with_its_model_digest(
    cluster: Cluster, settings: dict[str, Path]
) -> None:
    kube = ("--kubeconfig", str(cluster.kubeconfig_path), "--config", str(settings["sqlite"]))
    proc = run("inventory", *kube, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = {(d["namespace"], d["kind"], d["name"], d["container"], d["reference"]): d
            for d in json.loads(proc.stdout)["deployments"]}  # fmt: skip
    digest = signed_verdict().digest
    vetted = [("audit-prod", "Deployment", "vetted", "server", REFERENCE),
              ("audit-clean", "Deployment", "vetted", "server", REFERENCE),
              ("audit-prod", "InferenceService", "minilm", "spec.predictor.model.storageUri",
               REFERENCE)]  # fmt: skip
    for key in vetted:
        assert rows[key]["digest"] == digest and rows[key]["decision"] == "allow", key
        assert rows[key]["since"].endswith("Z")
    rogue = rows[("audit-prod", "Pod", "rogue", "vllm", UNVETTED)]
    assert (rogue["digest"], rogue["decision"]) == (None, "deny")
    assert len(rows) == 5  # plus audit-warn/risky; the exempt pod is not judged
    proc = run("inventory", *kube, "--format", "csv", "--reference", REFERENCE)
    lines = proc.stdout.splitlines()
    assert lines[0] == "namespace,kind,name,container,reference,digest,since,decision"
    assert len(lines) == 4 and all(digest in line for line in lines[1:])
    proc = run("inventory", *kube, "-n", "audit-clean")
    assert proc.stdout.splitlines()[1].split()[:5] == [
        "audit-clean", "Deployment/vetted", "server", REFERENCE, str(digest)
    ]  # fmt: skip


@pytest.mark.parametrize("registry", ["sqlite", "kubernetes"])
def test_registry_show_lists_where_a_verdict_runs(
    cluster: Cluster, settings: dict[str, Path], registry: str
) -> None:
    kube = ("--kubeconfig", str(cluster.kubeconfig_path), "--config", str(settings[registry]))
    if registry == "sqlite":
        proc = run("inventory", *kube, "--record", "--format", "csv")
        assert proc.returncode == 0, proc.stderr
    else:  # as the chart's CronJob does it
        proc = run("audit", *kube, "--record-inventory", "--exit-zero")
        assert proc.returncode == 0, proc.stderr
    assert "inventory recorded in" in proc.stderr
    url = str(settings["sqlite"].parent / "verdicts.db")
    if registry == "kubernetes":
        url = "kubernetes://modelward"
    shown = subprocess.run(
        [str(MODELWARD), "registry", "show", REFERENCE, "--registry", url, "--format", "json"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig_path)},
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    running = json.loads(shown.stdout)["deployments"]
    assert sorted((r["namespace"], r["kind"], r["name"]) for r in running) == [
        ("audit-clean", "Deployment", "vetted"),
        ("audit-prod", "Deployment", "vetted"),
        ("audit-prod", "InferenceService", "minilm"),
    ]
    assert all(r["digest"] == signed_verdict().digest and r["recorded_at"] for r in running)

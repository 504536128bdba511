"""The chart's vetting controller: off by default, and when on, a hardened Deployment holding the
only copy of the signing key, a configuration the controller loads, the ModelVetting CRD, and
NetworkPolicies that keep the vetting Jobs away from everything but DNS and the model sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from modelward.controller.config import load_controller_config
from modelward.engine.vetting import resource
from tests.chart import CHART, NAMESPACE, RELEASE, helm, kinds, only, render, template

K8S = "1.37.0"
SECRET = "modelward-signing"
ENABLED = (
    "--set",
    "controller.enabled=true",
    "--set",
    f"controller.signingKey.existingSecret={SECRET}",
)
AUTO_VET = (*ENABLED, "--set", "admission.autoVetting.enabled=true")
JOB_LABELS = {
    "app.kubernetes.io/name": "modelward",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "vetting-job",
}


def _enabled(*extra: str, combo: str = "default") -> list[dict[str, Any]]:
    return render(combo, *ENABLED, *extra)


def _pod(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = only(docs, "Deployment", name)["spec"]["template"]["spec"]
    return spec


def _webhook_yaml(docs: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        only(docs, "ConfigMap", "modelward-config")["data"]["webhook.yaml"]
    )
    return data


def test_disabled_by_default_nothing_of_the_controller_is_rendered() -> None:
    docs = render()
    components = {d["metadata"]["labels"].get("app.kubernetes.io/component") for d in docs}
    assert components == {"webhook"}
    assert not [d for d in docs if "vetting" in d["metadata"]["name"]]
    assert "auto_vetting" not in _webhook_yaml(docs)
    assert only(docs, "ValidatingWebhookConfiguration")["webhooks"][0]["sideEffects"] == "None"


def test_enabled_objects_validate_strictly() -> None:
    docs = render("default", *AUTO_VET, "--include-crds")
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {exc.message}")
    crds = {d["metadata"]["name"] for d in kinds(docs, "CustomResourceDefinition")}
    assert crds == {"modelverdicts.modelward.dev", "modelvettings.modelward.dev"}


def _vetting_crd() -> dict[str, Any]:
    return only(
        render("default", "--include-crds"),
        "CustomResourceDefinition",
        "modelvettings.modelward.dev",
    )


def test_modelvetting_crd_shows_phase_and_outcome_and_has_a_status_subresource() -> None:
    spec = _vetting_crd()["spec"]
    assert (spec["group"], spec["scope"]) == (resource.GROUP, "Namespaced")
    names = spec["names"]
    assert (names["kind"], names["plural"]) == (resource.KIND, resource.PLURAL)
    assert (names["shortNames"], names["categories"]) == (["mvet"], ["modelward"])
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == (
        resource.VERSION,
        True,
        True,
    )
    assert version["subresources"] == {"status": {}}
    columns = [
        (c["name"], c["type"], c["jsonPath"], c.get("priority", 0))
        for c in version["additionalPrinterColumns"]
    ]
    assert columns == [
        ("Reference", "string", ".spec.reference", 0),
        ("Phase", "string", ".status.phase", 0),
        ("Outcome", "string", ".status.outcome", 0),
        ("Attempts", "integer", ".status.attempts", 0),
        ("Reason", "string", ".status.reason", 1),
        ("Age", "date", ".metadata.creationTimestamp", 0),
    ]


def test_modelvetting_schema_matches_the_resource_module() -> None:
    schema = _vetting_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec, status = schema["properties"]["spec"], schema["properties"]["status"]
    assert "x-kubernetes-preserve-unknown-fields" not in str(schema)
    assert spec["required"] == ["reference", "requestedBy"]
    assert spec["properties"]["requestedBy"]["enum"] == list(resource.REQUESTERS)
    assert status["properties"]["phase"]["enum"] == list(resource.PHASES)
    assert status["properties"]["outcome"]["enum"] == ["allow", "deny", "error"]
    assert set(status["properties"]) == {
        "phase", "attempts", "jobName", "digest", "verdict", "outcome", "reason", "message",
        "startedAt", "completedAt", "nextAttemptAt", "observedBundle", "scanner", "result",
        "conditions",
    }  # fmt: skip
    condition = status["properties"]["conditions"]["items"]
    assert set(condition["properties"]) == {
        "type", "status", "reason", "message", "lastTransitionTime", "observedGeneration",
    }  # fmt: skip
    body = resource.new_vetting(
        "hf://org/model@" + "a" * 40, "ml", policy="strict", reason="x" * 2000
    )
    validator = jsonschema.Draft202012Validator(spec)
    validator.validate(body["spec"])
    wrong = [{"requestedBy": "cli"}, {**body["spec"], "requestedBy": "someone"}]
    for given in (*wrong, {**body["spec"], "reference": ""}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(given)


def test_controller_deployment_is_hardened() -> None:
    docs = _enabled()
    deployment = only(docs, "Deployment", "modelward-controller")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "modelward-controller"
    assert (
        only(docs, "ServiceAccount", "modelward-controller")["automountServiceAccountToken"]
        is False
    )
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["image"] == _pod(docs, "modelward")["containers"][0]["image"]
    assert container["args"] == [
        "controller", "run", "--config", "/etc/modelward/controller/controller.yaml",
    ]  # fmt: skip
    sc = container["securityContext"]
    assert (sc["runAsNonRoot"], sc["readOnlyRootFilesystem"]) == (True, True)
    assert (sc["allowPrivilegeEscalation"], sc["privileged"]) == (False, False)
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["ports"] == [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    writable = [path for path, m in mounts.items() if not m.get("readOnly")]
    assert writable == ["/tmp"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert {"checksum/config", "checksum/policies"} <= set(annotations)
    changed = only(
        _enabled("--set", "controller.queue.maxRunning=8"), "Deployment", "modelward-controller"
    )
    assert (
        changed["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        != annotations["checksum/config"]
    )


def test_only_the_controller_container_mounts_the_signing_key() -> None:
    docs = _enabled("--set", "opa.enabled=true")
    holders = []
    for deployment in kinds(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"]:
            for mount in container.get("volumeMounts", []):
                if volumes[mount["name"]].get("secret", {}).get("secretName") == SECRET:
                    holders.append((deployment["metadata"]["name"], container["name"], mount))
    assert holders == [
        (
            "modelward-controller",
            "controller",
            {"name": "signing-key", "mountPath": "/etc/modelward/signing", "readOnly": True},
        )
    ]
    volumes = {v["name"]: v for v in _pod(docs, "modelward-controller")["volumes"]}
    assert volumes["signing-key"]["secret"] == {
        "secretName": SECRET,
        "items": [{"key": "verdict.key", "path": "verdict.key"}],
        "defaultMode": 0o400,
    }
    assert SECRET not in yaml.safe_dump(_pod(docs, "modelward"))


def _load_config(docs: list[dict[str, Any]], tmp_path: Path) -> Any:
    config_map = only(docs, "ConfigMap", "modelward-controller")
    folder = tmp_path / "controller"
    folder.mkdir()
    for name, text in config_map["data"].items():
        (folder / name).write_text(text)
    return load_controller_config(folder / "controller.yaml")


def test_controller_yaml_loads_with_the_chart_values(tmp_path: Path) -> None:
    docs = _enabled(
        "--set", "verdicts.namespace=verdicts", "--set", "imagePullSecrets[0].name=pull"
    )
    config = _load_config(docs, tmp_path)
    assert (config.namespace, config.registry) == (NAMESPACE, "kubernetes://verdicts")
    assert config.signing_key == Path("/etc/modelward/signing/verdict.key")
    assert (config.policies, config.data) == (None, None)
    assert (config.verdict_max_age, config.resync_seconds, config.metrics_port) == ("30d", 10, 9090)
    assert config.kubernetes.access == "in-cluster"
    job = config.job
    assert job.image == _pod(docs, "modelward")["containers"][0]["image"]
    assert (job.image_pull_policy, job.image_pull_secrets) == ("IfNotPresent", ["pull"])
    assert (job.active_deadline_seconds, job.backoff_limit, job.ttl_seconds_after_finished) == (
        900, 1, 3600,
    )  # fmt: skip
    assert job.resources == {
        "requests": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"},
        "limits": {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "50Gi"},
    }
    assert (job.work_dir_size, job.env, job.pod_labels) == ("50Gi", {}, JOB_LABELS)
    assert (job.node_selector, job.tolerations, job.priority_class_name) == ({}, [], None)
    queue = config.queue
    assert (queue.max_running, queue.max_running_per_namespace, queue.max_attempts) == (4, 2, 3)
    assert (queue.retry_base_seconds, queue.retry_max_seconds) == (30, 900)
    revet = config.revet
    assert (revet.enabled, revet.max_age, revet.interval_seconds, revet.per_minute) == (
        True, "7d", 300, 10,
    )  # fmt: skip
    lease = config.leader_election
    assert (lease.enabled, lease.lease_name) == (True, "modelward-controller")
    assert (lease.lease_seconds, lease.renew_seconds, lease.retry_seconds) == (15, 10, 2)


def test_controller_yaml_follows_changed_values(tmp_path: Path) -> None:
    docs = _enabled(
        "--set", "controller.job.env.HTTPS_PROXY=http://proxy:3128",
        "--set-string", "controller.job.env.RETRIES=3",
        "--set", "controller.job.priorityClassName=batch-low",
        "--set", "controller.job.resources.limits.cpu=4",
        "--set", "controller.revet.enabled=false",
        "--set", "controller.verdictMaxAge=12h",
        combo="custom-policies",
    )  # fmt: skip
    config = _load_config(docs, tmp_path)
    assert config.job.env == {"HTTPS_PROXY": "http://proxy:3128", "RETRIES": "3"}
    assert config.job.priority_class_name == "batch-low"
    assert config.job.resources["limits"]["cpu"] == "4"
    assert (config.revet.enabled, config.verdict_max_age) == (False, "12h")
    # The webhook's policy sources: the same ConfigMap mounted beside the configuration folder.
    assert config.policies.resolve() == tmp_path.resolve() / "policies"
    assert yaml.safe_load(config.data.read_text())["trusted_publishers"] == ["my-org"]
    mounts = _pod(docs, "modelward-controller")["containers"][0]["volumeMounts"]
    assert {"name": "policies", "mountPath": "/etc/modelward/policies", "readOnly": True} in mounts
    volumes = {v["name"]: v for v in _pod(docs, "modelward-controller")["volumes"]}
    assert volumes["policies"] == {"name": "policies", "configMap": {"name": "my-model-policies"}}


def test_pod_disruption_budget_keeps_a_standby() -> None:
    pdb = only(_enabled(), "PodDisruptionBudget", "modelward-controller")
    assert pdb["spec"]["maxUnavailable"] == 1
    selector = only(_enabled(), "Deployment", "modelward-controller")["spec"]["selector"]
    assert pdb["spec"]["selector"] == selector
    single = _enabled("--set", "controller.replicaCount=1")
    assert [p["metadata"]["name"] for p in kinds(single, "PodDisruptionBudget")] == ["modelward"]


def test_auto_vetting_switch_reaches_the_webhook() -> None:
    docs = render("default", *AUTO_VET, "--set", "admission.autoVetting.namespaceLabel=team/vet")
    assert _webhook_yaml(docs)["auto_vetting"] == {"enabled": True, "namespace_label": "team/vet"}
    (hook,) = only(docs, "ValidatingWebhookConfiguration")["webhooks"]
    assert hook["sideEffects"] == "NoneOnDryRun"
    off = _enabled()
    assert "auto_vetting" not in _webhook_yaml(off)
    assert only(off, "ValidatingWebhookConfiguration")["webhooks"][0]["sideEffects"] == "None"


def test_helm_lint_strict_with_the_controller() -> None:
    result = helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE, *AUTO_VET)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


SCHEMA_ERRORS = [
    (("--set", "controller.replicas=3"), "at '/controller': additional properties 'replicas'"),
    (
        (
            "--set",
            "controller.job.egress.to[0].cidr=0.0.0.0/0",
            "--set",
            "controller.job.egress.to[0].port=80",
        ),
        "at '/controller/job/egress/to/0': additional properties 'port'",
    ),
    (("--set", "controller.queue.maxAttempts=0"), "at '/controller/queue/maxAttempts': minimum"),
    (("--set", "controller.revet.maxAge=week"), "at '/controller/revet/maxAge'"),
    (("--set", "admission.autoVetting.label=x"), "at '/admission/autoVetting': additional"),
]
RENDER_ERRORS = [
    (
        ("--set", "controller.enabled=true"),
        "controller.enabled: set controller.signingKey.existingSecret",
    ),
    (
        ("--set", "admission.autoVetting.enabled=true"),
        "admission.autoVetting.enabled needs controller.enabled",
    ),
    (
        (*ENABLED, "--set", "controller.leaderElection.renewSeconds=15"),
        "controller.leaderElection.renewSeconds (15) must be lower than leaseSeconds (15)",
    ),
]


@pytest.mark.parametrize(("args", "message"), SCHEMA_ERRORS)
def test_schema_rejects_wrong_controller_values(args: tuple[str, ...], message: str) -> None:
    result = template(*args)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(("args", "message"), RENDER_ERRORS)
def test_inconsistent_controller_values_fail_the_render(
    args: tuple[str, ...], message: str
) -> None:
    result = template(*args)
    assert result.returncode != 0
    assert message in result.stderr

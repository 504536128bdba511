"""The Helm chart lints, renders valid Kubernetes 1.37 objects, and keeps its security promises.

Every documented values combination (charts/modelward/ci/*-values.yaml) is linted with
``helm lint --strict`` and rendered with ``helm template``; each rendered object is validated
strictly by kubernetes-validate. The generated certificates differ on every render, so tests
only check that they are consistent, never their content. The last test installs and upgrades
the chart on a real API server to prove the generated certificate survives upgrades.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from modelward.admission.config import load_webhook_config
from tests.chart import (
    CHART,
    COMBOS,
    NAMESPACE,
    combo_args,
    helm,
    helm_env,
    kinds,
    only,
    render,
)
from tests.e2e.kube import cluster_fixture

K8S = "1.37.0"
# Custom resources of other projects: kubernetes-validate ships schemas for the built-in kinds
# (and CustomResourceDefinition itself) only, so these raise SchemaNotFoundError.
NOT_IN_SCHEMA_SET = {
    ("cert-manager.io/v1", "Issuer"): "cert-manager CRD",
    ("cert-manager.io/v1", "Certificate"): "cert-manager CRD",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "Prometheus Operator CRD",
}
EXPECTED_SKIPS = {
    "cert-manager": ["Certificate", "Certificate", "Issuer", "Issuer"],
    "cert-manager-issuer": ["Certificate"],
    "servicemonitor": ["ServiceMonitor"],
}
WORKLOADS = {
    "": {"pods", "replicationcontrollers"},
    "apps": {"deployments", "statefulsets", "daemonsets", "replicasets"},
    "batch": {"jobs", "cronjobs"},
}
READ = {"get", "list", "watch"}

kube_cluster = cluster_fixture("module")


def test_every_values_file_is_a_tested_and_documented_combination() -> None:
    files = sorted(p.name.removesuffix("-values.yaml") for p in (CHART / "ci").glob("*.yaml"))
    assert files == sorted(c for c in COMBOS if c != "default")
    docs = (CHART.parents[1] / "docs" / "admission.md").read_text()
    missing = [c for c in files if f"ci/{c}-values.yaml" not in docs]
    assert not missing, f"not documented in docs/admission.md: {missing}"


@pytest.mark.parametrize("combo", COMBOS)
def test_helm_lint_strict(combo: str) -> None:
    result = helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE, *combo_args(combo))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("combo", COMBOS)
def test_rendered_objects_validate_strictly(combo: str) -> None:
    skipped = []
    for doc in render(combo, "--include-crds"):
        key = (doc["apiVersion"], doc["kind"])
        if key in NOT_IN_SCHEMA_SET:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(doc, K8S, strict=True)
            skipped.append(doc["kind"])
            continue
        try:
            kubernetes_validate.validate(doc, K8S, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {exc.message}")
    assert sorted(skipped) == EXPECTED_SKIPS.get(combo, [])


def test_the_modelverdict_crd_comes_from_crds() -> None:
    assert not kinds(render(), "CustomResourceDefinition")  # Helm installs crds/ itself
    crds = kinds(render("default", "--include-crds"), "CustomResourceDefinition")
    assert {c["metadata"]["name"] for c in crds} == {
        "modelverdicts.modelward.dev",
        "modelvettings.modelward.dev",
    }
    crd = only(crds, "CustomResourceDefinition", "modelverdicts.modelward.dev")
    assert crd["spec"]["names"]["kind"] == "ModelVerdict"


def _deployment(combo: str = "default") -> dict[str, Any]:
    return only(render(combo), "Deployment")


def test_deployment_is_highly_available_and_locked_down() -> None:
    spec = _deployment()["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert pod["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["terminationGracePeriodSeconds"] == 30
    (container,) = pod["containers"]
    _assert_locked_down(container)
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"] == {"path": path, "port": "https", "scheme": "HTTPS"}
    pdb = only(render(), "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"] == spec["selector"]


def _assert_locked_down(container: dict[str, Any]) -> None:
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["privileged"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}


def test_webhook_container_runs_the_documented_command_on_the_mount_layout() -> None:
    pod = _deployment("inline-policies")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][:12] == [
        "webhook", "serve", "--tls-cert", "/etc/modelward/tls/tls.crt",
        "--tls-key", "/etc/modelward/tls/tls.key", "--port", "8443",
        "--config", "/etc/modelward/config/webhook.yaml", "--metrics-port", "8444",
    ]  # fmt: skip
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    for folder in ("config", "tls", "policies"):
        assert mounts[f"/etc/modelward/{folder}"]["readOnly"] is True
    writable = [path for path, m in mounts.items() if not m.get("readOnly")]
    assert writable == ["/tmp"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/tmp"]["name"]]["emptyDir"]["sizeLimit"] == "64Mi"
    token = mounts["/var/run/secrets/kubernetes.io/serviceaccount"]
    assert "serviceAccountToken" in str(volumes[token["name"]]["projected"])
    keys = _deployment("hardened")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "keys", "mountPath": "/etc/modelward/keys", "readOnly": True} in keys


def test_image_reference_uses_the_tag_or_the_digest() -> None:
    image = _deployment()["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "modelward:0.1.0"
    pinned = _deployment("digest")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert pinned == "registry.example.com/platform/modelward@sha256:" + "0123456789abcdef" * 4


def test_opa_sidecar_listens_on_loopback_with_the_same_security() -> None:
    webhook, opa = _deployment("opa")["spec"]["template"]["spec"]["containers"]
    assert opa["name"] == "opa"
    assert "--addr=127.0.0.1:8181" in opa["args"]
    assert "volumeMounts" not in opa  # neither the API token nor the keys
    _assert_locked_down(opa)
    assert opa["securityContext"] == webhook["securityContext"]


def _vwc(combo: str = "default") -> dict[str, Any]:
    return only(render(combo), "ValidatingWebhookConfiguration")


def test_webhook_configuration_defaults() -> None:
    (hook,) = _vwc()["webhooks"]
    assert hook["failurePolicy"] == "Fail"
    assert hook["timeoutSeconds"] == 5
    assert hook["sideEffects"] == "None"
    assert hook["matchPolicy"] == "Equivalent"
    assert hook["admissionReviewVersions"] == ["v1", "v1beta1"]
    assert hook["clientConfig"]["service"]["namespace"] == NAMESPACE
    (expr,) = hook["namespaceSelector"]["matchExpressions"]
    assert expr["key"] == "kubernetes.io/metadata.name"
    assert expr["operator"] == "NotIn"
    assert set(expr["values"]) == {"kube-system", NAMESPACE}
    covered = {
        (g, r) for rule in hook["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    kserve = {"inferenceservices", "llminferenceservices", "trainedmodels"}
    assert covered == {(g, r) for g, rs in WORKLOADS.items() for r in rs} | {
        ("serving.kserve.io", r) for r in kserve
    }
    assert all(rule["operations"] == ["CREATE", "UPDATE"] for rule in hook["rules"])


def test_webhook_configuration_variations() -> None:
    assert _vwc("fail-open")["webhooks"][0]["failurePolicy"] == "Ignore"
    groups = {g for r in _vwc("no-kserve")["webhooks"][0]["rules"] for g in r["apiGroups"]}
    assert groups == set(WORKLOADS)
    (expr,) = _vwc("hardened")["webhooks"][0]["namespaceSelector"]["matchExpressions"]
    assert set(expr["values"]) == {"kube-system", NAMESPACE, "cert-manager", "monitoring"}


def test_generated_certificate_matches_the_ca_bundle() -> None:
    docs = render()
    secret = only(docs, "Secret", "modelward-tls")
    ca_bundle = _vwc()["webhooks"][0]["clientConfig"]["caBundle"]
    assert ca_bundle == secret["data"]["ca.crt"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(ca_bundle))
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"modelward.{NAMESPACE}.svc" in names.get_values_for_type(x509.DNSName)


def test_cert_manager_injects_the_ca() -> None:
    vwc = _vwc("cert-manager")
    assert "caBundle" not in vwc["webhooks"][0]["clientConfig"]
    injected = vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    serving = only(render("cert-manager"), "Certificate", injected.split("/")[1])
    assert serving["spec"]["secretName"] == "modelward-tls"
    assert f"modelward.{NAMESPACE}.svc" in serving["spec"]["dnsNames"]
    external = only(render("cert-manager-issuer"), "Certificate")
    assert external["spec"]["issuerRef"]["kind"] == "ClusterIssuer"
    assert not kinds(render("cert-manager-issuer"), "Issuer")


def test_existing_secret_and_ca_bundle() -> None:
    docs = render("existing-secret")
    assert not [d for d in kinds(docs, "Secret")]
    given = yaml.safe_load((CHART / "ci" / "existing-secret-values.yaml").read_text())
    ca_bundle = _vwc("existing-secret")["webhooks"][0]["clientConfig"]["caBundle"]
    assert base64.b64decode(ca_bundle).decode() == given["tls"]["existingSecret"]["caBundle"]
    volumes = only(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"secretName": "modelward-serving-tls", "defaultMode": 0o440} in [
        v.get("secret") for v in volumes
    ]


def test_service_monitor_scrapes_https_with_the_chart_ca() -> None:
    monitor = only(render("servicemonitor"), "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["scheme"], endpoint["path"]) == (
        "metrics",
        "https",
        "/metrics",
    )
    assert endpoint["tlsConfig"]["ca"]["secret"] == {"name": "modelward-tls", "key": "ca.crt"}
    assert monitor["metadata"]["labels"]["release"] == "prometheus"


@pytest.mark.parametrize("combo", COMBOS)
def test_rbac_is_least_privilege(combo: str) -> None:
    docs = render(combo)
    for role in kinds(docs, "ClusterRole") + kinds(docs, "Role"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], f"{role['metadata']['name']}: wildcard {field}"
            assert "secrets" not in rule["resources"]
    (cluster_role,) = kinds(docs, "ClusterRole")
    assert cluster_role["rules"] == [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}
    ]
    roles = {r["metadata"]["name"]: r for r in kinds(docs, "Role")}
    reader = roles.pop("modelward-verdicts-reader")
    assert reader["metadata"]["namespace"] == NAMESPACE
    assert reader["rules"] == [
        {"apiGroups": ["modelward.dev"], "resources": ["modelverdicts"], "verbs": sorted(READ)}
    ]
    if combo == "hardened":
        (rule, log) = roles.pop("modelward-verdicts-publisher")["rules"]
        assert rule["resources"] == ["modelverdicts"]
        assert set(rule["verbs"]) == READ | {"create", "update", "patch", "delete"}
        assert log == {"apiGroups": [""], "resources": ["configmaps"],
                       "verbs": ["create", "get", "list"]}  # the audit log  # fmt: skip
    assert not roles


@pytest.mark.parametrize("combo", COMBOS)
def test_rendered_webhook_config_loads_in_the_mount_layout(combo: str, tmp_path: Path) -> None:
    config_map = only(render(combo), "ConfigMap", "modelward-config")
    (tmp_path / "config").mkdir()
    for name, text in config_map["data"].items():
        (tmp_path / "config" / name).write_text(text)
    config = load_webhook_config(tmp_path / "config" / "webhook.yaml")
    assert config.registry.type == "kubernetes"
    assert config.registry.namespace == NAMESPACE
    assert config.kubernetes.access == "auto"
    assert config.audit_log == "-"
    assert config.deadline_seconds < _vwc(combo)["webhooks"][0]["timeoutSeconds"]
    expected_keys = {
        "hardened": ["verdict.pub"],
        "existing-secret": ["verdict.pub", "verdict-previous.pub"],
    }
    keys = [p.resolve() for p in config.verdict_keys]
    assert keys == [tmp_path.resolve() / "keys" / k for k in expected_keys.get(combo, [])]
    custom = combo in ("custom-policies", "inline-policies")
    policies = config.policies.resolve() if config.policies else None
    assert policies == (tmp_path.resolve() / "policies" if custom else None)
    assert (config.engine, config.opa_url) == (
        ("opa", "http://127.0.0.1:8181") if combo == "opa" else ("embedded", None)
    )
    if combo == "custom-policies":
        assert config.data == tmp_path / "config" / "data.yaml"
        data = yaml.safe_load(config.data.read_text())
        assert data["trusted_publishers"] == ["my-org"]
    else:
        assert config.data is None


@pytest.mark.slow
def test_install_upgrade_uninstall_on_a_real_api_server(kube_cluster: Any, tmp_path: Path) -> None:
    """The API server accepts every object; upgrades keep the generated certificate and CA."""
    env = {**helm_env(tmp_path / "helm"), "KUBECONFIG": str(kube_cluster.kubeconfig_path)}
    api = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
    core = client.CoreV1Api(api)
    admission = client.AdmissionregistrationV1Api(api)
    crds = client.ApiextensionsV1Api(api)

    def run(*args: str) -> None:
        result = helm(*args, "--namespace", NAMESPACE, env=env)
        assert result.returncode == 0, result.stderr

    def served() -> tuple[dict[str, str], str]:
        secret = core.read_namespaced_secret("modelward-tls", NAMESPACE)
        vwc = admission.read_validating_webhook_configuration("modelward")
        return secret.data, vwc.webhooks[0].client_config.ca_bundle

    run("install", "modelward", str(CHART), "--create-namespace")
    first_secret, first_bundle = served()
    assert base64.b64decode(first_bundle) == base64.b64decode(first_secret["ca.crt"])
    run("upgrade", "modelward", str(CHART), *combo_args("hardened"))
    assert served() == (first_secret, first_bundle)
    assert core.read_namespaced_secret("modelward-keys", NAMESPACE).data["verdict.pub"]
    run("uninstall", "modelward")
    with pytest.raises(ApiException) as gone:
        admission.read_validating_webhook_configuration("modelward")
    assert gone.value.status == 404
    # Helm never deletes what it installed from crds/: verdicts outlive the release.
    assert crds.read_custom_resource_definition("modelverdicts.modelward.dev")

"""What the vetting controller, the webhook and the vetting Jobs may reach: RBAC rules compared
to the exact expected set (an extra verb or resource fails), and the NetworkPolicies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from tests.chart import NAMESPACE, RELEASE, kinds, only, render

SECRET = "modelward-signing"
ENABLED = (
    "--set",
    "controller.enabled=true",
    "--set",
    f"controller.signingKey.existingSecret={SECRET}",
)
AUTO_VET = (*ENABLED, "--set", "admission.autoVetting.enabled=true")
CLUSTER = "(cluster)"
# (where, apiGroup, resource, verb, resourceName)
Grant = tuple[str, str, str, str, str | None]


def _grants(
    where: str, group: str, resource: str, verbs: str, name: str | None = None
) -> set[Grant]:
    return {(where, group, resource, verb, name) for verb in verbs.split()}


def _expand(where: str, rules: Iterable[dict[str, Any]]) -> set[Grant]:
    return {
        (where, group, resource, verb, name)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
        for name in rule.get("resourceNames") or [None]
    }


def granted(docs: list[dict[str, Any]], service_account: str) -> set[Grant]:
    """Every permission bound to ``service_account`` of the release namespace, by scope."""
    roles = {
        (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d
        for d in docs
        if d["kind"] in ("Role", "ClusterRole")
    }
    found: set[Grant] = set()
    for binding in kinds(docs, "RoleBinding") + kinds(docs, "ClusterRoleBinding"):
        subject = {"kind": "ServiceAccount", "name": service_account, "namespace": NAMESPACE}
        if subject not in binding["subjects"]:
            continue
        where = binding["metadata"].get("namespace", CLUSTER)
        ref = binding["roleRef"]
        role = roles[(ref["kind"], where if ref["kind"] == "Role" else None, ref["name"])]
        found |= _expand(where, role["rules"])
    return found


def _controller_grants(verdicts: str) -> set[Grant]:
    return (
        _grants(CLUSTER, "modelward.dev", "modelvettings", "get list watch")
        | _grants(CLUSTER, "modelward.dev", "modelvettings/status", "get update patch")
        | _grants(CLUSTER, "", "events", "create patch")
        | _grants(NAMESPACE, "batch", "jobs", "create get list watch delete")
        | _grants(NAMESPACE, "", "pods", "get list watch")
        | _grants(NAMESPACE, "", "pods/log", "get")
        | _grants(NAMESPACE, "coordination.k8s.io", "leases", "create")
        | _grants(NAMESPACE, "coordination.k8s.io", "leases", "get update", "modelward-controller")
        | _grants(NAMESPACE, "modelward.dev", "modelvettings", "create")
        | _grants(verdicts, "modelward.dev", "modelverdicts", "get list watch create update patch")
        | _grants(verdicts, "", "configmaps", "create get list")  # the audit log
    )


WEBHOOK = _grants(CLUSTER, "", "namespaces", "get list watch") | _grants(
    NAMESPACE, "modelward.dev", "modelverdicts", "get list watch"
)


@pytest.mark.parametrize("verdicts", [NAMESPACE, "verdicts"])
def test_controller_and_webhook_get_exactly_what_they_need(verdicts: str) -> None:
    docs = render("default", *AUTO_VET, "--set", f"verdicts.namespace={verdicts}")
    assert granted(docs, "modelward-controller") == _controller_grants(verdicts)
    webhook = {
        g if g[1:3] != ("modelward.dev", "modelverdicts") else (verdicts, *g[1:]) for g in WEBHOOK
    }
    auto_vetting = _grants(CLUSTER, "modelward.dev", "modelvettings", "create get")
    assert granted(docs, "modelward") == webhook | auto_vetting
    assert granted(render("default", *ENABLED), "modelward") == WEBHOOK


def test_no_wildcards_no_secrets_no_cluster_wide_workloads() -> None:
    docs = render("default", *AUTO_VET, "--set", "vetting.rbac.create=true")
    for role in kinds(docs, "ClusterRole") + kinds(docs, "Role"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], f"{role['metadata']['name']}: wildcard {field}"
            assert "secrets" not in rule["resources"]
            if role["kind"] == "ClusterRole":
                assert not {"jobs", "pods", "pods/log", "leases"} & set(rule["resources"])
    assert not [g for g in granted(docs, "modelward-controller") if "secret" in g[2]]


def test_aggregated_roles_let_editors_request_and_viewers_follow() -> None:
    docs = render("default", *ENABLED)
    requester = only(docs, "ClusterRole", "modelward-vetting-requester")
    labels = requester["metadata"]["labels"]
    assert labels["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert labels["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    assert "rbac.authorization.k8s.io/aggregate-to-view" not in labels
    assert _expand(CLUSTER, requester["rules"]) == _grants(
        CLUSTER, "modelward.dev", "modelvettings", "get list watch create"
    )
    viewer = only(docs, "ClusterRole", "modelward-vetting-viewer")
    assert viewer["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert "rbac.authorization.k8s.io/aggregate-to-edit" not in viewer["metadata"]["labels"]
    assert _expand(CLUSTER, viewer["rules"]) == _grants(
        CLUSTER, "modelward.dev", "modelvettings", "get list watch"
    )
    bound = {b["roleRef"]["name"] for b in kinds(docs, "ClusterRoleBinding")}
    assert not bound & {"modelward-vetting-requester", "modelward-vetting-viewer"}


def _policy(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = only(docs, "NetworkPolicy", name)["spec"]
    return spec


def test_vetting_jobs_reach_only_dns_and_the_model_sources() -> None:
    spec = _policy(render("default", *ENABLED), "modelward-vetting-job")
    assert spec["podSelector"] == {
        "matchLabels": {
            "app.kubernetes.io/instance": RELEASE,
            "app.kubernetes.io/component": "vetting-job",
        }
    }
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == []
    dns, sources = spec["egress"]
    assert dns["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert dns["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert sources == {
        "to": [
            {
                "ipBlock": {
                    "cidr": "0.0.0.0/0",
                    "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"],
                }
            }
        ],
        "ports": [{"port": 443, "protocol": "TCP"}],
    }


def test_vetting_job_egress_is_configurable() -> None:
    to = '[{"cidr": "10.20.0.0/16", "ports": [443, 9000]}, {"cidr": "0.0.0.0/0"}]'
    docs = render(
        "default", *ENABLED,
        "--set-json", f"controller.job.egress.to={to}",
        "--set", "controller.job.egress.dns.namespace=dns",
        "--set", "controller.job.egress.dns.podSelector=app=coredns\\,tier=dns",
    )  # fmt: skip
    dns, internal, anywhere = _policy(docs, "modelward-vetting-job")["egress"]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "dns"
    }
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"app": "coredns", "tier": "dns"}
    assert internal == {
        "to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 9000, "protocol": "TCP"}],
    }
    assert anywhere == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}  # every port


def test_controller_policy_mirrors_the_webhook_egress() -> None:
    docs = render("default", *ENABLED)
    controller, webhook = _policy(docs, "modelward-controller"), _policy(docs, "modelward")
    assert (
        controller["podSelector"]
        == only(docs, "Deployment", "modelward-controller")["spec"]["selector"]
    )
    assert controller["policyTypes"] == ["Ingress", "Egress"]
    assert controller["egress"] == webhook["egress"]
    (metrics,) = controller["ingress"]
    assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert metrics["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    closed = render("default", *ENABLED, "--set-json", "networkPolicy.metricsNamespaces=[]")
    assert _policy(closed, "modelward-controller")["ingress"] == []
    off = render("default", *ENABLED, "--set", "networkPolicy.enabled=false")
    assert not kinds(off, "NetworkPolicy")

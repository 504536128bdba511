"""The PolicyReport CronJob: off by default; when on, `audit --policy-report` with the webhook's
configuration, and a ServiceAccount that may list workloads and write reports, nothing more."""

from __future__ import annotations

from tests.chart import NAMESPACE, kinds, only, render
from tests.chart.test_controller_access import CLUSTER, _grants, granted

ENABLED = ("--set", "policyReports.enabled=true", "--set", "policyReports.schedule=0 * * * *")
AUDIT = "modelward-audit"


def test_no_cronjob_by_default() -> None:
    assert not kinds(render("default"), "CronJob")


def test_the_cronjob_audits_with_the_webhook_configuration() -> None:
    docs = render("default", *ENABLED)
    cronjob = only(docs, "CronJob", AUDIT)
    assert cronjob["spec"]["schedule"] == "0 * * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == AUDIT
    [container] = pod["containers"]
    assert container["args"][:4] == [
        "audit", "--config", "/etc/modelward/config/webhook.yaml", "--policy-report"
    ]  # fmt: skip
    assert {"--exit-zero", "--record-inventory"} <= set(container["args"])
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "modelward-config"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_audit_account_lists_workloads_and_writes_reports_only() -> None:
    docs = render("default", *ENABLED)
    expected = (
        _grants(CLUSTER, "", "pods", "list")
        | _grants(CLUSTER, "", "namespaces", "list")
        | {g for r in ("deployments", "statefulsets", "daemonsets", "replicasets")
           for g in _grants(CLUSTER, "apps", r, "list")}
        | _grants(CLUSTER, "batch", "jobs", "list")
        | _grants(CLUSTER, "batch", "cronjobs", "list")
        | _grants(CLUSTER, "serving.kserve.io", "inferenceservices", "list")
        | _grants(CLUSTER, "wgpolicyk8s.io", "policyreports", "get create update")
        | _grants(CLUSTER, "wgpolicyk8s.io", "clusterpolicyreports", "get create update")
        | _grants(NAMESPACE, "modelward.dev", "modelverdicts", "get list watch")
        | _grants(NAMESPACE, "", "configmaps", "create")
        | _grants(NAMESPACE, "", "configmaps", "get update", "modelward-inventory")
    )  # fmt: skip
    assert granted(docs, AUDIT) == expected

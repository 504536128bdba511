"""The chart passes the server limits to the webhook, sized to its memory limit, and its
NetworkPolicy (on by default) opens the webhook port to the API server and /metrics to the
monitoring namespace only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml
from typer.testing import CliRunner

from modelward.admission.config import WebhookConfig
from modelward.admission.server.limits import MIB, ServerLimits, memory_bound
from modelward.cli.main import app
from tests.chart import CHART, only, render, template

VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
FLAGS = {
    "--header-timeout": "headerTimeoutSeconds",
    "--body-timeout": "bodyTimeoutSeconds",
    "--keep-alive-timeout": "keepAliveTimeoutSeconds",
    "--max-connections": "maxConnections",
    "--max-in-flight": "maxInFlight",
    "--max-in-flight-bytes": "maxInFlightBytes",
    "--max-header-bytes": "maxHeaderBytes",
    "--ready-timeout": "readyTimeoutSeconds",
}
UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}


def _bytes(quantity: str) -> int:
    suffix = quantity[-2:]
    return int(quantity[:-2]) * UNITS[suffix] if suffix in UNITS else int(quantity)


def _args(docs: list[dict[str, Any]]) -> dict[str, str]:
    (container,) = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    return {a: args[i + 1] for i, a in enumerate(args) if a.startswith("--")}


def test_every_server_value_reaches_its_flag() -> None:
    args = _args(render())
    for flag, key in FLAGS.items():
        assert float(args[flag]) == float(VALUES["server"][key]), flag
    changed = _args(render("default", "--set", "server.maxConnections=77"))
    assert changed["--max-connections"] == "77"


def test_the_flags_exist_with_the_chart_defaults() -> None:
    result = CliRunner().invoke(app, ["webhook", "serve", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for flag in (*FLAGS, "--metrics-port"):
        assert flag in result.output
    defaults = ServerLimits()
    for flag, key in FLAGS.items():
        name = flag.removeprefix("--").replace("-", "_")
        assert float(getattr(defaults, name)) == float(VALUES["server"][key]), flag


def test_the_default_limits_cannot_reach_the_memory_limit() -> None:
    """docs/admission.md, "Server limits": what the server and its workers use at rest (the
    memory request, measured about 350 MiB) plus what connections and bodies in flight can
    hold at most stays under the memory limit."""
    server = VALUES["server"]
    limits = ServerLimits(
        max_connections=server["maxConnections"],
        max_in_flight_bytes=server["maxInFlightBytes"],
    )
    resources = VALUES["resources"]
    baseline = _bytes(resources["requests"]["memory"])
    assert baseline >= 350 * MIB
    assert baseline + memory_bound(limits) <= _bytes(resources["limits"]["memory"])


def test_network_policy_is_on_by_default_and_splits_the_ports() -> None:
    policy = only(render(), "NetworkPolicy")["spec"]
    webhook, metrics = policy["ingress"]
    assert webhook["ports"] == [{"port": "https", "protocol": "TCP"}]
    assert "from" not in webhook  # the API server's addresses are not knowable in general
    assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert metrics["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    ports = {p["name"]: p for p in only(render(), "Service")["spec"]["ports"]}
    assert ports["metrics"]["targetPort"] == "metrics" and ports["metrics"]["port"] == 8444


def test_network_policy_sources_can_be_narrowed_or_turned_off() -> None:
    narrowed = render(
        "default",
        "--set", "networkPolicy.webhookFrom[0].ipBlock.cidr=10.0.0.0/24",
        "--set", "networkPolicy.metricsNamespaces=null",
    )  # fmt: skip
    (webhook,) = only(narrowed, "NetworkPolicy")["spec"]["ingress"]
    assert webhook["from"] == [{"ipBlock": {"cidr": "10.0.0.0/24"}}]
    off = render("default", "--set", "networkPolicy.enabled=false")
    assert not [d for d in off if d["kind"] == "NetworkPolicy"]


def test_metrics_and_webhook_ports_must_differ() -> None:
    result = template("--set", "metrics.port=8443")
    assert result.returncode != 0
    assert "metrics.port (8443) must differ from webhook.port" in result.stderr


def _webhook_config(*flags: str) -> WebhookConfig:
    config_map = only(render("default", *flags), "ConfigMap", "modelward-config")
    return WebhookConfig.model_validate(yaml.safe_load(config_map["data"]["webhook.yaml"]))


def test_verdict_age_and_review_budget_reach_the_webhook_config() -> None:
    defaults = _webhook_config()
    assert defaults.verdict_freshness.max_age == timedelta(days=30)
    reference = WebhookConfig()
    assert defaults.max_references == reference.max_references
    assert defaults.max_evaluations == reference.max_evaluations
    assert defaults.max_reviews_per_user == reference.max_reviews_per_user
    changed = _webhook_config(
        "--set", "admission.verdictMaxAge=12h", "--set", "admission.maxReferences=8",
        "--set", "admission.maxEvaluations=16", "--set", "admission.maxReviewsPerUser=0",
    )  # fmt: skip
    assert changed.verdict_freshness.max_age == timedelta(hours=12)
    assert (changed.max_references, changed.max_evaluations) == (8, 16)
    assert changed.max_reviews_per_user == 0

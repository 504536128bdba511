"""values.schema.json rejects wrong values with a message that names the key.

Helm validates the values against the schema in ``helm lint`` and ``helm template`` (and
install/upgrade); combinations the schema cannot express fail the render with the reason.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml

from tests.chart import CHART, NAMESPACE, helm, template

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
# Maps whose keys are the user's own: policy configuration (data.modelward.config of any
# bundle) and Helm's global values (set by a parent chart).
FREE_FORM = {"/global", "/policies/config"}
# Keys the schema accepts that values.yaml leaves out on purpose.
OPTIONAL = {"ephemeral-storage"}

# (helm arguments, what the error names)
SCHEMA_ERRORS = [
    (["--set", "replicaCount=two"], "at '/replicaCount': got string, want integer"),
    (["--set", "replicaCount=0"], "at '/replicaCount': minimum: got 0, want 1"),
    (["--set", "webhook.timeoutSeconds=31"], "at '/webhook/timeoutSeconds': maximum: got 31"),
    (["--set", "webhook.timeoutSeconds=0"], "at '/webhook/timeoutSeconds': minimum: got 0"),
    (["--set", "webhook.failurePolicy=Maybe"], "at '/webhook/failurePolicy': value must be one of"),
    (["--set", "admission.mode=audit"], "at '/admission/mode': value must be one of"),
    (["--set", "tls.source=manual"], "at '/tls/source': value must be one of"),
    (["--set-string", "opa.enabled=yes"], "at '/opa/enabled': got string, want boolean"),
    (["--set", "webhook.excludeNamespaces=dev"], "at '/webhook/excludeNamespaces': got string"),
    (["--set", "image.digest=sha256:abc"], "at '/image/digest': 'sha256:abc' does not match"),
    (["--set", "replicas=3"], "additional properties 'replicas' not allowed"),
    (
        ["--set", "webhook.failurepolicy=Fail"],
        "at '/webhook': additional properties 'failurepolicy'",
    ),
    (
        ["--set", "tls.certManager.issuerRef.namespace=x"],
        "at '/tls/certManager/issuerRef': additional",
    ),
    (["--set", "resources.limits.gpu=1"], "at '/resources/limits': additional properties 'gpu'"),
]

# (helm arguments, the reason the render fails with)
RENDER_ERRORS = [
    (["--set", "tls.source=secret"], "tls.source is secret: set tls.existingSecret.name"),
    (
        ["--set", "tls.source=secret", "--set", "tls.existingSecret.name=tls"],
        "set tls.existingSecret.caBundle",
    ),
    (
        ["--set", "admission.deadlineSeconds=5"],
        "admission.deadlineSeconds (5) must be lower than webhook.timeoutSeconds (5)",
    ),
    (
        ["--set", "policies.existingConfigMap=a", "--set", "policies.existingClaim=b"],
        "set at most one of policies.files, policies.existingConfigMap and policies.existingClaim",
    ),
    (
        [
            "--set",
            "verdicts.existingSecret=keys",
            "--set",
            "verdicts.publicKeys.a\\.pub=-----BEGIN PUBLIC KEY-----",
        ],
        "set verdicts.publicKeys or verdicts.existingSecret, not both",
    ),
    (
        ["--set", "replicaCount=2", "--set", "podDisruptionBudget.minAvailable=2"],
        "podDisruptionBudget.minAvailable (2) must be lower than replicaCount (2)",
    ),
]


@pytest.mark.parametrize(("args", "message"), SCHEMA_ERRORS)
def test_template_rejects_wrong_values(args: list[str], message: str) -> None:
    result = template(*args)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(("args", "message"), SCHEMA_ERRORS)
def test_lint_rejects_wrong_values(args: list[str], message: str) -> None:
    result = helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE, *args)
    assert result.returncode != 0
    assert "1 chart(s) failed" in result.stdout + result.stderr
    assert message in result.stdout


@pytest.mark.parametrize(("args", "message"), RENDER_ERRORS)
def test_inconsistent_values_fail_the_render_with_the_reason(args: list[str], message: str) -> None:
    result = template(*args)
    assert result.returncode != 0
    assert message in result.stderr


def test_ca_bundle_may_be_given_as_pem_or_base64() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    encoded = base64.b64encode(pem.encode()).decode()
    for given in (pem, encoded):
        result = template(
            "--set", "tls.source=secret", "--set", "tls.existingSecret.name=tls",
            "--set-string", f"tls.existingSecret.caBundle={given}",
            "--show-only", "templates/webhook.yaml",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        (vwc,) = [d for d in yaml.safe_load_all(result.stdout) if d]
        assert vwc["webhooks"][0]["clientConfig"]["caBundle"] == encoded


def _objects(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if schema.get("type") == "object":
        yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _objects(sub, f"{path}/{name}")
    if isinstance(schema.get("items"), dict):
        yield from _objects(schema["items"], f"{path}[]")


def test_schema_closes_every_object_and_describes_every_key() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for path, node in _objects(SCHEMA):
        if path in FREE_FORM:
            assert "additionalProperties" not in node
            continue
        assert "additionalProperties" in node, f"{path or '(top)'} accepts unknown keys"
        extra = node["additionalProperties"]
        assert extra is False or extra.get("type") == "string", path
        if path:
            assert node.get("description"), f"{path} has no description"
        for name, sub in node.get("properties", {}).items():
            assert sub.get("description") or path.endswith("[]"), f"{path}/{name}: no description"


def test_enums_and_ranges() -> None:
    props = SCHEMA["properties"]
    assert props["admission"]["properties"]["mode"]["enum"] == ["enforce", "warn", "dry-run"]
    webhook = props["webhook"]["properties"]
    assert webhook["failurePolicy"]["enum"] == ["Fail", "Ignore"]
    assert (webhook["timeoutSeconds"]["minimum"], webhook["timeoutSeconds"]["maximum"]) == (1, 30)
    assert props["tls"]["properties"]["source"]["enum"] == ["generate", "cert-manager", "secret"]
    assert props["replicaCount"]["minimum"] == 1


def test_values_yaml_is_valid_and_sets_every_key() -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(VALUES)

    def unset(schema: dict[str, Any], values: dict[str, Any], path: str) -> Iterator[str]:
        for name, sub in schema.get("properties", {}).items():
            if f"{path}/{name}" in FREE_FORM - {"/policies/config"} or name in OPTIONAL:
                continue
            if name not in values:
                yield f"{path}/{name}"
            elif sub.get("type") == "object" and "properties" in sub:
                yield from unset(sub, values[name], f"{path}/{name}")

    assert list(unset(SCHEMA, VALUES, "")) == []

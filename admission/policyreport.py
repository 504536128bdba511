"""``modelward audit --policy-report``: the audit as wgpolicyk8s.io/v1alpha2 PolicyReports.

One ``PolicyReport`` named ``modelward-audit`` per namespace (a ``ClusterPolicyReport`` of the
same name for cluster-scoped workloads), with one result per (workload, container, model,
policy): ``fail`` for each deny finding, ``warn`` for each warning, ``pass`` for a model with
neither, ``skip`` for an exempt workload and ``error`` for a workload that could not be judged.
Source ``modelward``; ``summary`` counts the results. Each run replaces the previous report.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from modelward.admission.review.core import ReviewResult
from modelward.engine.errors import Error

GROUP, VERSION = "wgpolicyk8s.io", "v1alpha2"
API_VERSION = f"{GROUP}/{VERSION}"
REPORT_NAME = "modelward-audit"
SOURCE = "modelward"
PASS_POLICY = "model-admission"  # noqa: S105 (a policy name)
OUTCOMES = ("pass", "fail", "warn", "error", "skip")
REQUEST_TIMEOUT = 30
MAX_PROPERTY = 1024


class PolicyReportError(Error):
    """A PolicyReport could not be written."""


def build_reports(
    objects: Sequence[dict[str, Any]], results: Sequence[ReviewResult], now: float | None = None
) -> dict[str, dict[str, Any]]:
    """Namespace ("" for cluster scope) -> its report, for workloads ``objects`` judged as
    ``results`` (same order)."""
    stamp = _timestamp(time.time() if now is None else now)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for obj, result in zip(objects, results, strict=True):
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        grouped.setdefault(namespace, []).extend(workload_results(obj, result.audit, stamp))
    return {ns: report(ns, items) for ns, items in grouped.items() if items}


def workload_results(
    obj: dict[str, Any], audit: dict[str, Any], stamp: dict[str, int]
) -> list[dict[str, Any]]:
    """The results of one workload (none for a workload without a model and without a problem)."""
    resource = _resource(obj)
    base = {"source": SOURCE, "timestamp": stamp, "resources": [resource]}
    if audit.get("exempt"):
        message = f"{resource['namespace']} is exempt from modelward admission"
        return [{**base, "policy": PASS_POLICY, "result": "skip", "message": message}]
    out = [
        {**base, "policy": problem, "rule": problem, "result": "error",
         "message": _text(audit.get("message") or problem)}
        for problem in audit.get("problems") or []
    ]  # fmt: skip
    for model in audit.get("models") or []:
        out += _model_results(model, base, str(audit.get("mode") or "enforce"))
    return out


def _model_results(model: dict[str, Any], base: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    name = str(model.get("reference") or model.get("raw") or "-")
    verdict = model.get("verdict") or {}
    properties = {
        "container": _text(model.get("container") or model.get("origin") or "-"),
        "model": _text(name),
        "digest": _text(verdict.get("digest") or "-"),
        "mode": mode,
    }
    common = {**base, "properties": properties}
    found = [(i, "fail") for i in model.get("deny") or []] + [
        (i, "warn") for i in model.get("warn") or []
    ]
    if not found:
        return [{**common, "policy": PASS_POLICY, "result": "pass",
                 "message": f"{name} may be used here"}]  # fmt: skip
    return [
        {**common, "policy": str(rule), "rule": str(rule), "result": outcome,
         "message": _text(f"{name}: {rule}")}
        for rule, outcome in found
    ]  # fmt: skip


def report(namespace: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(r["result"] for r in results)
    metadata: dict[str, Any] = {
        "name": REPORT_NAME,
        "labels": {"app.kubernetes.io/managed-by": "modelward"},
    }
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": "PolicyReport" if namespace else "ClusterPolicyReport",
        "metadata": metadata,
        "summary": {outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
        "results": results,
    }


def write_reports(api_client: Any, reports: dict[str, dict[str, Any]]) -> list[str]:
    """Create or replace every report; returns ``namespace/name`` of each written."""
    from kubernetes import client

    api = client.CustomObjectsApi(api_client)
    written = []
    for namespace, body in sorted(reports.items()):
        _upsert(api, namespace, body)
        written.append(f"{namespace or '(cluster)'}/{REPORT_NAME}")
    return written


def _upsert(api: Any, namespace: str, body: dict[str, Any]) -> None:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    plural = "policyreports" if namespace else "clusterpolicyreports"
    scope = (namespace,) if namespace else ()
    get = api.get_namespaced_custom_object if namespace else api.get_cluster_custom_object
    create = api.create_namespaced_custom_object if namespace else api.create_cluster_custom_object
    replace = (
        api.replace_namespaced_custom_object if namespace else api.replace_cluster_custom_object
    )
    try:
        try:
            current = get(GROUP, VERSION, *scope, plural, REPORT_NAME,
                          _request_timeout=REQUEST_TIMEOUT)  # fmt: skip
        except ApiException as exc:
            if exc.status != 404:
                raise
            create(GROUP, VERSION, *scope, plural, body, _request_timeout=REQUEST_TIMEOUT)
            return
        version = current["metadata"]["resourceVersion"]
        body = {**body, "metadata": {**body["metadata"], "resourceVersion": version}}
        replace(GROUP, VERSION, *scope, plural, REPORT_NAME, body,
                _request_timeout=REQUEST_TIMEOUT)  # fmt: skip
    except ApiException as exc:
        raise PolicyReportError(_api_reason(namespace, exc)) from None
    except HTTPError as exc:
        raise PolicyReportError(f"{plural} in {namespace or 'the cluster'}: {exc}") from None


def _api_reason(namespace: str, exc: Any) -> str:
    where = f"PolicyReport {namespace}/{REPORT_NAME}" if namespace else "ClusterPolicyReport"
    detail = f"HTTP {exc.status} {exc.reason}"
    with contextlib.suppress(TypeError, ValueError, AttributeError):
        detail += ": " + str(json.loads(exc.body).get("message", ""))[:300]
    if exc.status == 404:
        detail += " (is the wgpolicyk8s.io PolicyReport CRD installed?)"
    return f"{where}: {detail}"


def _resource(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata") or {}
    ref = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
           "name": metadata.get("name"), "namespace": metadata.get("namespace") or "",
           "uid": metadata.get("uid")}  # fmt: skip
    return {k: v for k, v in ref.items() if v}


def _timestamp(now: float) -> dict[str, int]:
    return {"seconds": int(now), "nanos": 0}


def _text(value: Any) -> str:
    return str(value)[:MAX_PROPERTY]

"""The ``ModelVetting`` custom resource (modelward.dev/v1alpha1): a request to vet one reference.

People (``modelward vetting request``), CI and, opt-in per namespace, the admission webhook create
them; the controller runs each in a Job and records the outcome in ``status``. One resource per
reference and namespace, named ``vet-`` + the first 40 hex digits of the SHA-256 of the canonical
reference, so asking twice finds the first request.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

GROUP = "modelward.dev"
VERSION = "v1alpha1"
PLURAL = "modelvettings"
KIND = "ModelVetting"
API_VERSION = f"{GROUP}/{VERSION}"

Phase = Literal["Pending", "Running", "Succeeded", "Failed"]
PHASES: tuple[Phase, ...] = ("Pending", "Running", "Succeeded", "Failed")
#: Who asked (``spec.requestedBy``): a person or CI through the CLI, or the webhook.
REQUESTERS = ("cli", "webhook", "revet")


class MalformedVetting(ValueError):
    """A ModelVetting whose spec names no reference."""


def vetting_name(reference: str) -> str:
    """The resource name for a canonical reference."""
    return "vet-" + hashlib.sha256(reference.encode()).hexdigest()[:40]


def new_vetting(
    reference: str,
    namespace: str,
    *,
    requested_by: str = "cli",
    policy: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The body of a new request for ``reference`` (a ``ModelRef.canonical``)."""
    spec: dict[str, Any] = {"reference": reference, "requestedBy": requested_by}
    if policy:
        spec["policy"] = policy
    if reason:
        spec["reason"] = reason[:1024]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": vetting_name(reference),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "modelward"},
        },
        "spec": spec,
    }


def spec_reference(obj: dict[str, Any]) -> str:
    """``spec.reference`` of a ModelVetting; ``MalformedVetting`` when it has none."""
    spec = obj.get("spec")
    reference = spec.get("reference") if isinstance(spec, dict) else None
    if not isinstance(reference, str) or not reference:
        raise MalformedVetting("spec.reference is missing or not a string")
    return reference


def phase_of(obj: dict[str, Any]) -> Phase:
    """The recorded phase; a request nobody has looked at yet is Pending."""
    status = obj.get("status") or {}
    phase = status.get("phase") if isinstance(status, dict) else None
    return phase if phase in PHASES else "Pending"

"""The ``ModelVerdict`` custom resource (modelward.dev/v1alpha1) and its mapping to verdicts.

One resource per model reference, named ``mv-`` + the first 40 hex digits of the SHA-256 of the
reference, so a reference always maps to the same name and any string is a valid reference.
"""

from __future__ import annotations

import hashlib
from typing import Any

from modelward.engine.verdicts.signed import SignedVerdict

GROUP = "modelward.dev"
VERSION = "v1alpha1"
PLURAL = "modelverdicts"
KIND = "ModelVerdict"
API_VERSION = f"{GROUP}/{VERSION}"


class MalformedResource(ValueError):
    """A ModelVerdict whose spec does not describe a verdict."""


def resource_name(reference: str) -> str:
    return "mv-" + hashlib.sha256(reference.encode()).hexdigest()[:40]


def to_resource(signed: SignedVerdict, resource_version: str | None = None) -> dict[str, Any]:
    envelope = signed.envelope
    metadata: dict[str, Any] = {
        "name": resource_name(signed.reference),
        "labels": {"app.kubernetes.io/managed-by": "modelward"},
    }
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "reference": signed.reference,
            "digest": signed.digest,
            "outcome": signed.outcome,
            "createdAt": signed.created_at,
            "keyId": signed.key_id,
            "envelope": {
                "payloadType": envelope.get("payloadType"),
                "payload": envelope.get("payload"),
                "signatures": [
                    {"keyid": s.get("keyid"), "sig": s.get("sig")}
                    for s in envelope.get("signatures") or []
                    if isinstance(s, dict)
                ],
            },
        },
    }


def from_resource(obj: Any) -> SignedVerdict:
    """The verdict a ModelVerdict holds; ``MalformedResource`` when it holds none.

    A resource whose name is not the one derived from its reference is refused, so that
    every reference has exactly one place in the cluster.
    """
    if not isinstance(obj, dict):
        raise MalformedResource("not an object")
    spec, name = obj.get("spec"), (obj.get("metadata") or {}).get("name")
    if not isinstance(spec, dict):
        raise MalformedResource(f"{name}: no spec")
    fields: dict[str, str] = {}
    for key in ("reference", "outcome", "createdAt", "keyId"):
        value = spec.get(key)
        if not isinstance(value, str):
            raise MalformedResource(f"{name}: spec.{key} missing or not a string")
        fields[key] = value
    envelope, digest = spec.get("envelope"), spec.get("digest")
    if not isinstance(envelope, dict):
        raise MalformedResource(f"{name}: spec.envelope missing or not an object")
    if digest is not None and not isinstance(digest, str):
        raise MalformedResource(f"{name}: spec.digest is not a string")
    if name != resource_name(fields["reference"]):
        raise MalformedResource(f"{name}: the name does not match spec.reference")
    return SignedVerdict(
        envelope=envelope,
        reference=fields["reference"],
        digest=digest,
        created_at=fields["createdAt"],
        outcome=fields["outcome"],
        key_id=fields["keyId"],
    )

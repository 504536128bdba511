"""Artifacts attached to a model in its registry (OCI referrers): signatures and attestations.

A model signature (an OpenSSF model-signing Sigstore bundle) is pushed as a referrer whose
``subject`` is the manifest of the unpacked model and whose one layer is the bundle; a verdict
attestation is a DSSE envelope around an in-toto statement, attached the same way. Finding one
lists the referrers of that manifest (the referrers API, else the ``sha256-<hex>`` tag index) and
downloads the newest of the wanted type, verified against its digest like every blob.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from modelward.engine.errors import ResolveError
from modelward.engine.refs import ModelRef, OciName
from modelward.engine.resolvers.fetch import FetchSettings
from modelward.engine.resolvers.oci.manifests import Descriptor, Manifest, ManifestError, parse
from modelward.engine.resolvers.oci.referrers import Blob, list_referrers, push_referrer
from modelward.engine.resolvers.oci.remote import Remote, Resolved

SIGNATURE_TYPE: Final = "application/vnd.dev.sigstore.bundle.v0.3+json"
ATTESTATION_TYPE: Final = "application/vnd.in-toto+json"
DSSE_LAYER: Final = "application/vnd.dsse.envelope.v1+json"


@dataclass(frozen=True)
class ModelManifest:
    """The manifest a model's files were unpacked from: what attachments refer to."""

    remote: Remote
    resolved: Resolved
    descriptor: Descriptor


def model_manifest(ref: ModelRef, settings: FetchSettings | None = None) -> ModelManifest:
    """Resolve ``ref`` (an ``oci://``/``kit://`` reference) to the manifest of its files."""
    settings = settings or FetchSettings.from_environ()
    name = OciName.parse(ref.raw.strip().partition("://")[2])
    remote = Remote(ref.raw, name, settings, lambda label, total: lambda n: None)
    resolved = remote.resolve()
    body = remote.manifest_bytes(resolved.manifest_digest)
    descriptor = Descriptor(resolved.manifest.media_type, resolved.manifest_digest, len(body))
    return ModelManifest(remote, resolved, descriptor)


def attach(model: ModelManifest, artifact_type: str, data: bytes, media_type: str) -> str:
    """Push ``data`` as a referrer of the model's manifest; return the referrer's digest."""
    pushed = push_referrer(
        model.remote.client, model.descriptor, artifact_type, [Blob(data, media_type)]
    )
    return pushed.digest


def newest_attached(remote: Remote, manifest_digest: str, artifact_type: str) -> Path | None:
    """The first layer of the newest referrer of ``artifact_type``, downloaded and verified."""
    found = list_referrers(remote.client, manifest_digest, artifact_type)
    if not found:
        return None
    referrer = found[-1]
    try:
        manifest = parse(remote.manifest_bytes(referrer.digest, referrer.size), "")
    except ManifestError as exc:
        raise ResolveError(remote.label, f"referrer {referrer.digest}: {exc}") from None
    if not isinstance(manifest, Manifest) or not manifest.layers:
        raise ResolveError(remote.label, f"referrer {referrer.digest}: no layer to read")
    return remote.blob(manifest.layers[0])

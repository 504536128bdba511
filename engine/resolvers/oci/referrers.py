"""Artifacts that refer to a manifest (signatures, attestations), by the OCI referrers API.

A registry without the API (``GET /v2/NAME/referrers/DIGEST`` answers 404) keeps them in an
index tagged ``sha256-HEX`` (the referrers tag schema); both are read, and a push updates that
index when the registry did not take the ``subject`` itself (no ``OCI-Subject`` header).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from modelward.engine.resolvers.oci.client import MAX_MANIFEST, RegistryClient
from modelward.engine.resolvers.oci.manifests import Descriptor, Index, ManifestError, parse

OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
EMPTY: Final = "application/vnd.oci.empty.v1+json"
EMPTY_BYTES: Final = b"{}"


@dataclass(frozen=True)
class Blob:
    """One layer of a referrer to push."""

    data: bytes
    media_type: str
    annotations: dict[str, str] = field(default_factory=dict)


def fallback_tag(digest: str) -> str:
    return digest.replace(":", "-")


def list_referrers(
    client: RegistryClient, digest: str, artifact_type: str | None = None
) -> list[Descriptor]:
    """Descriptors of the manifests whose ``subject`` is ``digest``, optionally of one type."""
    what = f"referrers of {digest}"
    response = client.request(
        "GET", f"/v2/{client.repository}/referrers/{digest}", what=what, ok=(404,),
        headers={"Accept": OCI_INDEX},
    )  # fmt: skip
    if response.status_code == 404:
        response = client.request(
            "GET", f"/v2/{client.repository}/manifests/{fallback_tag(digest)}", what=what,
            ok=(404,), headers={"Accept": OCI_INDEX},
        )  # fmt: skip
    if response.status_code == 404:
        return []
    found = _index(client, response.content, what)
    return [d for d in found.manifests if artifact_type in (None, d.artifact_type)]


def push_referrer(
    client: RegistryClient, subject: Descriptor, artifact_type: str, blobs: Sequence[Blob],
    annotations: dict[str, str] | None = None,
) -> Descriptor:  # fmt: skip
    """Push ``blobs`` as an artifact whose subject is ``subject``; return its descriptor."""
    layers = [push_blob(client, b.data, b.media_type, b.annotations) for b in blobs]
    config = push_blob(client, EMPTY_BYTES, EMPTY)
    doc: dict[str, Any] = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
        "config": config.as_json(), "layers": [d.as_json() for d in layers],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest,
                    "size": subject.size},
    }  # fmt: skip
    if annotations:
        doc["annotations"] = annotations
    body = json.dumps(doc, sort_keys=True).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    response = put_manifest(client, digest, body, OCI_MANIFEST)
    pushed = Descriptor(
        OCI_MANIFEST, digest, len(body), annotations or {}, artifact_type=artifact_type
    )
    if not response.headers.get("OCI-Subject"):
        _add_to_fallback(client, subject.digest, pushed)
    return pushed


def push_blob(
    client: RegistryClient, data: bytes, media_type: str, annotations: dict[str, str] | None = None
) -> Descriptor:
    """A monolithic upload (``POST`` then ``PUT ?digest=``)."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    what = f"upload of blob {digest}"
    started = client.request("POST", f"/v2/{client.repository}/blobs/uploads/", what=what)
    location = started.headers.get("Location")
    if not location:
        raise client.failure(what, "the registry gave no upload location")
    if location.startswith("/"):
        location = client.base + location
    sep = "&" if "?" in location else "?"
    client.request(
        "PUT", f"{location}{sep}digest={digest}", what=what, data=data,
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    return Descriptor(media_type, digest, len(data), annotations or {})


def put_manifest(client: RegistryClient, reference: str, body: bytes, media_type: str) -> Any:
    return client.request(
        "PUT", f"/v2/{client.repository}/manifests/{reference}", what=f"push of {reference}",
        data=body, headers={"Content-Type": media_type},
    )  # fmt: skip


def _add_to_fallback(client: RegistryClient, subject: str, entry: Descriptor) -> None:
    tag = fallback_tag(subject)
    response = client.request(
        "GET", f"/v2/{client.repository}/manifests/{tag}", what=f"index {tag}", ok=(404,),
        headers={"Accept": OCI_INDEX},
    )  # fmt: skip
    entries = (
        [] if response.status_code == 404 else list(_index(client, response.content, tag).manifests)
    )
    entries = [e for e in entries if e.digest != entry.digest] + [entry]
    doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [e.as_json() for e in entries]}
    put_manifest(client, tag, json.dumps(doc, sort_keys=True).encode(), OCI_INDEX)


def _index(client: RegistryClient, body: bytes, what: str) -> Index:
    if len(body) > MAX_MANIFEST:
        raise client.failure(what, f"larger than {MAX_MANIFEST} bytes; refused")
    try:
        found = parse(body, OCI_INDEX)
    except ManifestError as exc:
        raise client.failure(what, str(exc)) from None
    if not isinstance(found, Index):
        raise client.failure(what, "not an image index")
    return found

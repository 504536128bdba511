"""Manifests and indexes, parsed at the boundary: descriptors with sha256 digests only."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

INDEX_TYPES: Final = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
PLATFORM_ENV: Final = "MODELWARD_PLATFORM"
DEFAULT_PLATFORM: Final = "linux/amd64"
MAX_LAYERS_DECLARED: Final = 100_000
SHA256: Final = re.compile(r"^sha256:[0-9a-f]{64}$")


class ManifestError(ValueError):
    """A manifest that cannot be used, with the reason."""


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)
    artifact_type: str | None = None
    platform: str | None = None

    @property
    def hex(self) -> str:
        return self.digest.removeprefix("sha256:")

    @property
    def title(self) -> str | None:
        return self.annotations.get("org.opencontainers.image.title")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest}
        out["size"] = self.size
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    artifact_type: str | None


@dataclass(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]
    artifact_type: str | None


def parse(body: bytes, served_type: str) -> Manifest | Index:
    """A manifest or an index from its bytes; ``ManifestError`` says what is wrong."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise ManifestError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ManifestError("not a JSON object")
    if doc.get("schemaVersion") != 2:
        raise ManifestError(f"schemaVersion {doc.get('schemaVersion')!r} is not supported (2)")
    media_type = _str(doc.get("mediaType")) or served_type
    artifact_type = _str(doc.get("artifactType"))
    if "manifests" in doc or media_type in INDEX_TYPES:
        entries = _list(doc.get("manifests"), "manifests")
        return Index(media_type, tuple(descriptor(e) for e in entries), artifact_type)
    if "config" not in doc:
        raise ManifestError("neither a manifest (config, layers) nor an index (manifests)")
    layers = _list(doc.get("layers") or [], "layers")
    if len(layers) > MAX_LAYERS_DECLARED:
        raise ManifestError(f"{len(layers)} layers declared")
    config = descriptor(doc["config"])
    return Manifest(media_type, config, tuple(descriptor(e) for e in layers), artifact_type)


def descriptor(raw: Any) -> Descriptor:
    if not isinstance(raw, dict):
        raise ManifestError("a descriptor is not a JSON object")
    digest, size = raw.get("digest"), raw.get("size")
    if not isinstance(digest, str) or not SHA256.match(digest):
        algorithm = digest.partition(":")[0] if isinstance(digest, str) else digest
        raise ManifestError(f"only sha256 digests are supported (got {algorithm!r})")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"descriptor {digest} has no valid size")
    annotations = raw.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise ManifestError(f"descriptor {digest}: annotations are not an object")
    platform = raw.get("platform")
    return Descriptor(
        media_type=_str(raw.get("mediaType")) or "",
        digest=digest,
        size=size,
        annotations={str(k): str(v) for k, v in annotations.items()},
        artifact_type=_str(raw.get("artifactType")),
        platform=_platform(platform) if isinstance(platform, dict) else None,
    )


def wanted_platform(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    value = (env.get(PLATFORM_ENV) or DEFAULT_PLATFORM).strip()
    if not re.match(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$", value):
        raise ManifestError(f"{PLATFORM_ENV}={value!r} is not os/arch[/variant]")
    return value


def choose(index: Index, platform: str) -> Descriptor:
    """The entry to follow: an artifact (no platform), else the image for ``platform``."""
    images = [d for d in index.manifests if d.platform and not d.platform.startswith("unknown/")]
    artifacts = [d for d in index.manifests if not d.platform]
    if not images:
        if not artifacts:
            raise ManifestError("the index lists no manifests")
        return artifacts[0]
    for entry in images:
        if entry.platform == platform or (
            platform.count("/") == 1 and entry.platform.rsplit("/", 1)[0] == platform  # type: ignore[union-attr]
        ):
            return entry
    offered = ", ".join(sorted({d.platform or "" for d in images}))
    raise ManifestError(
        f"no image for platform {platform} (the index offers {offered}); set {PLATFORM_ENV}"
    )


def _platform(raw: dict[str, Any]) -> str:
    parts = [str(raw.get("os") or "unknown"), str(raw.get("architecture") or "unknown")]
    if raw.get("variant"):
        parts.append(str(raw["variant"]))
    return "/".join(parts)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ManifestError(f"{name} is not a list")
    return value

"""Where an OCI reference points: tag → digest once, manifests verified, blobs fetched verified.

Works online through ``RegistryClient`` or offline from the cache only; in both cases every
manifest's bytes are checked against the digest they are known by before they are parsed.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from modelward.engine.errors import ResolveError
from modelward.engine.refs import OciName
from modelward.engine.resolvers.fetch import (
    OFFLINE_ENV,
    FetchSettings,
    ProgressFactory,
    verified_download,
)
from modelward.engine.resolvers.oci.cache import OciCache
from modelward.engine.resolvers.oci.client import RegistryClient
from modelward.engine.resolvers.oci.manifests import (
    Descriptor,
    Index,
    Manifest,
    ManifestError,
    choose,
    parse,
    wanted_platform,
)

MAX_INDEX_DEPTH: Final = 2


@dataclass(frozen=True)
class Resolved:
    """The manifest to unpack, the digest the reference resolved to and the platform chosen."""

    digest: str  # what the tag (or the reference's digest) names: manifest or index
    manifest_digest: str
    manifest: Manifest
    platform: str | None


class Remote:
    """Manifests and blobs of one reference, from the registry or (offline) the cache."""

    def __init__(
        self, label: str, name: OciName, settings: FetchSettings, progress: ProgressFactory
    ) -> None:
        self.label = label
        self.name = name
        self.settings = settings
        self.cache = OciCache(settings.cache_dir)
        self._progress = progress
        self._client: RegistryClient | None = None
        self._lock = threading.Lock()  # blobs are fetched from several threads

    @property
    def client(self) -> RegistryClient:
        with self._lock:
            if self._client is None:
                self._client = RegistryClient(
                    self.name.registry, self.name.repository, timeout=self.settings.timeout,
                    label=self.label,
                )  # fmt: skip
            return self._client

    def resolve(self) -> Resolved:
        digest = self.name.digest or self._tag_digest(self.name.tag or "latest")
        found = self._parse(self.manifest_bytes(digest), digest)
        target, platform = digest, None
        for _ in range(MAX_INDEX_DEPTH):
            if isinstance(found, Manifest):
                break
            entry = self._choose(found, target)
            platform, target = entry.platform, entry.digest
            found = self._parse(self.manifest_bytes(target, entry.size), target)
        if not isinstance(found, Manifest):
            raise ResolveError(self.label, f"{self._where()}: indexes nested too deeply")
        return Resolved(digest, target, found, platform)

    def blob(self, layer: Descriptor) -> Path:
        """The verified blob of ``layer``; ``DigestMismatch`` when its bytes are not it."""
        cached = self.cache.cached_blob(layer.digest)
        if cached is not None:
            return cached
        if self.settings.offline:
            raise self._offline(f"blob {layer.digest} is not in the cache")
        dest = self.cache.blob(layer.digest)
        verified_download(
            self.client.blob_opener(layer.digest), dest,
            label=f"{self.label}: blob {layer.digest}", sha256=layer.hex, size=layer.size,
            progress=self._progress(f"{self.name.repository}@{layer.digest[:19]}", layer.size),
        )  # fmt: skip
        return dest

    # -- manifests --------------------------------------------------------------------------

    def _tag_digest(self, tag: str) -> str:
        location = self.name.location
        if self.settings.offline:
            digest = self.cache.recall_tag(location, tag)
            if digest is None:
                raise self._offline(f"{location}:{tag} was never resolved into this cache")
            return digest
        fetched = self.client.manifest(tag)
        actual = "sha256:" + hashlib.sha256(fetched.body).hexdigest()
        if fetched.claimed_digest and fetched.claimed_digest != actual:
            raise ResolveError(
                self.label,
                f"{self._where()}: manifest {tag}: the registry says it is "
                f"{fetched.claimed_digest} but its bytes are {actual} (source.digest_mismatch)",
            )
        self.cache.store_blob(actual, fetched.body)
        self.cache.remember_tag(location, tag, actual)
        return actual

    def manifest_bytes(self, digest: str, size: int | None = None) -> bytes:
        cached = self.cache.cached_blob(digest)
        if cached is not None:
            return cached.read_bytes()
        if self.settings.offline:
            raise self._offline(f"manifest {digest} is not in the cache")
        body = self.client.manifest(digest).body
        actual = "sha256:" + hashlib.sha256(body).hexdigest()
        if actual != digest or (size is not None and len(body) != size):
            raise ResolveError(
                self.label,
                f"{self._where()}: manifest {digest}: its bytes are {actual} "
                f"({len(body)} bytes); refused (source.digest_mismatch)",
            )
        self.cache.store_blob(digest, body)
        return body

    def _parse(self, body: bytes, digest: str) -> Manifest | Index:
        try:
            return parse(body, "")
        except ManifestError as exc:
            raise ResolveError(self.label, f"{self._where()}: manifest {digest}: {exc}") from None

    def _choose(self, index: Index, digest: str) -> Descriptor:
        try:
            return choose(index, wanted_platform())
        except ManifestError as exc:
            raise ResolveError(self.label, f"{self._where()}: index {digest}: {exc}") from None

    def _where(self) -> str:
        return self.name.location

    def _offline(self, what: str) -> ResolveError:
        return ResolveError(
            self.label,
            f"{self._where()}: offline ({OFFLINE_ENV}) and {what} "
            f"({self.cache.base}); run once online to fill the cache",
        )

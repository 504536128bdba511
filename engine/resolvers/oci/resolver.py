"""``OciResolver``: ``oci://`` and ``kit://`` references through the OCI cache.

The reference resolves to a manifest digest (``remote``); its unpacked tree is reused from the
cache or built from verified blobs (``unpack``), then read like any local folder. Findings made
while unpacking (layers left out, digest mismatches) go to ``source.findings``; a tree in which
a blob did not match its digest is never cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from modelward.engine.errors import ResolveError
from modelward.engine.facts import Finding
from modelward.engine.refs import ModelRef, OciName
from modelward.engine.resolvers.fetch import (
    DigestMismatch,
    FetchSettings,
    ProgressFactory,
    no_progress,
)
from modelward.engine.resolvers.local import LocalResolver, NoModelFiles
from modelward.engine.resolvers.oci.layouts import FILEPATH, MODELKIT_CONFIG, layout_of, plan
from modelward.engine.resolvers.oci.limits import DEFAULT_LIMITS, UnpackLimits
from modelward.engine.resolvers.oci.manifests import Descriptor
from modelward.engine.resolvers.oci.remote import Remote, Resolved
from modelward.engine.resolvers.oci.unpack import Tree
from modelward.engine.source import ModelSource

MAX_KITFILE: Final = 4 << 20
FETCH_WORKERS: Final = 3  # blobs fetched at once, as many as `oras pull` fetches
EMPTY_CONFIG: Final = "application/vnd.oci.empty.v1+json"


class OciResolver:
    def __init__(
        self,
        settings: FetchSettings | None = None,
        progress: ProgressFactory = no_progress,
        *,
        limits: UnpackLimits = DEFAULT_LIMITS,
    ) -> None:
        self._settings = settings
        self._progress = progress
        self._limits = limits

    def resolve(self, ref: ModelRef) -> ModelSource:
        settings = self._settings or FetchSettings.from_environ()
        name = OciName.parse(ref.raw.strip().partition("://")[2])
        remote = Remote(ref.raw, name, settings, self._progress)
        resolved = remote.resolve()
        cached = remote.cache.load_tree(resolved.manifest_digest)
        if cached is None:
            root, record = self._build(remote, resolved)
        else:
            root, record = cached
        source = _read_tree(ref, root, record)
        origin = dict(record["origin"])
        tag = name.tag or (None if name.digest else "latest")
        origin.update(location=name.location, tag=tag, digest=resolved.digest)
        source.metadata["resolved_revision"] = resolved.digest
        source.metadata["origin"] = origin
        if not settings.offline:  # referrer lists are not cached: offline sees no signature
            signature = _attached_signature(remote, resolved)
            if signature is not None:
                source.metadata["signature_file"] = signature
        return source

    def _build(self, remote: Remote, resolved: Resolved) -> tuple[Path, dict[str, Any]]:
        manifest = resolved.manifest
        layout = layout_of(manifest)
        scratch = remote.cache.scratch(resolved.manifest_digest)
        tree = Tree(scratch, self._limits)
        tainted = False
        layers = manifest.layers
        if len(layers) > self._limits.max_layers:
            tree.note(
                "source.layer.too_many_layers", "critical",
                f"the manifest lists {len(layers)} layers (at most {self._limits.max_layers}); "
                f"only the first {self._limits.max_layers} were read",
            )  # fmt: skip
            layers = layers[: self._limits.max_layers]
        if layout == "modelkit" and manifest.config.media_type == MODELKIT_CONFIG:
            tainted |= self._kitfile(remote, manifest.config, tree)
        blobs = _fetch_blobs(remote, layout, layers)
        for layer in layers:
            tainted |= self._layer(layout, layer, blobs, tree)
        record = {
            "findings": [f.model_dump(mode="json") for f in tree.findings],
            "origin": _origin(resolved, layout, layers),
        }
        if tainted:  # nothing unverified is cached: this tree serves this scan only
            return scratch, record
        return remote.cache.commit_tree(scratch, resolved.manifest_digest, record), record

    def _layer(
        self, layout: str, layer: Descriptor, blobs: dict[str, Path | DigestMismatch], tree: Tree
    ) -> bool:
        """Add one layer to ``tree``; True when its blob did not match its digest."""
        how = plan(layout, layer)  # type: ignore[arg-type]
        label = f"{layer.digest} ({layer.media_type or 'no media type'})"
        if how.kind == "unknown":
            tree.note(
                "source.layer.unknown_media_type", "high",
                f"layer {label}: not a layer type modelward can read; not scanned",
            )  # fmt: skip
            return False
        blob = blobs[layer.digest]
        if isinstance(blob, DigestMismatch):
            tree.note("source.digest_mismatch", "critical", f"layer {label}: {blob.reason}")
            return True
        if how.kind == "raw":
            tree.place_file(blob, how.path or "", label)
        else:
            tree.apply_tar(blob, label, how.compression, image=layout == "image", under=how.under)
        return False

    def _kitfile(self, remote: Remote, config: Descriptor, tree: Tree) -> bool:
        if config.size > MAX_KITFILE:
            tree.note(
                "source.layer.too_large", "high",
                f"the Kitfile (config {config.digest}) is {config.size} bytes; not read",
            )  # fmt: skip
            return False
        try:
            blob = remote.blob(config)
        except DigestMismatch as exc:
            message = f"Kitfile {config.digest}: {exc.reason}"
            tree.note("source.digest_mismatch", "critical", message)
            return True
        tree.write_bytes("Kitfile", blob.read_bytes())
        return False


def _fetch_blobs(
    remote: Remote, layout: str, layers: tuple[Descriptor, ...]
) -> dict[str, Path | DigestMismatch]:
    """The verified blob (or its mismatch) of every readable layer, several fetched at once.

    Layers are still applied one by one, in order; any other failure is raised for the first
    layer (in manifest order) that had one."""
    wanted: dict[str, Descriptor] = {}
    for layer in layers:
        if plan(layout, layer).kind != "unknown":  # type: ignore[arg-type]
            wanted.setdefault(layer.digest, layer)

    def fetch(layer: Descriptor) -> Path | DigestMismatch:
        try:
            return remote.blob(layer)
        except DigestMismatch as exc:
            return exc

    if len(wanted) <= 1:
        return {digest: fetch(layer) for digest, layer in wanted.items()}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(FETCH_WORKERS, len(wanted)), "oci-blob") as pool:
        futures = {digest: pool.submit(fetch, layer) for digest, layer in wanted.items()}
        try:
            return {digest: future.result() for digest, future in futures.items()}
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _origin(resolved: Resolved, layout: str, layers: tuple[Descriptor, ...]) -> dict[str, Any]:
    manifest = resolved.manifest
    return {
        "scheme": "oci",
        "location": None,  # filled per reference
        "media_type": manifest.media_type,
        "artifact_type": manifest.artifact_type or _config_type(manifest.config, layout),
        "layout": layout,
        "platform": resolved.platform,
        "manifest_digest": resolved.manifest_digest,
        "layers": [
            {"digest": d.digest, "media_type": d.media_type, "size": d.size, "title": _title(d)}
            for d in layers
        ],
    }


def _attached_signature(remote: Remote, resolved: Resolved) -> Path | None:
    """The newest model signature attached to the unpacked manifest (OCI referrers), if any.

    A registry that cannot list referrers leaves the model unsigned (the signature facts say
    so and signature policies judge it) rather than failing the scan.
    """
    from modelward.engine.resolvers.oci.attached import SIGNATURE_TYPE, newest_attached

    try:
        return newest_attached(remote, resolved.manifest_digest, SIGNATURE_TYPE)
    except ResolveError:
        return None


def _title(layer: Descriptor) -> str | None:
    """The file a layer declares: its OCI title, else the ModelPack file path."""
    return layer.title or layer.annotations.get(FILEPATH)


def _config_type(config: Descriptor, layout: str) -> str | None:
    """An artifact without ``artifactType`` is typed by its config (unless that is empty)."""
    if layout == "image" or config.media_type in ("", EMPTY_CONFIG):
        return None
    return config.media_type


def _read_tree(ref: ModelRef, root: Path, record: dict[str, Any]) -> ModelSource:
    findings = [Finding.model_validate(f) for f in record.get("findings") or []]
    local = ModelRef(raw=str(root), scheme="local", location=str(root))
    try:
        source = LocalResolver().resolve(local)
    except NoModelFiles:
        if not findings:
            raise
        source = ModelSource(ref, root)  # every layer was left out: the findings say why
    source.ref = ref
    source.findings[:0] = findings
    return source

"""Which kind of artifact a manifest is, and how each of its layers becomes files.

* CNCF ModelPack: ``application/vnd.cncf.model.*``; raw layers are one file at the
  ``org.cncf.model.filepath`` annotation, tar layers are unpacked.
* KitOps ModelKit: ``application/vnd.kitops.modelkit.*``; the Kitfile (the config blob) is kept
  as the file ``Kitfile``.
* Generic ORAS artifact: each layer is one file named by ``org.opencontainers.image.title``
  (a directory pushed by ``oras`` is a tar+gzip layer annotated ``io.deis.oras.content.unpack``).
* Container image (KServe modelcars, image volumes): layers are applied in order, with whiteouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from modelward.engine.resolvers.oci.manifests import Descriptor, Manifest

Layout = Literal["modelpack", "modelkit", "oras", "image"]
#: How a layer is read: one file, a tar (with compression), or not at all (``unknown``).
Kind = Literal["raw", "tar", "unknown"]
Compression = Literal["none", "gzip", "zstd"]

MODELPACK_CONFIG: Final = "application/vnd.cncf.model.config.v1+json"
MODELPACK_MANIFEST: Final = "application/vnd.cncf.model.manifest.v1+json"
MODELPACK_PREFIX: Final = "application/vnd.cncf.model."
MODELKIT_CONFIG: Final = "application/vnd.kitops.modelkit.config.v1+json"
MODELKIT_PREFIX: Final = "application/vnd.kitops.modelkit."
IMAGE_CONFIGS: Final = (
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
)
IMAGE_LAYERS: Final = {
    "application/vnd.oci.image.layer.v1.tar": "none",
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
}
FILEPATH: Final = "org.cncf.model.filepath"
ORAS_UNPACK: Final = "io.deis.oras.content.unpack"
_SUFFIXES: Final[dict[str, Compression]] = {
    ".tar": "none", ".tar+gzip": "gzip", ".tar.gzip": "gzip", ".tar+zstd": "zstd",
}  # fmt: skip


@dataclass(frozen=True)
class LayerPlan:
    """How to turn one layer into files: ``kind``, ``compression`` and, for raw, the path."""

    kind: Kind
    compression: Compression = "none"
    path: str | None = None
    #: Unpack under this folder (an ORAS directory layer), relative to the root.
    under: str = ""


def layout_of(manifest: Manifest) -> Layout:
    config = manifest.config.media_type
    if MODELPACK_CONFIG in (config, manifest.artifact_type) or MODELPACK_MANIFEST in (
        manifest.media_type,
        manifest.artifact_type,
    ):
        return "modelpack"
    if config == MODELKIT_CONFIG or (manifest.artifact_type or "").startswith(MODELKIT_PREFIX):
        return "modelkit"
    if config in IMAGE_CONFIGS and manifest.artifact_type is None:
        return "image"
    return "oras"


def plan(layout: Layout, layer: Descriptor) -> LayerPlan:
    """How ``layer`` is read in ``layout``; ``unknown`` layers are reported, not guessed."""
    media = layer.media_type
    if layout == "image" or media in IMAGE_LAYERS:
        compression = IMAGE_LAYERS.get(media)
        return LayerPlan("tar", compression) if compression else LayerPlan("unknown")  # type: ignore[arg-type]
    if layout == "modelpack" and media.startswith(MODELPACK_PREFIX):
        return _modelpack(layer)
    if layout == "modelkit" and media.startswith(MODELKIT_PREFIX):
        return _by_suffix(media, layer)
    if layer.annotations.get(ORAS_UNPACK, "").lower() == "true" and layer.title:
        return LayerPlan("tar", "gzip" if "gzip" in media else "none", under=layer.title)
    if layer.title:
        return LayerPlan("raw", path=layer.title)
    return LayerPlan("unknown")


def _modelpack(layer: Descriptor) -> LayerPlan:
    media = layer.media_type
    if media.endswith(".raw"):
        path = layer.annotations.get(FILEPATH) or layer.title
        return LayerPlan("raw", path=path) if path else LayerPlan("unknown")
    return _by_suffix(media, layer)


def _by_suffix(media: str, layer: Descriptor) -> LayerPlan:
    for suffix, compression in _SUFFIXES.items():
        if media.endswith(suffix):
            return LayerPlan("tar", compression)
    if layer.title:
        return LayerPlan("raw", path=layer.title)
    return LayerPlan("unknown")

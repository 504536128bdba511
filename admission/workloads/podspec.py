"""The model references of a pod spec: its containers and the volumes that carry models.

All of ``initContainers``, ``containers`` and ``ephemeralContainers`` are scanned. Image volumes
(``volumes[].image.reference``, Kubernetes >= 1.31) and ModelPack CSI volumes are references
themselves. A container-local path in a model position is no reference when it lies under the
mount of a volume that carries one (such a volume, or one a loader container fills); any other
path stays an unresolvable reference.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from modelward.admission.workloads.candidate import Candidate
from modelward.admission.workloads.container import ContainerScan, scan_container
from modelward.admission.workloads.fields import at, entries, mapping, text
from modelward.admission.workloads.normalise import covered, local_path

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
MODELPACK_DRIVER = "model.csi.modelpack.org"
KSERVE_MOUNT = "/mnt/models"
NO_MODEL_REF = "a ModelPack CSI volume without volumeAttributes.modelRef"


def pod_candidates(
    value: object, path: str, *, kserve: bool = False, model_mounts: Sequence[str] = ()
) -> list[Candidate]:
    """Every reference in the pod spec at ``path``; ``model_mounts`` hold models for all."""
    spec = mapping(value, path)
    found, carriers = _volumes(spec, path)
    scans = list(_containers(spec, path, kserve))
    for scan in scans:
        if scan.loader and scan.candidates:
            carriers |= {volume for volume, _ in scan.mounts}
    if kserve and any(c.source == "kserve" for scan in scans for c in scan.candidates):
        model_mounts = [KSERVE_MOUNT, *model_mounts]  # STORAGE_URI: KServe fetches it there
    for scan in scans:
        mounts = [*model_mounts, *(where for volume, where in scan.mounts if volume in carriers)]
        found += drop_covered(scan.candidates, mounts)
    return found


def drop_covered(candidates: Sequence[Candidate], mounts: Sequence[str]) -> list[Candidate]:
    """``candidates`` without the paths that lie under ``mounts``."""
    kept = []
    for candidate in candidates:
        where = None if candidate.unresolvable else local_path(candidate.raw, candidate.style)
        if where is None or not covered(where, mounts):
            kept.append(candidate)
    return kept


def _containers(spec: Mapping[str, object], path: str, kserve: bool) -> Iterator[ContainerScan]:
    for key in CONTAINER_LISTS:
        list_path = at(path, key)
        for index, item in enumerate(entries(spec.get(key), list_path)):
            yield scan_container(item, at(list_path, index), kserve=kserve)


def _volumes(spec: Mapping[str, object], path: str) -> tuple[list[Candidate], set[str]]:
    """References of image and ModelPack volumes, and the names of those volumes."""
    found: list[Candidate] = []
    carriers: set[str] = set()
    volumes_path = at(path, "volumes")
    for index, item in enumerate(entries(spec.get("volumes"), volumes_path)):
        volume_path = at(volumes_path, index)
        volume = mapping(item, volume_path)
        name = text(volume.get("name"), at(volume_path, "name")) or ""
        candidate = _image_volume(volume, volume_path) or _modelpack(volume, volume_path)
        if candidate is not None:
            found.append(candidate)
            carriers.add(name)
    return found, carriers


def _image_volume(volume: Mapping[str, object], path: str) -> Candidate | None:
    if volume.get("image") is None:
        return None
    image_path = at(path, "image")
    reference_path = at(image_path, "reference")
    reference = text(mapping(volume["image"], image_path).get("reference"), reference_path)
    if not reference:
        return Candidate("", "oci", reference_path, "image-volume", unresolvable="no reference")
    return Candidate(reference, "oci", reference_path, "image-volume")


def _modelpack(volume: Mapping[str, object], path: str) -> Candidate | None:
    csi_path = at(path, "csi")
    csi = mapping(volume.get("csi"), csi_path)
    if text(csi.get("driver"), at(csi_path, "driver")) != MODELPACK_DRIVER:
        return None
    attributes_path = at(csi_path, "volumeAttributes")
    attributes = mapping(csi.get("volumeAttributes"), attributes_path)
    ref_path = at(attributes_path, "modelRef")
    reference = text(attributes.get("modelRef"), ref_path)
    if not reference:
        return Candidate("", "oci", ref_path, "modelpack", unresolvable=NO_MODEL_REF)
    return Candidate(reference, "oci", ref_path, "modelpack")

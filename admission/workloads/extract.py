"""Find the model references a workload object will load (Pod, controllers, KServe).

Pods, the controllers that template them (Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob) and KServe resources are read; every other kind has no
references. The opt-in annotation (``modelward.dev/models`` by default, on the object and on its
pod template) lists references separated by commas or whitespace; they are added to the ones
found elsewhere and never replace or remove any. Wrongly typed or absurdly large fields raise
``MalformedObject``: the API server validates real objects, so the caller denies such a one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from modelward.admission.errors import MalformedObject
from modelward.admission.workloads.candidate import Candidate
from modelward.admission.workloads.fields import (
    MAX_ENTRIES,
    LimitExceeded,
    at,
    mapping,
    text,
    work_budget,
)
from modelward.admission.workloads.kserve import (
    inference_service,
    llm_inference_service,
    trained_model,
)
from modelward.admission.workloads.normalise import Resolution, resolve
from modelward.admission.workloads.podspec import pod_candidates

DEFAULT_ANNOTATION = "modelward.dev/models"
KSERVE_SOURCE_URI = "internal.serving.kserve.io/storage-initializer-sourceuri"
POD_TEMPLATE_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}
)
KSERVE_KINDS = {
    "InferenceService": inference_service,
    "LLMInferenceService": llm_inference_service,
    "TrainedModel": trained_model,
}
HANDLED_KINDS = frozenset({"Pod", "CronJob", *POD_TEMPLATE_KINDS, *KSERVE_KINDS})
_LIST_SEPARATORS = re.compile(r"[,\s]+")


@dataclass(frozen=True)
class ModelReference:
    """One model a workload refers to, and where it was found."""

    raw: str  # the text as written in the object
    reference: str | None  # ModelRef.canonical, or None when it cannot be resolved
    pinned: bool
    origin: str  # field path, e.g. "spec.template.spec.containers[0].args"
    container: str | None  # container name; None for pod- or resource-level fields
    # kserve, storage-initializer, modelcar, vllm, tgi, tgi-default, sglang, huggingfaceserver,
    # triton, shell, env, args (model flags of other programs), image-volume, kitops, modelpack,
    # annotation
    source: str
    unresolvable: str | None = None  # why ``reference`` is None (valueFrom, runtime pull, ...)
    trust_remote_code: bool = False


def extract_references(
    obj: Mapping[str, Any],
    *,
    annotation: str = DEFAULT_ANNOTATION,
    kind: str | None = None,
    max_references: int | None = None,
) -> list[ModelReference]:
    """Every model reference in ``obj``, read as ``kind`` (by default its own ``kind``);
    raises ``MalformedObject`` on wrongly typed fields, ``TooManyReferences`` as soon as more
    containers than ``max_references`` name a model."""
    if not isinstance(obj, Mapping):
        raise MalformedObject("object", "expected an object")
    with work_budget(max_references):
        if kind is None:
            kind = text(obj.get("kind"), "kind") or ""
        return _dedupe(_reference(c) for c in _candidates(obj, kind, annotation))


def _candidates(obj: Mapping[str, Any], kind: str, annotation: str) -> list[Candidate]:
    if kind not in HANDLED_KINDS:
        return []
    found = _metadata(obj.get("metadata"), "metadata", annotation)
    if kind == "Pod":
        return found + pod_candidates(obj.get("spec"), "spec")
    if kind in KSERVE_KINDS:
        return found + KSERVE_KINDS[kind](obj)
    spec = mapping(obj.get("spec"), "spec")
    if kind == "CronJob":
        job = mapping(spec.get("jobTemplate"), "spec.jobTemplate")
        found += _metadata(job.get("metadata"), "spec.jobTemplate.metadata", annotation)
        spec, path = mapping(job.get("spec"), "spec.jobTemplate.spec"), "spec.jobTemplate.spec"
    else:
        path = "spec"
    return found + _template(spec.get("template"), at(path, "template"), annotation)


def _template(value: object, path: str, annotation: str) -> list[Candidate]:
    template = mapping(value, path)
    found = _metadata(template.get("metadata"), at(path, "metadata"), annotation)
    return found + pod_candidates(template.get("spec"), at(path, "spec"))


def _metadata(value: object, path: str, annotation: str) -> list[Candidate]:
    """References in the opt-in annotation and in KServe's storage-initializer annotation."""
    annotations_path = at(path, "annotations")
    annotations = mapping(mapping(value, path).get("annotations"), annotations_path)
    found = []
    origin = at(annotations_path, annotation)
    written = text(annotations.get(annotation), origin) or ""
    listed = [item for item in _LIST_SEPARATORS.split(written) if item]
    if len(listed) > MAX_ENTRIES:
        raise LimitExceeded(origin, f"more than {MAX_ENTRIES} references, the limit on one list")
    found += [Candidate(item, "id", origin, "annotation") for item in listed]
    origin = at(annotations_path, KSERVE_SOURCE_URI)
    source_uri = text(annotations.get(KSERVE_SOURCE_URI), origin)
    if source_uri and source_uri.strip():
        found.append(Candidate(source_uri, "uri", origin, "storage-initializer"))
    return found


def _reference(candidate: Candidate) -> ModelReference:
    resolution = (
        Resolution(None, False, candidate.unresolvable)
        if candidate.unresolvable
        else resolve(candidate.raw, candidate.style, candidate.revision)
    )
    return ModelReference(
        raw=candidate.raw,
        reference=resolution.reference,
        pinned=resolution.pinned,
        origin=candidate.origin,
        container=candidate.container,
        source=candidate.source,
        unresolvable=resolution.unresolvable,
        trust_remote_code=candidate.trust_remote_code,
    )


def _dedupe(references: Iterable[ModelReference]) -> list[ModelReference]:
    """One entry per (reference, container, source); unresolvable ones also by origin."""
    kept: dict[tuple[object, ...], ModelReference] = {}
    for ref in references:
        key: tuple[object, ...] = (ref.reference, ref.container, ref.source)
        if ref.reference is None:
            key += (ref.raw, ref.origin, ref.unresolvable)
        first = kept.get(key)
        if first is None:
            kept[key] = ref
        elif ref.trust_remote_code and not first.trust_remote_code:
            kept[key] = replace(first, trust_remote_code=True)
    return list(kept.values())

"""Find the model references a workload object will load (Pod, controllers, KServe)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_ANNOTATION = "modelward.dev/models"


@dataclass(frozen=True)
class ModelReference:
    """One model a workload refers to, and where it was found."""

    raw: str  # the text as written in the object
    reference: str | None  # ModelRef.canonical, or None when it cannot be resolved
    pinned: bool
    origin: str  # field path, e.g. "spec.template.spec.containers[0].args"
    container: str | None  # container name; None for pod- or resource-level fields
    # kserve, storage-initializer, vllm, tgi, env, image-volume, kitops, modelpack, annotation
    source: str
    unresolvable: str | None = None  # why ``reference`` is None (valueFrom, runtime pull, ...)
    trust_remote_code: bool = False


def extract_references(
    obj: Mapping[str, Any], *, annotation: str = DEFAULT_ANNOTATION
) -> list[ModelReference]:
    """Every model reference in ``obj``; raises ``MalformedObject`` on wrongly typed fields."""
    raise NotImplementedError

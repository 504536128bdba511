"""Resolving and comparing in the OCI tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelward.engine.collectors.files import FilesCollector
from modelward.engine.collectors.hashes import HashesCollector
from modelward.engine.pipeline import collect_facts
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.fetch import FetchSettings
from modelward.engine.resolvers.local import LocalResolver
from modelward.engine.resolvers.oci.limits import DEFAULT_LIMITS, UnpackLimits
from modelward.engine.resolvers.oci.resolver import OciResolver
from modelward.engine.source import ModelSource


def resolve(
    ref: str, cache: Path, *, offline: bool = False, limits: UnpackLimits = DEFAULT_LIMITS,
    timeout: float = 10.0,
) -> ModelSource:  # fmt: skip
    settings = FetchSettings(cache, offline=offline, timeout=timeout)
    return OciResolver(settings, limits=limits).resolve(ModelRef.parse(ref))


def file_facts(source: ModelSource) -> list[dict[str, Any]]:
    """``files`` facts (path, size, sha256, format) as the pipeline reports them."""
    facts = collect_facts(source, collectors=(FilesCollector, HashesCollector))
    return [f.model_dump() for f in facts.files]


def local_facts(root: Path) -> list[dict[str, Any]]:
    return file_facts(LocalResolver().resolve(ModelRef.parse(str(root))))


def finding_ids(source: ModelSource) -> dict[str, str]:
    return {f.id: f.severity for f in source.findings}

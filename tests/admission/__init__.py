"""Tests of the admission front end."""

from __future__ import annotations

from typing import Any

import yaml

from modelward.admission.workloads.extract import ModelReference, extract_references


def manifest(text: str) -> dict[str, Any]:
    """A Kubernetes object written as YAML."""
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def extract(text: str, **kwargs: Any) -> list[ModelReference]:
    """The references of the object ``text`` describes."""
    return extract_references(manifest(text), **kwargs)


def only(refs: list[ModelReference], **fields: Any) -> ModelReference:
    """The one reference whose fields equal ``fields``."""
    matching = [r for r in refs if all(getattr(r, k) == v for k, v in fields.items())]
    assert len(matching) == 1, (fields, refs)
    return matching[0]

"""``modelward bom``: a CycloneDX 1.6 ML-BOM for a model, built from its facts.

Layout (see docs/bom.md):

* ``metadata``: ``timestamp`` and ``tools`` (modelward).
* one ``machine-learning-model`` component: name, licences (from the card), ``hashes`` = the
  OpenSSF model-signing manifest digest (SHA-256 over the file digests, the facts'
  ``subject.digest``), ``modelCard.modelParameters`` (task, datasets), ``pedigree.ancestors``
  (base models) and one nested ``file`` component per model file with its SHA-256.
* with package metadata: a ``library`` component for the Python package that ships the model,
  with the licence the package declares, containing the model component.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from modelward.engine import __version__
from modelward.engine.bom.cyclonedx import validate
from modelward.engine.bom.licenses import PackageInfo, license_entries
from modelward.engine.collectors import Collector
from modelward.engine.collectors.bom import is_bom_name
from modelward.engine.collectors.card import CardCollector, CardDocument, card_title
from modelward.engine.errors import Error
from modelward.engine.facts import Facts, FileFacts
from modelward.engine.pipeline import DEFAULT_COLLECTORS, collect_facts
from modelward.engine.refs import HF_REPO
from modelward.engine.source import ModelSource

SPEC_VERSION: Final = "1.6"
SCHEMA_URL: Final = "http://cyclonedx.org/schema/bom-1.6.schema.json"
ML_MODEL: Final = "machine-learning-model"
MANIFEST_NOTE: Final = (
    "SHA-256 is the OpenSSF model-signing manifest digest (files serialization) of the model"
)
REQUIRED_COLLECTORS: Final = ("files", "hashes")


@dataclass(frozen=True)
class BomRequest:
    """What the user adds to the facts: names, version, the shipping package, a fixed clock."""

    name: str | None = None
    version: str | None = None
    package: PackageInfo | None = None
    timestamp: str | None = None


def generate_bom(
    ref: str | ModelSource, request: BomRequest, progress: Callable[[int], None] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Collect the facts of ``ref`` and build its BOM; also return warnings for the user."""
    card = CardCollector()

    def same_card() -> Collector:
        return card

    collectors = tuple(same_card if make is CardCollector else make for make in DEFAULT_COLLECTORS)
    facts = collect_facts(ref, progress=progress, collectors=collectors)
    for name in REQUIRED_COLLECTORS:
        status = facts.collection.collectors.get(name)
        if status is None or status.status != "ok":
            reason = status.reason if status is not None else "did not run"
            raise Error(
                f"{facts.subject.ref}: cannot build a BOM: the {name} collector failed: {reason}"
            )
    # files the resolver left out (symlinks out of the model, special files) are not in the BOM
    warnings = [
        f"not in the BOM: {f.message}" for f in facts.scan.findings if f.technique == "resolver"
    ]
    if card.document is not None and card.document.error:
        warnings.append(f"{card.document.path}: {card.document.error}")
    bom = build_bom(facts, card.document, request)
    errors = validate(json.dumps(bom), SPEC_VERSION)
    if errors:
        raise Error(f"the generated BOM does not validate: {'; '.join(errors)}")
    return bom, warnings


def build_bom(facts: Facts, card: CardDocument | None, request: BomRequest) -> dict[str, Any]:
    model = model_component(facts, card, request)
    top = model if request.package is None else package_component(request.package, model)
    timestamp = request.timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "$schema": SCHEMA_URL,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {
                "components": [{"type": "application", "name": "modelward", "version": __version__}]
            },
        },
        "components": [top],
    }


def model_component(facts: Facts, card: CardDocument | None, request: BomRequest) -> dict[str, Any]:
    group, name = _identity(facts, card, request)
    component: dict[str, Any] = {"type": ML_MODEL, "bom-ref": "model"}
    if group:
        component["group"] = group
    component["name"] = name
    revision = facts.subject.resolved_revision
    if revision is None and facts.subject.pinned:
        revision = facts.subject.revision
    version = request.version or revision
    if version:
        component["version"] = version
    if facts.subject.scheme == "hf":
        at = f"@{revision.lower()}" if revision else ""
        component["purl"] = f"pkg:huggingface/{facts.subject.location}{at}"
    properties = [{"name": "modelward:hashes", "value": MANIFEST_NOTE}]
    if facts.card is not None and facts.card.license:
        component["licenses"] = license_entries([facts.card.license])
        properties.append(
            {"name": "modelward:license.source", "value": f"model card ({facts.card.path})"}
        )
    if facts.manifest is not None:
        component["hashes"] = [{"alg": "SHA-256", "content": facts.manifest.digest}]
    if facts.card is not None and facts.card.tags:
        component["tags"] = facts.card.tags
    model_card = _model_card(facts, card)
    if model_card:
        component["modelCard"] = model_card
    if facts.card is not None and facts.card.base_model:
        component["pedigree"] = {"ancestors": [ancestor(b) for b in facts.card.base_model]}
    component["properties"] = properties
    component["components"] = [file_component(f) for f in facts.files if not is_bom_name(f.path)]
    return component


def package_component(package: PackageInfo, model: dict[str, Any]) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "library", "bom-ref": "package", "name": package.name}
    if package.version:
        component["version"] = package.version
    component["purl"] = package.purl
    if package.licenses:
        component["licenses"] = license_entries(package.licenses)
        source = f"package metadata ({package.license_field})"
        component["properties"] = [{"name": "modelward:license.source", "value": source}]
    component["components"] = [model]
    return component


def file_component(file: FileFacts) -> dict[str, Any]:
    if file.sha256 is None:
        raise Error(f"{file.path}: no SHA-256 digest; cannot build a BOM")
    return {
        "type": "file",
        "bom-ref": f"file:{file.path}",
        "name": file.path,
        "hashes": [{"alg": "SHA-256", "content": file.sha256}],
        "properties": [
            {"name": "modelward:format", "value": file.format},
            {"name": "modelward:size", "value": str(file.size)},
        ],
    }


def ancestor(base_model: str) -> dict[str, Any]:
    """A base model as a pedigree ancestor; a Hugging Face ``org/name`` also gets its purl."""
    entry: dict[str, Any] = {"type": ML_MODEL}
    org, sep, name = base_model.partition("/")
    if sep and HF_REPO.match(base_model):
        entry.update(group=org, name=name, purl=f"pkg:huggingface/{base_model}")
    else:
        entry["name"] = base_model
    return entry


def _model_card(facts: Facts, card: CardDocument | None) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    task = card.front_matter.get("pipeline_tag") if card is not None else None
    if isinstance(task, str) and task.strip():
        parameters["task"] = task.strip()
    if facts.card is not None and facts.card.datasets:
        parameters["datasets"] = [{"type": "dataset", "name": d} for d in facts.card.datasets]
    return {"modelParameters": parameters} if parameters else {}


def _identity(
    facts: Facts, card: CardDocument | None, request: BomRequest
) -> tuple[str | None, str]:
    """(group, name): the hub repository, else --name, the card's title or the folder name."""
    if request.name:
        return None, request.name
    if facts.subject.scheme == "hf":
        org, sep, name = facts.subject.location.partition("/")
        return (org, name) if sep else (None, org)
    title = card_title(card) if card is not None else None
    if title:
        return None, title
    folder = Path(facts.subject.location) if facts.subject.scheme in ("local", "file") else None
    return None, (folder.resolve().name if folder is not None else "") or "model"

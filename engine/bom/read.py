"""What the policies read from a CycloneDX ML-BOM, taken from the raw JSON document.

* Models: every component of ``type == "machine-learning-model"``, at any depth, including
  ``metadata.component``.
* Base models: the models' ``pedigree.ancestors``, named by their ``pkg:huggingface`` purl
  (``org/name``), else ``group/name``, else ``name``.
* Datasets: ``modelCard.modelParameters.datasets[]``: inline entries by ``name`` (else
  ``contents.url``), references by the name of the component whose ``bom-ref`` they name (else
  the reference itself).
* Licences: ``licenses[]`` (``license.id``, else ``license.name``, or ``expression``) of the
  models and of the components that contain them (the package that distributes a model declares
  a licence for it too). The BOM's own ``metadata.licenses`` is not the model's and is ignored.
* File hashes: components of ``type == "file"`` name a path relative to the model root in
  ``name``; their ``SHA-256`` hashes are the digests to compare with the files.

Anything of the wrong JSON type is ignored: the schema validation reports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote

ML_MODEL: Final = "machine-learning-model"
HF_PURL: Final = "pkg:huggingface/"


@dataclass
class BomContent:
    base_models: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)
    #: path -> the lowercase SHA-256 digests the BOM records for it
    file_hashes: dict[str, list[str]] = field(default_factory=dict)


def read_bom(document: dict[str, Any]) -> BomContent:
    content = BomContent()
    by_ref = {c["bom-ref"]: c for c, _ in _walk(document) if isinstance(c.get("bom-ref"), str)}
    for component, parents in _walk(document):
        kind = component.get("type")
        if kind == ML_MODEL:
            _read_model(component, parents, by_ref, content)
        elif kind == "file":
            _read_file(component, content)
    return content


def _walk(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every component with the components that contain it (outermost first)."""
    metadata = document.get("metadata")
    roots: list[Any] = []
    if isinstance(metadata, dict) and isinstance(metadata.get("component"), dict):
        roots.append(metadata["component"])
    if isinstance(document.get("components"), list):
        roots.extend(document["components"])
    stack: list[tuple[Any, list[dict[str, Any]]]] = [(c, []) for c in reversed(roots)]
    while stack:
        component, parents = stack.pop()
        if not isinstance(component, dict):
            continue
        yield component, parents
        children = component.get("components")
        if isinstance(children, list):
            stack.extend((c, [*parents, component]) for c in reversed(children))


def _read_model(
    model: dict[str, Any],
    parents: list[dict[str, Any]],
    by_ref: dict[str, dict[str, Any]],
    content: BomContent,
) -> None:
    pedigree = model.get("pedigree")
    if isinstance(pedigree, dict):
        for ancestor in _dicts(pedigree.get("ancestors")):
            _add(content.base_models, identity(ancestor))
    for dataset in _dicts(_get(model, "modelCard", "modelParameters", "datasets")):
        _add(content.datasets, _dataset_name(dataset, by_ref))
    for component in (*parents, model):
        for license_text in licenses(component.get("licenses")):
            _add(content.licenses, license_text)


def _read_file(component: dict[str, Any], content: BomContent) -> None:
    name = component.get("name")
    if not isinstance(name, str) or not name:
        return
    path = name.removeprefix("./")
    for entry in _dicts(component.get("hashes")):
        digest = entry.get("content")
        if entry.get("alg") == "SHA-256" and isinstance(digest, str):
            _add(content.file_hashes.setdefault(path, []), digest.lower())


def identity(component: dict[str, Any]) -> str | None:
    """``org/name`` from a Hugging Face purl, else ``group/name``, else ``name``."""
    purl = component.get("purl")
    if isinstance(purl, str) and purl.lower().startswith(HF_PURL):
        path = purl[len(HF_PURL) :].split("#", 1)[0].split("?", 1)[0].split("@", 1)[0]
        parts = [unquote(p) for p in path.split("/") if p]
        if parts:
            return "/".join(parts)
    name, group = component.get("name"), component.get("group")
    if not isinstance(name, str) or not name:
        return None
    return f"{group}/{name}" if isinstance(group, str) and group else name


def licenses(value: object) -> list[str]:
    """The licence ids, names and expressions of a ``licenses`` array."""
    out: list[str] = []
    for entry in _dicts(value):
        license_ = entry.get("license")
        if isinstance(license_, dict):
            text = license_.get("id") or license_.get("name")
        else:
            text = entry.get("expression")
        if isinstance(text, str) and text.strip():
            _add(out, text.strip())
    return out


def _dataset_name(dataset: dict[str, Any], by_ref: dict[str, dict[str, Any]]) -> str | None:
    ref = dataset.get("ref")
    if isinstance(ref, str):
        target = by_ref.get(ref)
        return (identity(target) if target is not None else None) or ref
    name = dataset.get("name")
    if isinstance(name, str) and name:
        return name
    url = _get(dataset, "contents", "url")
    return url if isinstance(url, str) and url else None


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _add(items: list[str], value: str | None) -> None:
    if value and value not in items:
        items.append(value)

"""Workload objects from YAML manifests, and the AdmissionReviews the CLI builds for them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from modelward.engine.errors import Error, yaml_detail

REVIEW_API_VERSION = "admission.k8s.io/v1"
MAX_LIST_DEPTH = 8
MAX_NODES = 1_000_000  # values per object, aliases expanded


class ManifestError(Error):
    """A manifest that is not YAML, or a document that is not a Kubernetes object."""


def load_manifest(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Every object of a multi-document manifest (``List`` items expanded), with its document
    number (counted from 1)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ManifestError(f"{path}: cannot read the manifest: {reason}") from None
    objects: list[tuple[int, dict[str, Any]]] = []
    number = 0
    try:
        for number, document in enumerate(yaml.safe_load_all(text), start=1):
            if document is not None:
                objects.extend((number, obj) for obj in _objects(path, number, document))
    except yaml.YAMLError as exc:
        detail = yaml_detail(exc)
        raise ManifestError(f"{path}: document {number + 1}: not valid YAML: {detail}") from None
    return objects


def _objects(path: Path, number: int, document: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    where = f"{path}: document {number}"
    if not isinstance(document, dict):
        raise ManifestError(f"{where}: not a Kubernetes object (a mapping with kind)")
    kind = document.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ManifestError(f"{where}: the object has no kind")
    items = document.get("items")
    if kind.endswith("List") and isinstance(items, list):
        if depth >= MAX_LIST_DEPTH:
            raise ManifestError(f"{where}: Lists nested more than {MAX_LIST_DEPTH} deep")
        for item in items:
            yield from _objects(path, number, item, depth + 1)
        return
    yield _as_json(document, where)


def _as_json(document: dict[str, Any], where: str) -> dict[str, Any]:
    """The object as the API server would send it: YAML dates become strings, and aliases are
    expanded within a node budget (a YAML "billion laughs" must not expand without bound)."""
    budget = [MAX_NODES]
    try:
        value: dict[str, Any] = _plain(document, budget)
    except RecursionError:
        raise ManifestError(f"{where}: the object is nested too deeply") from None
    except OverflowError:
        raise ManifestError(f"{where}: the object has more than {MAX_NODES} values") from None
    return value


def _plain(value: Any, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise OverflowError
    if isinstance(value, dict):
        return {str(k): _plain(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, budget) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # dates, timestamps, binary


def review_for(
    obj: Mapping[str, Any],
    *,
    uid: str,
    namespace: str,
    operation: str = "CREATE",
    username: str = "modelward",
) -> dict[str, Any]:
    """An AdmissionReview (v1) asking to ``operation`` ``obj`` in ``namespace``."""
    api_version = obj.get("apiVersion")
    group, _, version = (api_version if isinstance(api_version, str) else "").rpartition("/")
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    request: dict[str, Any] = {
        "uid": uid,
        "kind": {"group": group, "version": version, "kind": obj.get("kind")},
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": username, "groups": []},
        "object": obj,
        "dryRun": False,
    }
    if isinstance(name, str):
        request["name"] = name
    if operation == "UPDATE":
        request["oldObject"] = obj
    return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "request": request}


def object_namespace(obj: Mapping[str, Any], default: str) -> str:
    metadata = obj.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
    return namespace if isinstance(namespace, str) and namespace else default

"""KServe resources: InferenceService, LLMInferenceService and TrainedModel.

An InferenceService component (predictor, transformer, explainer) is a pod spec plus model
specs: ``model`` and the legacy framework keys (``sklearn``, ``pytorch``, ...). Each model spec
is also the ``kserve-container`` (its ``args`` and ``env`` count) and names storage through
``storageUri``, ``storageUris[].uri`` or ``storage`` (a storage Secret key: unresolvable). KServe
mounts fetched storage at ``/mnt/models``, so paths there are not references by themselves.
"""

from __future__ import annotations

from collections.abc import Mapping

from modelward.admission.workloads.candidate import Candidate
from modelward.admission.workloads.container import ContainerScan, scan_container
from modelward.admission.workloads.fields import at, entries, mapping, text
from modelward.admission.workloads.podspec import KSERVE_MOUNT, drop_covered, pod_candidates

COMPONENTS = ("predictor", "transformer", "explainer")
MODEL_SPECS = (
    "model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "pmml",
    "lightgbm", "paddle", "huggingface", "art", "alibi",
)  # fmt: skip
KSERVE_CONTAINER = "kserve-container"
MODEL_STORAGE = "the storage location is assembled at runtime from a storage Secret key"
LLM_POD_SPECS = (("template",), ("worker",), ("prefill", "template"), ("prefill", "worker"))


def inference_service(obj: Mapping[str, object]) -> list[Candidate]:
    """References of a ``serving.kserve.io`` InferenceService."""
    spec = mapping(obj.get("spec"), "spec")
    found: list[Candidate] = []
    for name in COMPONENTS:
        if spec.get(name) is not None:
            found += _component(spec[name], at("spec", name))
    return found


def llm_inference_service(obj: Mapping[str, object]) -> list[Candidate]:
    """References of an LLMInferenceService: ``spec.model.uri`` and its pod templates."""
    spec = mapping(obj.get("spec"), "spec")
    uri_path = "spec.model.uri"
    uri = text(mapping(spec.get("model"), "spec.model").get("uri"), uri_path)
    found = [Candidate(uri, "uri", uri_path, "kserve")] if uri else []
    mounts = [KSERVE_MOUNT] if uri else []
    for keys in LLM_POD_SPECS:
        value: object = spec
        path = "spec"
        for key in keys:
            value = mapping(value, path).get(key)
            path = at(path, key)
        found += pod_candidates(value, path, kserve=True, model_mounts=mounts)
    return found


def trained_model(obj: Mapping[str, object]) -> list[Candidate]:
    """References of a TrainedModel: ``spec.model.storageUri``."""
    spec = mapping(obj.get("spec"), "spec")
    return _storage(mapping(spec.get("model"), "spec.model"), "spec.model")[0]


def _component(value: object, path: str) -> list[Candidate]:
    component = mapping(value, path)
    storage, mounts, scans = _model_specs(component, path)
    model_mounts = [KSERVE_MOUNT, *mounts] if storage else []
    found = storage + pod_candidates(component, path, kserve=True, model_mounts=model_mounts)
    worker = component.get("workerSpec")
    if worker is not None:
        found += pod_candidates(
            worker, at(path, "workerSpec"), kserve=True, model_mounts=model_mounts
        )
    if any(c.source == "kserve" for c in [*found, *(c for s in scans for c in s.candidates)]):
        model_mounts = [KSERVE_MOUNT, *mounts]
    for scan in scans:
        found += drop_covered(scan.candidates, model_mounts)
    return found


def _model_specs(
    component: Mapping[str, object], path: str
) -> tuple[list[Candidate], list[str], list[ContainerScan]]:
    """Storage of the component and its model specs, their mount paths, and the specs' scans."""
    storage, mounts = _storage(component, path)
    scans = []
    for key in MODEL_SPECS:
        if component.get(key) is None:
            continue
        key_path = at(path, key)
        model = mapping(component[key], key_path)
        more, more_mounts = _storage(model, key_path)
        storage, mounts = storage + more, mounts + more_mounts
        hf_server = key == "huggingface" or _format(model, key_path) == "huggingface"
        scans.append(
            scan_container(
                model, key_path, kserve=True, default_name=KSERVE_CONTAINER, hf_server=hf_server
            )
        )
    return storage, mounts, scans


def _format(model: Mapping[str, object], path: str) -> str:
    model_format = mapping(model.get("modelFormat"), at(path, "modelFormat"))
    return (text(model_format.get("name"), at(at(path, "modelFormat"), "name")) or "").lower()


def _storage(spec: Mapping[str, object], path: str) -> tuple[list[Candidate], list[str]]:
    """``storageUri``, ``storageUris`` and ``storage`` of one spec, and the mount paths named."""
    found, mounts = [], []
    uri = text(spec.get("storageUri"), at(path, "storageUri"))
    if uri:
        found.append(Candidate(uri, "uri", at(path, "storageUri"), "kserve"))
    uris_path = at(path, "storageUris")
    for index, item in enumerate(entries(spec.get("storageUris"), uris_path)):
        item_path = at(uris_path, index)
        entry = mapping(item, item_path)
        uri = text(entry.get("uri"), at(item_path, "uri"))
        mount = text(entry.get("mountPath"), at(item_path, "mountPath"))
        if uri:
            found.append(Candidate(uri, "uri", at(item_path, "uri"), "kserve"))
        if mount:
            mounts.append(mount)
    if spec.get("storage") is not None:
        found.append(_secret_storage(spec["storage"], at(path, "storage")))
    return found, mounts


def _secret_storage(value: object, path: str) -> Candidate:
    storage = mapping(value, path)
    key = text(storage.get("key"), at(path, "key"))
    where = text(storage.get("path"), at(path, "path"))
    raw = ":".join(part for part in (key, where) if part)
    return Candidate(raw, "uri", path, "kserve", unresolvable=MODEL_STORAGE)

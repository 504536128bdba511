"""Reading an AdmissionReview: the body limits, the envelope and the request fields admission uses.

Everything the API server may send is checked for type here, so the rest of the core works on an
``AdmissionRequest`` whose fields have the types they claim.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from modelward.admission.errors import InvalidReview

MAX_BODY_BYTES = 3 * 1024 * 1024  # the API server's own request limit is 3 MiB
API_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
JUDGED_OPERATIONS = ("CREATE", "UPDATE")


@dataclass(frozen=True)
class AdmissionRequest:
    """The fields of ``request`` the core reads, with their types checked."""

    api_version: str  # the review's apiVersion, answered in kind
    uid: str
    kind: str  # request.kind.kind, e.g. "Deployment": what the object is judged as
    group: str  # request.kind.group, "" for the core group
    group_version: str  # "apps/v1", "v1"
    namespace: str
    name: str
    operation: str
    username: str
    groups: tuple[str, ...]
    object: Mapping[str, Any] | None
    dry_run: bool

    @property
    def workload(self) -> str:
        """``Kind namespace/name`` (or ``Kind name`` for cluster-scoped objects)."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where or '(unnamed)'}"


def load_body(body: bytes) -> dict[str, Any]:
    """Decode a request body into the review mapping; raise ``InvalidReview`` when it is not one."""
    if not isinstance(body, bytes | bytearray | memoryview):
        _invalid(f"the body must be bytes, got {type(body).__name__}")
    if len(body) > MAX_BODY_BYTES:
        _invalid(f"the body is {len(body)} bytes, over the {MAX_BODY_BYTES}-byte limit")
    try:
        value = json.loads(bytes(body), parse_constant=_no_constant)
    except RecursionError:
        _invalid("the body is nested too deeply")
    except (ValueError, UnicodeDecodeError) as exc:
        _invalid(f"the body is not JSON: {_short(exc)}")
    if not isinstance(value, dict):
        _invalid(f"the body must be a JSON object, got {_json_type(value)}")
    read_request(value)
    return value


def read_request(review: Mapping[str, Any]) -> AdmissionRequest:
    """The checked request of ``review``; raise ``InvalidReview`` naming the first bad field."""
    if not isinstance(review, Mapping):
        _invalid(f"the review must be a JSON object, got {_json_type(review)}")
    api_version = review.get("apiVersion")
    if api_version not in API_VERSIONS:
        _invalid(f"apiVersion must be one of {', '.join(API_VERSIONS)}, got {_shown(api_version)}")
    if review.get("kind") != "AdmissionReview":
        _invalid(f"kind must be AdmissionReview, got {_shown(review.get('kind'))}")
    request = review.get("request")
    if not isinstance(request, Mapping):
        _invalid("request is missing" if request is None else "request must be an object")
    uid = _text(request, "uid", required=True)
    if not uid.strip():
        _invalid("request.uid is empty")
    operation = _text(request, "operation", required=True)
    if operation not in OPERATIONS:
        _invalid(f"request.operation must be one of {', '.join(OPERATIONS)}, got {operation!r}")
    obj = _object(request, operation)
    kind, group, group_version = _kind(request, obj)
    username, groups = _user(request)
    return AdmissionRequest(
        api_version=str(api_version),
        uid=uid,
        kind=kind,
        group=group,
        group_version=group_version,
        namespace=_text(request, "namespace") or _metadata_text(obj, "namespace"),
        name=_text(request, "name") or _metadata_text(obj, "name") or _generate_name(obj),
        operation=operation,
        username=username,
        groups=groups,
        object=obj,
        dry_run=_dry_run(review, request),
    )


def _object(request: Mapping[str, Any], operation: str) -> Mapping[str, Any] | None:
    """``request.object`` (UPDATE judges the new object; ``oldObject`` is never read)."""
    obj = request.get("object")
    if obj is None and operation in JUDGED_OPERATIONS:
        _invalid(f"request.object is missing for {operation}")
    if obj is not None and not isinstance(obj, Mapping):
        _invalid(f"request.object must be an object, got {_json_type(obj)}")
    if obj is not None and not isinstance(obj.get("metadata", {}), Mapping | None):
        _invalid("request.object.metadata must be an object")
    return obj


def kind_mismatch(request: AdmissionRequest) -> str | None:
    """Why ``request.object`` is not of the kind ``request.kind`` names, or None.

    The API server sends the object in the kind of ``request.kind``, so the two always agree on
    the kind and the API group; an object that says otherwise was not sent by it. An object
    without ``kind`` or ``apiVersion`` is judged as ``request.kind``.
    """
    obj = request.object or {}
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind is not None and kind != request.kind:
        return f"object.kind is {_shown(kind)} but request.kind is {request.kind!r}"
    if isinstance(api_version, str) and api_version.rpartition("/")[0] != request.group:
        group = request.group or "the core group"
        return f"object.apiVersion is {_shown(api_version)} but request.kind is in {group}"
    if api_version is not None and not isinstance(api_version, str):
        return f"object.apiVersion is {_json_type(api_version)}, not a string"
    return None


def _kind(request: Mapping[str, Any], obj: Mapping[str, Any] | None) -> tuple[str, str, str]:
    kind = request.get("kind")
    if not isinstance(kind, Mapping):
        _invalid("request.kind is missing" if kind is None else "request.kind must be an object")
    name = _text(kind, "kind", required=True, where="request.kind")
    group = _text(kind, "group", where="request.kind")
    version = _text(kind, "version", where="request.kind")
    api_version = obj.get("apiVersion") if obj is not None else None
    if isinstance(api_version, str) and api_version:
        return name, group, api_version
    return name, group, f"{group}/{version}" if group else version


def _user(request: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    info = request.get("userInfo")
    if info is None:
        return "", ()
    if not isinstance(info, Mapping):
        _invalid("request.userInfo must be an object")
    username = _text(info, "username", where="request.userInfo")
    groups = info.get("groups")
    if groups is None:
        return username, ()
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        _invalid("request.userInfo.groups must be a list of strings")
    return username, tuple(groups)


def _dry_run(review: Mapping[str, Any], request: Mapping[str, Any]) -> bool:
    """``request.dryRun``; some senders put ``dryRun`` beside ``request`` instead."""
    value = request.get("dryRun")
    if value is None:
        outer = review.get("dryRun")
        return outer if isinstance(outer, bool) else False
    if not isinstance(value, bool):
        _invalid(f"request.dryRun must be a boolean, got {_json_type(value)}")
    return value


def _text(
    mapping: Mapping[str, Any], key: str, *, required: bool = False, where: str = "request"
) -> str:
    value = mapping.get(key)
    if value is None:
        if required:
            _invalid(f"{where}.{key} is missing")
        return ""
    if not isinstance(value, str):
        _invalid(f"{where}.{key} must be a string, got {_json_type(value)}")
    return value


def _metadata_text(obj: Mapping[str, Any] | None, key: str) -> str:
    metadata = (obj or {}).get("metadata") or {}
    value = metadata.get(key)
    return value if isinstance(value, str) else ""


def _generate_name(obj: Mapping[str, Any] | None) -> str:
    return _metadata_text(obj, "generateName")


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _invalid(reason: str) -> NoReturn:
    raise InvalidReview(f"not an AdmissionReview: {reason}")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


_JSON_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),
    ((int, float), "a number"),
    (str, "a string"),
    (Mapping, "an object"),
    (list, "an array"),
)


def _shown(value: object) -> str:
    return repr(value)[:80] if isinstance(value, str) else _json_type(value)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__

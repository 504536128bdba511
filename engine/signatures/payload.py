"""The signed statement of a model signature: which files (or shards) with which digests.

Only ever parse a payload whose signature verified: the same bytes decoded by hand are an
unauthenticated claim.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Final

IN_TOTO_PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"
STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
PREDICATE_V1: Final = "https://model_signing/signature/v1.0"
#: The predicate of model signing v0.2, which lists the files as statement subjects.
PREDICATE_V01: Final = "https://model_signing/Digests/v0.1"
HEX: Final = re.compile(r"^[0-9a-f]+$")


class PayloadError(ValueError):
    """A verified payload that is not a model signing statement modelward understands."""


@dataclass(frozen=True)
class SignedResource:
    """One signed file, or one shard (``path:start:end``) of a file."""

    name: str
    path: str
    algorithm: str
    digest: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class SignedManifest:
    predicate_type: str
    model_name: str | None
    serialization: str
    hash_type: str
    ignore_paths: tuple[str, ...] | None
    resources: tuple[SignedResource, ...]

    def files(self) -> list[str]:
        """The signed file paths (shards folded into their file), sorted."""
        return sorted({r.path for r in self.resources})


def parse_payload(payload_type: str, payload: bytes) -> SignedManifest:
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise PayloadError(f"the signed payload is {payload_type!r}, not an in-toto statement")
    try:
        statement = json.loads(payload)
    except ValueError as exc:
        raise PayloadError(f"the signed payload is not JSON: {exc}") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise PayloadError("the signed payload is not an in-toto v1 statement")
    predicate_type = statement.get("predicateType")
    try:
        if predicate_type == PREDICATE_V1:
            return _parse_v1(statement)
        if predicate_type == PREDICATE_V01:
            return _parse_v01(statement)
    except (KeyError, TypeError, AttributeError) as exc:
        raise PayloadError(f"malformed model signing statement (at {exc})") from None
    raise PayloadError(f"predicate type {predicate_type!r} is not a model signature")


def _parse_v1(statement: dict[str, Any]) -> SignedManifest:
    subjects = statement["subject"]
    if not isinstance(subjects, list) or len(subjects) != 1:
        raise PayloadError("a model signing statement must have exactly one subject")
    root = _hex(subjects[0]["digest"]["sha256"])
    serialization = statement["predicate"]["serialization"]
    method = str(serialization["method"])
    hash_type = str(serialization["hash_type"])
    if method not in ("files", "shards"):
        raise PayloadError(f"unknown serialization method {method!r}")
    ignore = serialization.get("ignore_paths")
    ignore_paths = None if ignore is None else tuple(str(p) for p in ignore)
    resources = []
    hasher = hashlib.sha256()
    for item in statement["predicate"]["resources"]:
        digest = _hex(item["digest"])
        hasher.update(bytes.fromhex(digest))
        resources.append(_resource(str(item["name"]), str(item["algorithm"]), digest, method))
    if hasher.hexdigest() != root:
        raise PayloadError(
            "the manifest is inconsistent: the listed digests do not hash to the subject digest"
        )
    name = subjects[0].get("name")
    return SignedManifest(
        PREDICATE_V1, str(name) if name else None, method, hash_type, ignore_paths, tuple(resources)
    )


def _parse_v01(statement: dict[str, Any]) -> SignedManifest:
    resources = tuple(
        _resource(str(s["name"]), "sha256", _hex(s["digest"]["sha256"]), "files")
        for s in statement["subject"]
    )
    return SignedManifest(PREDICATE_V01, None, "files", "sha256", None, resources)


def _resource(name: str, algorithm: str, digest: str, method: str) -> SignedResource:
    if method == "files":
        return SignedResource(name, _clean(name), algorithm, digest)
    # "path:start:end": the path may itself contain ":", so split from the right.
    parts = name.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise PayloadError(f"shard name {name!r} is not path:start:end")
    start, end = int(parts[1]), int(parts[2])
    if end < start:
        raise PayloadError(f"shard {name!r} ends before it starts")
    return SignedResource(name, _clean(parts[0]), algorithm, digest, start, end)


def _clean(name: str) -> str:
    return PurePosixPath(name).as_posix() if name else name


def _hex(value: Any) -> str:
    if not isinstance(value, str) or not HEX.match(value.lower()) or len(value) % 2:
        raise PayloadError(f"digest {value!r} is not hexadecimal")
    return value.lower()

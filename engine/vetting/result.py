"""The result a vetting worker hands back: facts and the decision it claims, or a source error.

On the wire it is one line of text, ``modelward-result/v1 <base64 of gzip of the JSON>``: small
enough for a container's termination message (4096 bytes) for most models, and printed on the
worker's standard output as well, where a larger one is read from the pod log. The reader bounds
every size, since the worker's output is as untrusted as the model it read.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import zlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelward.engine.decision import Decision
from modelward.engine.errors import Error

RESULT_SCHEMA = "modelward.dev/vetting-result/v1"
PREFIX = "modelward-result/v1 "
#: The prefix of a termination message that points at the result in the container log.
LOG_POINTER = "modelward-result/v1-log "
#: What the kubelet keeps of a termination message.
TERMINATION_LIMIT = 4096
MAX_ENCODED = 16 * 1024 * 1024
MAX_JSON = 64 * 1024 * 1024


class MalformedResult(Error):
    """Worker output that is not a vetting result (or breaks a size limit)."""


class VettingResult(BaseModel):
    """Facts and the claimed decision (``status: scanned``), or why the source could not be read."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: Literal["modelward.dev/vetting-result/v1"] = Field(
        "modelward.dev/vetting-result/v1", alias="schema"
    )
    reference: str  # ModelRef.canonical of what was asked for
    status: Literal["scanned", "source-error"]
    tool: str  # "modelward <version>" of the worker
    facts: dict[str, Any] | None = None
    decision: Decision | None = None  # what the worker's own evaluation said (never trusted)
    error: str | None = None
    transient: bool = False  # a source error worth retrying (timeouts, 5xx, 429)
    seconds: float = 0.0

    @property
    def claimed_outcome(self) -> str | None:
        return self.decision.outcome if self.decision is not None else None


def encode_result(result: VettingResult) -> str:
    """The one-line wire form."""
    raw = result.model_dump_json(by_alias=True, exclude_none=True).encode()
    return PREFIX + base64.b64encode(gzip.compress(raw, mtime=0)).decode()


def log_pointer(line: str) -> str:
    """The termination message that says "the result is this line of the log"."""
    digest = hashlib.sha256(line.encode()).hexdigest()
    return f"{LOG_POINTER}sha256:{digest} {len(line)}"


def termination_message(line: str) -> str:
    """The line itself when the kubelet keeps it whole, else a pointer to the log."""
    return line if len(line) <= TERMINATION_LIMIT else log_pointer(line)


def parse_pointer(message: str) -> tuple[str, int] | None:
    """``(sha256 hex, length)`` of a log pointer, None for anything else."""
    if not message.startswith(LOG_POINTER):
        return None
    digest, _, size = message[len(LOG_POINTER) :].strip().partition(" ")
    if not digest.startswith("sha256:") or len(digest) != 71 or not size.isdigit():
        raise MalformedResult("a malformed log pointer in the termination message")
    return digest[7:], int(size)


def find_in_log(log: str, pointer: tuple[str, int]) -> str:
    """The result line of a container log that the pointer names."""
    digest, size = pointer
    for line in reversed(log.splitlines()):
        matches = line.startswith(PREFIX) and len(line) == size
        if matches and hashlib.sha256(line.encode()).hexdigest() == digest:
            return line
    raise MalformedResult("the container log holds no result matching the termination message")


def decode_result(line: str) -> VettingResult:
    """Parse one wire line; ``MalformedResult`` names what is wrong."""
    text = line.strip()
    if not text.startswith(PREFIX):
        raise MalformedResult(f"not a vetting result (starts {text[:40]!r})")
    if len(text) > MAX_ENCODED:
        raise MalformedResult(f"the result is larger than {MAX_ENCODED} bytes")
    try:
        packed = base64.b64decode(text[len(PREFIX) :], validate=True)
        raw = _gunzip(packed)
    except (binascii.Error, ValueError, OSError, EOFError, zlib.error) as exc:
        raise MalformedResult(f"the result does not decode: {exc}") from None
    try:
        return VettingResult.model_validate_json(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top)"
        raise MalformedResult(f"the result is invalid: {where}: {error['msg']}") from None


def _gunzip(packed: bytes) -> bytes:
    decompressor = zlib.decompressobj(wbits=31)
    raw = decompressor.decompress(packed, MAX_JSON + 1)
    if len(raw) > MAX_JSON or decompressor.unconsumed_tail:
        raise ValueError(f"more than {MAX_JSON} bytes once decompressed")
    if not decompressor.eof:
        raise ValueError("truncated")
    return raw

"""One audit-log entry: what happened to which verdict, chained to the entry before it.

An entry is a DSSE envelope (payload type ``ENTRY_PAYLOAD_TYPE``) signed with the verdict key.
Its *canonical bytes* are the envelope as compact JSON with sorted keys; the next entry's
``prev`` is ``sha256:`` + the hex SHA-256 of them (the first entry's ``prev`` is ``GENESIS``).
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import json
import socket
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, Field

from modelward.engine.verdicts.keys import key_id
from modelward.engine.verdicts.signed import SignedVerdict, utc_now
from modelward.engine.verdicts.sslib import CryptoSigner, Envelope, SSlibKey

ENTRY_PAYLOAD_TYPE = "application/vnd.modelward.audit-entry.v1+json"
ENTRY_SCHEMA = "modelward.dev/audit-entry/v1"
GENESIS = "sha256:" + "0" * 64
ECDSA_SCHEME = "ecdsa-sha2-nistp256"

Kind = Literal["publication", "revocation", "expiry"]
KINDS: tuple[str, ...] = ("publication", "revocation", "expiry")
#: Payload fields whose presence (truthy) makes a stored statement a revocation.
REVOCATION_FIELDS = ("revoked", "revocation", "revoked_at")


class LogEntry(BaseModel):
    """The signed payload of one entry."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    schema_: Literal["modelward.dev/audit-entry/v1"] = Field(
        default="modelward.dev/audit-entry/v1", alias="schema"
    )
    seq: int = Field(ge=0)
    time: str
    kind: Kind
    reference: str
    digest: str | None  # the model's digest, as the verdict states it
    verdict_digest: str  # sha256 of the stored verdict envelope's canonical bytes
    outcome: str
    actor: str
    reason: str
    prev: str

    def payload(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


def canonical(envelope: dict[str, Any]) -> bytes:
    """The bytes an entry (or a verdict envelope) is hashed over."""
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


def stored_entry(text: Any) -> dict[str, Any]:
    """An entry as a registry stored it; one that is not a JSON object is kept as an
    ``unreadable`` marker (verification reports it)."""
    try:
        decoded = json.loads(text)
    except (TypeError, ValueError):
        return {"unreadable": str(text)[:200]}
    return decoded if isinstance(decoded, dict) else {"unreadable": str(text)[:200]}


def digest_of(envelope: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(envelope)).hexdigest()


def entry_kind(signed: SignedVerdict) -> Kind:
    """The kind of entry storing ``signed`` records: ``revocation`` when its (unverified)
    payload says it revokes (``REVOCATION_FIELDS`` or a ``revoke`` outcome), else
    ``publication``."""
    try:
        payload = json.loads(base64.b64decode(signed.envelope["payload"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error, RecursionError):
        return "publication"
    if not isinstance(payload, dict):
        return "publication"
    if any(payload.get(field) for field in REVOCATION_FIELDS):
        return "revocation"
    decision = payload.get("decision")
    outcome = decision.get("outcome") if isinstance(decision, dict) else None
    return "revocation" if outcome in ("revoke", "revoked") else "publication"


def default_actor(role: str = "cli") -> str:
    """Who writes: ``ROLE:user@host`` (the controller passes its own role)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{role}:{user}@{socket.gethostname()}"


class EntrySigner:
    """Signs log entries with the verdict key, for one actor and reason."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, actor: str, reason: str) -> None:
        public = private_key.public_key()
        self.key_id = key_id(public)
        sslib = SSlibKey.from_crypto(public, keyid=self.key_id, scheme=ECDSA_SCHEME)
        self._signer = CryptoSigner(private_key, sslib)
        self.actor, self.reason = actor, reason

    def entry(
        self, seq: int, prev: str, signed: SignedVerdict, kind: Kind | None = None
    ) -> dict[str, Any]:
        """The signed envelope of entry ``seq`` recording ``signed``."""
        entry = LogEntry(
            seq=seq,
            time=utc_now(),
            kind=kind or entry_kind(signed),
            reference=signed.reference,
            digest=signed.digest,
            verdict_digest=digest_of(signed.envelope),
            outcome=signed.outcome,
            actor=self.actor,
            reason=self.reason,
            prev=prev,
        )
        envelope = Envelope(entry.payload(), ENTRY_PAYLOAD_TYPE, {})
        envelope.sign(self._signer)
        return dict(envelope.to_dict())

    def chain(
        self, head: tuple[int, str] | None, verdicts: list[tuple[SignedVerdict, Kind | None]]
    ) -> list[tuple[int, dict[str, Any]]]:
        """Entries for ``verdicts`` following ``head`` (seq, digest; None: an empty log)."""
        seq, prev = (head[0] + 1, head[1]) if head is not None else (0, GENESIS)
        out: list[tuple[int, dict[str, Any]]] = []
        for signed, kind in verdicts:
            envelope = self.entry(seq, prev, signed, kind)
            out.append((seq, envelope))
            seq, prev = seq + 1, digest_of(envelope)
        return out

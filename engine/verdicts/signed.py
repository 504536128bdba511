"""Verdicts: facts + decision for one model reference, signed as a DSSE envelope (ECDSA P-256).

The vetting service signs; admission trusts a verdict only when its envelope verifies against one
of the configured public keys, the signed reference is the one being looked up, and the verdict
is fresh (not expired, not older than a verdict already seen for that reference; see
``freshness``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelward.engine.decision import Decision
from modelward.engine.verdicts.freshness import Freshness
from modelward.engine.verdicts.keys import (
    VerdictError,
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
)
from modelward.engine.verdicts.revocation import Revocation
from modelward.engine.verdicts.scope import Scope
from modelward.engine.verdicts.sslib import CryptoSigner, Envelope, Key, SSlibKey, VerificationError

__all__ = [
    "PAYLOAD_TYPE",
    "VERDICT_SCHEMA",
    "SignedVerdict",
    "Verdict",
    "VerdictCheck",
    "VerdictError",
    "VerdictKeys",
    "VerdictSigner",
    "generate_keypair",
    "sign_verdict",
    "utc_now",
]

PAYLOAD_TYPE = "application/vnd.modelward.verdict.v1+json"
VERDICT_SCHEMA = "modelward.dev/verdict/v1"
ECDSA_SCHEME = "ecdsa-sha2-nistp256"
#: Payload fields left out when unset (added after the first release of the schema).
OPTIONAL_FIELDS = ("expires_at", "scope", "revocation")
#: How many checks ``VerdictKeys`` remembers (each holds one decoded verdict).
MEMO_SIZE = 1024


class Verdict(BaseModel):
    """The signed statement (the DSSE payload)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: Literal["modelward.dev/verdict/v1"] = Field(
        default="modelward.dev/verdict/v1", alias="schema"
    )
    reference: str  # ModelRef.canonical of the vetted model
    digest: str | None  # facts.subject.digest ("sha256:<manifest digest>")
    created_at: str  # RFC 3339, UTC
    decision: Decision
    facts: dict[str, Any]  # the facts document as JSON
    expires_at: str | None = None  # RFC 3339; None (older verdicts): the webhook's default max age
    scope: Scope | None = None  # where the model may be used; None: anywhere
    revocation: Revocation | None = None  # set: this statement revokes the reference

    @property
    def outcome(self) -> str:
        """``revoked`` for a revocation, else the decision's outcome."""
        return "revoked" if self.revocation is not None else self.decision.outcome

    def payload(self) -> bytes:
        """The exact bytes that are signed; optional fields only when set, so a verdict without
        them is byte for byte what earlier versions signed."""
        unset = {name for name in OPTIONAL_FIELDS if getattr(self, name) is None}
        return self.model_dump_json(by_alias=True, exclude=unset or None).encode()


@dataclass(frozen=True)
class SignedVerdict:
    """A DSSE envelope as stored in a registry, with an unverified index for listing/lookup."""

    envelope: dict[str, Any]  # {"payloadType", "payload" (base64), "signatures": [{"keyid","sig"}]}
    reference: str
    digest: str | None
    created_at: str
    outcome: str
    key_id: str

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> SignedVerdict:
        """Index an envelope by its (unverified) payload; raise ``VerdictError`` when unreadable."""
        try:
            verdict = Verdict.model_validate_json(base64.b64decode(envelope["payload"]))
            key = str(envelope["signatures"][0]["keyid"])
        except (KeyError, IndexError, TypeError, ValueError, binascii.Error) as exc:
            raise VerdictError(f"not a verdict envelope: {_short(exc)}") from None
        return cls(
            envelope=envelope,
            reference=verdict.reference,
            digest=verdict.digest,
            created_at=verdict.created_at,
            outcome=verdict.outcome,
            key_id=key,
        )

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "created_at": self.created_at,
            "outcome": self.outcome,
            "key_id": self.key_id,
            "envelope": self.envelope,
        }

    def unverified_verdict(self) -> Verdict | None:
        """The payload, decoded without checking the signature (for display only)."""
        try:
            return Verdict.model_validate_json(base64.b64decode(self.envelope["payload"]))
        except (KeyError, TypeError, ValueError, binascii.Error):
            return None


@dataclass(frozen=True)
class VerdictCheck:
    """The result of verifying a stored verdict; ``trusted`` only when everything matched."""

    trusted: bool
    reason: str  # why it is not trusted ("" when trusted)
    verdict: Verdict | None = None
    key_id: str | None = None


def utc_now() -> str:
    """The current time as RFC 3339 UTC with microseconds (``...Z``)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def sign_verdict(
    verdict: Verdict, private_key_pem: bytes, password: bytes | None = None
) -> SignedVerdict:
    """Sign ``verdict`` with the ECDSA P-256 key in ``private_key_pem``."""
    private_key = load_private_key(private_key_pem, password)
    return sign_with_key(verdict, private_key)


def sign_with_key(verdict: Verdict, private_key: ec.EllipticCurvePrivateKey) -> SignedVerdict:
    return VerdictSigner(private_key).sign(verdict)


class VerdictSigner:
    """Signs verdicts with one key; the key id and the DSSE signer are built once, so signing
    many verdicts costs one ECDSA signature each."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        public = private_key.public_key()
        self.key_id = key_id(public)
        self._signer = CryptoSigner(private_key, _sslib_key(public, self.key_id))

    def sign(self, verdict: Verdict) -> SignedVerdict:
        envelope = Envelope(verdict.payload(), PAYLOAD_TYPE, {})
        envelope.sign(self._signer)
        return SignedVerdict(
            envelope=envelope.to_dict(),
            reference=verdict.reference,
            digest=verdict.digest,
            created_at=verdict.created_at,
            outcome=verdict.outcome,
            key_id=self.key_id,
        )


def _sslib_key(public: ec.EllipticCurvePublicKey, kid: str) -> SSlibKey:
    return SSlibKey.from_crypto(public, keyid=kid, scheme=ECDSA_SCHEME)


class _Untrusted(Exception):
    def __init__(self, reason: str, key: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.key = reason, key


class VerdictKeys:
    """The public keys admission trusts and how fresh a verdict must be.

    ``verify`` checks the signature and the reference (memoised, bounded LRU); ``check`` also
    applies ``freshness`` (expiry, and the high-water mark of the reference when it keeps one).
    """

    def __init__(
        self,
        keys: dict[str, SSlibKey],
        memo_size: int = MEMO_SIZE,
        *,
        freshness: Freshness | None = None,
    ) -> None:
        self._keys = dict(keys)
        self._memo: OrderedDict[tuple[str, str], VerdictCheck] = OrderedDict()
        self._memo_size = memo_size
        self._lock = threading.Lock()
        self.freshness = freshness or Freshness()

    @classmethod
    def from_paths(
        cls, paths: list[Path], *, memo_size: int = MEMO_SIZE, freshness: Freshness | None = None
    ) -> VerdictKeys:
        pems: list[tuple[bytes, str]] = []
        for path in paths:
            try:
                pems.append((path.read_bytes(), str(path)))
            except OSError as exc:
                raise VerdictError(f"{path}: cannot read the verdict key: {exc.strerror}") from None
        return cls(_parse_keys(pems), memo_size, freshness=freshness)

    @classmethod
    def from_pems(
        cls, pems: list[bytes], *, memo_size: int = MEMO_SIZE, freshness: Freshness | None = None
    ) -> VerdictKeys:
        sources = [(p, f"key {i + 1}") for i, p in enumerate(pems)]
        return cls(_parse_keys(sources), memo_size, freshness=freshness)

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def check(self, signed: SignedVerdict, reference: str) -> VerdictCheck:
        """Would admission trust ``signed`` for ``reference`` now? Never raises.

        Trusted only when ``verify`` passes and the verdict is fresh (``Freshness.judge``).
        """
        verified = self.verify(signed, reference)
        if not verified.trusted or verified.verdict is None:
            return verified
        stale = self.freshness.judge(verified.verdict, reference)
        return verified if not stale else VerdictCheck(False, stale, key_id=verified.key_id)

    def observe(self, signed: SignedVerdict) -> None:
        """Raise the high-water mark of a verdict that verifies (e.g. one a watch delivered)."""
        verified = self.verify(signed, signed.reference, remember=False)
        if verified.trusted and verified.verdict is not None:
            self.freshness.observe(verified.verdict)

    def verify(
        self, signed: SignedVerdict, reference: str, *, remember: bool = True
    ) -> VerdictCheck:
        """Verify the envelope and that its payload names ``reference``; never raises.

        Says nothing about freshness: use ``check`` to decide.
        """
        if not self._keys:
            return VerdictCheck(False, "no verdict keys are configured; no verdict is trusted")
        try:
            digest = hashlib.sha256(
                json.dumps(signed.envelope, sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()
        except Exception as exc:  # unhashable, circular or absurdly deep: not an envelope
            return VerdictCheck(False, f"malformed envelope: {_short(exc)}")
        memo_key = (digest, reference)
        with self._lock:
            cached = self._memo.get(memo_key)
            if cached is not None:
                self._memo.move_to_end(memo_key)
                return cached
        result = self._check(signed.envelope, reference)
        if not remember:
            return result
        with self._lock:
            self._memo[memo_key] = result
            while len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        return result

    def _check(self, envelope: Any, reference: str) -> VerdictCheck:
        try:
            kid, verdict = self._verify(envelope)
        except _Untrusted as exc:
            return VerdictCheck(False, exc.reason, key_id=exc.key)
        except Exception as exc:  # whatever a hostile envelope does, it is not trusted
            return VerdictCheck(False, f"malformed envelope: {_short(exc)}")
        if verdict.reference != reference:
            return VerdictCheck(
                False,
                f"the verdict was signed for {verdict.reference!r}, not {reference!r}",
                key_id=kid,
            )
        return VerdictCheck(True, "", verdict, kid)

    def _verify(self, raw: Any) -> tuple[str, Verdict]:
        claimed = _claimed_key_ids(raw)
        if raw["payloadType"] != PAYLOAD_TYPE:
            raise _Untrusted(f"wrong payloadType {str(raw['payloadType'])[:100]!r}")
        envelope = Envelope.from_dict(copy.deepcopy(raw))  # from_dict consumes its input
        known: list[Key] = [self._keys[k] for k in claimed if k in self._keys]
        if not known:
            raise _Untrusted(
                f"signed by unknown key id {', '.join(claimed)[:200]}; "
                f"trusted: {', '.join(self.key_ids)}",
                claimed[0],
            )
        try:
            accepted = envelope.verify(known, 1)
        except VerificationError:
            raise _Untrusted(
                f"bad signature: the envelope does not verify against {known[0].keyid}",
                known[0].keyid,
            ) from None
        kid = next(iter(accepted))
        try:
            verdict = Verdict.model_validate_json(envelope.payload)
        except ValidationError as exc:
            raise _Untrusted(
                f"the payload is not a valid verdict: {_first_error(exc)}", kid
            ) from None
        return kid, verdict


def _parse_keys(pems: list[tuple[bytes, str]]) -> dict[str, SSlibKey]:
    keys: dict[str, SSlibKey] = {}
    for pem, source in pems:
        public = load_public_key(pem, source)
        kid = key_id(public)
        keys[kid] = _sslib_key(public, kid)
    return keys


def _claimed_key_ids(raw: Any) -> list[str]:
    if not isinstance(raw, dict):
        raise _Untrusted("malformed envelope: not a JSON object")
    for field, kind in (("payloadType", str), ("payload", str), ("signatures", list)):
        if not isinstance(raw.get(field), kind):
            raise _Untrusted(f"malformed envelope: {field} missing or not a {kind.__name__}")
    signatures = raw["signatures"]
    if not signatures:
        raise _Untrusted("the envelope carries no signature")
    if not all(isinstance(s, dict) and isinstance(s.get("keyid"), str) for s in signatures):
        raise _Untrusted("malformed envelope: every signature needs a keyid")
    if not all(isinstance(s.get("sig"), str) for s in signatures):
        raise _Untrusted("malformed envelope: every signature needs a sig")
    return [str(s["keyid"]) for s in signatures]


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "(top)"
    return f"{where}: {error['msg']}"


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:200]

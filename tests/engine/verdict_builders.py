"""Verdicts and envelopes for the verdict and registry tests (built here, signed for real)."""

from __future__ import annotations

import base64
import copy
import dataclasses
from typing import Any

from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.verdicts.signed import SignedVerdict, Verdict, sign_verdict, utc_now

REFERENCE = "hf://org/model@" + "0123456789abcdef" * 2 + "01234567"


def make_verdict(
    reference: str = REFERENCE,
    outcome: str = "allow",
    created_at: str | None = None,
    digest: str | None = "sha256:" + "ab" * 32,
    expires_at: str | None = None,
) -> Verdict:
    """A verdict made now (unless ``created_at``), without a signed expiry unless given."""
    deny = []
    if outcome == "deny":
        deny = [PolicyFinding(id="pickle.denied", msg="os.system", policy="unsafe-serialization")]
    decision = Decision(outcome=outcome, deny=deny, engine="embedded", bundle_revision="test")  # type: ignore[arg-type]
    facts = {"schema": "modelward.dev/facts/v1", "subject": {"ref": reference, "digest": digest}}
    return Verdict(
        reference=reference,
        digest=digest,
        created_at=created_at or utc_now(),
        decision=decision,
        facts=facts,
        expires_at=expires_at,
    )


def signed(private_pem: bytes, **fields: Any) -> SignedVerdict:
    return sign_verdict(make_verdict(**fields), private_pem)


def with_envelope(original: SignedVerdict, envelope: Any) -> SignedVerdict:
    return dataclasses.replace(original, envelope=envelope)


def flip_payload_byte(original: SignedVerdict, index: int = 40) -> SignedVerdict:
    """The same envelope with one bit of the payload changed (the signature left as it was)."""
    envelope = copy.deepcopy(original.envelope)
    payload = bytearray(base64.b64decode(envelope["payload"]))
    payload[index] ^= 0x01
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    return with_envelope(original, envelope)

"""Verdicts: facts + decision for one model reference, signed as a DSSE envelope (ECDSA P-256).

The vetting service signs; admission trusts a verdict only when its envelope verifies against one
of the configured public keys *and* the signed reference is the one being looked up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from modelward.engine.decision import Decision
from modelward.engine.errors import Error

PAYLOAD_TYPE = "application/vnd.modelward.verdict.v1+json"
VERDICT_SCHEMA = "modelward.dev/verdict/v1"


class VerdictError(Error):
    """A key or verdict that cannot be read, written or signed."""


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

    @property
    def outcome(self) -> str:
        return self.decision.outcome


@dataclass(frozen=True)
class SignedVerdict:
    """A DSSE envelope as stored in a registry, with an unverified index for listing/lookup."""

    envelope: dict[str, Any]  # {"payloadType", "payload" (base64), "signatures": [{"keyid","sig"}]}
    reference: str
    digest: str | None
    created_at: str
    outcome: str
    key_id: str


@dataclass(frozen=True)
class VerdictCheck:
    """The result of verifying a stored verdict; ``trusted`` only when everything matched."""

    trusted: bool
    reason: str  # why it is not trusted ("" when trusted)
    verdict: Verdict | None = None
    key_id: str | None = None


def generate_keypair() -> tuple[bytes, bytes]:
    """A new ECDSA P-256 key pair as (private key PEM, public key PEM)."""
    raise NotImplementedError


def sign_verdict(verdict: Verdict, private_key_pem: bytes) -> SignedVerdict:
    raise NotImplementedError


class VerdictKeys:
    """The public keys admission trusts."""

    @classmethod
    def from_paths(cls, paths: list[Path]) -> VerdictKeys:
        raise NotImplementedError

    @classmethod
    def from_pems(cls, pems: list[bytes]) -> VerdictKeys:
        raise NotImplementedError

    def check(self, signed: SignedVerdict, reference: str) -> VerdictCheck:
        """Verify the envelope and that its payload names ``reference``; never raises."""
        raise NotImplementedError

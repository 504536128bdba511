"""A signed verdict as an in-toto attestation about an OCI model, for OCI-aware policy tools.

The statement's subject is the model's manifest (``REGISTRY/REPO`` and its sha256); its
predicate (type ``https://modelward.dev/verdict/v1``) holds the signed verdict envelope itself.
The statement is wrapped in a DSSE envelope (payload type ``application/vnd.in-toto+json``)
signed with the same verdict key, so the attestation verifies with the key admission trusts and
the verdict inside verifies on its own as well.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec

from modelward.engine.verdicts.keys import VerdictError, key_id, load_public_key
from modelward.engine.verdicts.signed import ECDSA_SCHEME, SignedVerdict
from modelward.engine.verdicts.sslib import CryptoSigner, Envelope, Key, SSlibKey, VerificationError

STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE: Final = "https://modelward.dev/verdict/v1"
IN_TOTO_PAYLOAD: Final = "application/vnd.in-toto+json"


def verdict_statement(signed: SignedVerdict, name: str, manifest_digest: str) -> dict[str, Any]:
    """The in-toto statement that ``signed`` is the verdict on manifest ``manifest_digest``."""
    algorithm, _, hexdigest = manifest_digest.partition(":")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {algorithm: hexdigest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"verdict": signed.envelope},
    }


def sign_statement(statement: dict[str, Any], private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """The DSSE envelope (JSON bytes) of ``statement``, signed with the verdict key."""
    public = private_key.public_key()
    kid = key_id(public)
    signer = CryptoSigner(private_key, SSlibKey.from_crypto(public, keyid=kid, scheme=ECDSA_SCHEME))
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    envelope = Envelope(payload, IN_TOTO_PAYLOAD, {})
    envelope.sign(signer)
    return json.dumps(envelope.to_dict(), sort_keys=True).encode()


def verify_attestation(
    envelope_bytes: bytes, public_pems: list[bytes], manifest_digest: str
) -> dict[str, Any]:
    """The statement, once its envelope verifies with one of the keys and its subject is
    ``manifest_digest``; ``VerdictError`` with the reason otherwise."""
    try:
        raw = json.loads(envelope_bytes)
        envelope = Envelope.from_dict(copy.deepcopy(raw))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise VerdictError(f"the attestation is not a DSSE envelope: {exc}") from None
    if envelope.payload_type != IN_TOTO_PAYLOAD:
        raise VerdictError(f"the attestation's payload type is {envelope.payload_type!r}")
    keys: list[Key] = []
    for pem in public_pems:
        public = load_public_key(pem)
        keys.append(SSlibKey.from_crypto(public, keyid=key_id(public), scheme=ECDSA_SCHEME))
    try:
        envelope.verify(keys, 1)
    except VerificationError:
        raise VerdictError("the attestation is not signed by a trusted verdict key") from None
    statement: dict[str, Any] = json.loads(envelope.payload)
    subjects = statement.get("subject") or []
    algorithm, _, hexdigest = manifest_digest.partition(":")
    if not any(s.get("digest", {}).get(algorithm) == hexdigest for s in subjects):
        raise VerdictError(f"the attestation is about another artifact, not {manifest_digest}")
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise VerdictError(
            f"the attestation's predicate type is {statement.get('predicateType')!r}"
        )
    return statement


def verdict_outcome(statement: dict[str, Any]) -> str:
    """The decision outcome recorded in the attested verdict (as signed; verified separately)."""
    envelope = statement["predicate"]["verdict"]
    payload = json.loads(base64.b64decode(envelope["payload"]))
    return str(payload["decision"]["outcome"])

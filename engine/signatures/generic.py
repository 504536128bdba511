"""Any sigstore bundle (not only model signatures), verified offline against a trust root.

Used for artifacts that sit beside a model (a BOM, an archive, a provenance attestation): a
bundle with a DSSE envelope is checked on its own; a message-signature bundle needs the
artifact it signs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sigstore.models import Bundle
from sigstore.verify import Verifier
from sigstore.verify.policy import AllOf, VerificationPolicy

from modelward.engine.signatures.material import (
    MalformedBundle,
    Signer,
    chain_leaf,
    fulcio_signer,
    read_document,
)
from modelward.engine.signatures.trust import load_trusted_root
from modelward.engine.signatures.verify import SignerPolicy, describe_failure


@dataclass(frozen=True)
class BundleCheck:
    """The outcome for one bundle: verified or not (with why), and who signed it."""

    verified: bool
    signer: Signer
    payload_type: str | None = None
    payload: bytes | None = None
    error: str | None = None


def verify_sigstore_bundle(
    bundle_path: Path,
    *,
    artifact: Path | None = None,
    trust_root: Path | None = None,
    identity: str | None = None,
    issuer: str | None = None,
    policies: Sequence[VerificationPolicy] = (),
) -> BundleCheck:
    """Verify ``bundle_path`` (over ``artifact`` unless it holds a DSSE envelope).

    ``trust_root`` is a ``trusted_root.json`` or client trust config; ``None`` is the production
    root embedded in sigstore. Trust-root problems raise ``SignatureConfigError``; everything
    wrong with the bundle comes back as ``verified=False`` with the reason.
    """
    verifier = Verifier(trusted_root=load_trusted_root(trust_root))
    policy = AllOf([SignerPolicy(identity, issuer), *policies])
    try:
        text, document = read_document(bundle_path)
    except MalformedBundle as exc:
        return BundleCheck(False, Signer(), error=str(exc))
    leaf = chain_leaf(document)
    claimed = fulcio_signer(leaf) if leaf is not None else Signer()
    try:
        bundle = Bundle.from_json(text)
        if isinstance(document.get("dsseEnvelope"), dict):  # the payload is in the bundle
            payload_type, payload = verifier.verify_dsse(bundle, policy)
            return BundleCheck(True, claimed, payload_type, payload)
        if artifact is None:
            return BundleCheck(False, claimed, error="the bundle signs an artifact; none given")
        verifier.verify_artifact(artifact.read_bytes(), bundle, policy)
    except Exception as exc:  # a hostile bundle is a result, not a crash
        return BundleCheck(False, claimed, error=describe_failure(exc))
    return BundleCheck(True, claimed)

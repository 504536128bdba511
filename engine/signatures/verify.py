"""Check a model signature offline: the bundle's cryptography, its signer, its signed statement.

Configuration problems (conflicting options, an unreadable key, trust root or certificate)
raise ``SignatureConfigError``. A signature that does not verify is never an exception: it
comes back as a ``Verification`` with the reason.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.x509 import Certificate

from modelward.engine.collectors import SignatureOptions
from modelward.engine.extras import requires
from modelward.engine.signatures import SignatureConfigError
from modelward.engine.signatures.material import (
    MalformedBundle,
    Method,
    RawBundle,
    Signer,
    certificate_signer,
    chain_leaf,
    fulcio_issuer,
    fulcio_signer,
    read_bundle,
)
from modelward.engine.signatures.payload import SignedManifest, parse_payload
from modelward.engine.signatures.trust import load_trusted_root

if TYPE_CHECKING:
    from model_signing._signing.sign_sigstore_pb import Verifier as PbVerifier

MAX_ERROR = 400
HINTS: dict[Method, str] = {
    "key": "verify it with --key PUBLIC_KEY_PEM",
    "certificate": "verify it with --certificate-chain CA_PEM",
    "sigstore": "verify it without --key/--certificate-chain (sigstore, against a trust root)",
}


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one bundle: a signed manifest, or the reason there is none."""

    method: Method | None
    signer: Signer
    manifest: SignedManifest | None = None
    error: str | None = None


class SignerPolicy:
    """A sigstore policy: the expected identity and issuer when given, anyone otherwise.

    With nothing expected the bundle is still verified in full against the trust root; who
    signed becomes a fact the policies judge (``expected_signers``).
    """

    def __init__(self, identity: str | None, issuer: str | None) -> None:
        from sigstore.verify.policy import Identity

        self._identity = Identity(identity=identity) if identity else None
        self._issuer = issuer

    def verify(self, cert: Certificate) -> None:
        from sigstore.errors import VerificationError

        if self._issuer is not None:
            actual = fulcio_issuer(cert)
            if actual != self._issuer:
                raise VerificationError(
                    f"the certificate's OIDC issuer is {actual!r}, expected {self._issuer!r}"
                )
        if self._identity is not None:
            self._identity.verify(cert)


def requested_method(options: SignatureOptions) -> Method:
    """The verification the options ask for; raise on combinations that make no sense."""
    if options.key is not None and options.certificate_chain:
        raise SignatureConfigError("use either --key or --certificate-chain, not both")
    chosen: Method = "sigstore"
    if options.key is not None:
        chosen = "key"
    elif options.certificate_chain:
        chosen = "certificate"
    if chosen != "sigstore" and (options.identity or options.issuer):
        raise SignatureConfigError(
            "--identity/--issuer apply to sigstore signatures only; the signer of a key or "
            "certificate signature is judged by policy (expected_signers)"
        )
    return chosen


def verify_bundle_file(path: Path, options: SignatureOptions) -> Verification:
    """Verify the bundle at ``path`` the way ``options`` say (see ``requested_method``)."""
    method = requested_method(options)
    check = _prepare(method, options)
    try:
        raw = read_bundle(path)
    except MalformedBundle as exc:
        return Verification(None, Signer(), error=str(exc))
    claimed = _claimed_signer(raw)
    if raw.method != method:
        return Verification(
            raw.method,
            claimed,
            error=f"the model was signed with a {raw.method} signature; {HINTS[raw.method]}",
        )
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # model_signing prints warnings
            payload_type, payload, signer = check(raw)
        manifest = parse_payload(payload_type, payload)
    except Exception as exc:  # every failure of a hostile bundle is a fact, not a crash
        return Verification(raw.method, claimed, error=describe_failure(exc))
    return Verification(raw.method, signer, manifest)


Check = Callable[[RawBundle], tuple[str, bytes, Signer]]


def _prepare(method: Method, options: SignatureOptions) -> Check:
    """Load the trust material first, so that a bad option is an error, not a bad signature."""
    # Imported here: sigstore and model_signing are slow to import and most models are unsigned.
    with requires("signing", "verifying a model signature"):
        from model_signing._signing import sign_certificate, sign_ec_key
        from sigstore.models import Bundle
        from sigstore.verify import Verifier

    if method == "key":
        key = options.key
        assert key is not None
        key_verifier = _load(lambda: sign_ec_key.Verifier(key), key)
        return lambda raw: (*_pb_content(key_verifier, raw), Signer())
    if method == "certificate":
        chain = list(options.certificate_chain)
        cert_verifier = _load(lambda: sign_certificate.Verifier(chain), *chain)
        return lambda raw: (*_pb_content(cert_verifier, raw), _leaf_signer(raw))
    verifier = Verifier(trusted_root=load_trusted_root(options.trust_root))
    policy = SignerPolicy(options.identity, options.issuer)

    def check_sigstore(raw: RawBundle) -> tuple[str, bytes, Signer]:
        bundle = Bundle.from_json(raw.text)
        payload_type, payload = verifier.verify_dsse(bundle, policy)
        return payload_type, payload, fulcio_signer(bundle.signing_certificate)

    return check_sigstore


def _load(make: Callable[[], PbVerifier], *paths: Path) -> PbVerifier:
    try:
        return make()
    except OSError as exc:
        raise SignatureConfigError(f"{exc.filename or paths[0]}: {exc.strerror or exc}") from None
    except Exception as exc:
        names = ", ".join(map(str, paths))
        raise SignatureConfigError(f"{names}: not a usable PEM key or certificate: {exc}") from None


def _pb_content(verifier: PbVerifier, raw: RawBundle) -> tuple[str, bytes]:
    from model_signing._signing import sign_sigstore_pb

    signature = sign_sigstore_pb.Signature.read(raw.path)
    payload_type, payload = verifier._verify_signed_content(signature)
    return str(payload_type), bytes(payload)


def _leaf_signer(raw: RawBundle) -> Signer:
    leaf = chain_leaf(raw.document)
    return certificate_signer(leaf) if leaf is not None else Signer()


def _claimed_signer(raw: RawBundle) -> Signer:
    """Who the certificate names before anything is verified (shown, never trusted)."""
    leaf = chain_leaf(raw.document)
    if leaf is None:
        return Signer()
    try:
        return fulcio_signer(leaf) if raw.method == "sigstore" else certificate_signer(leaf)
    except Exception:
        return Signer()


def describe_failure(exc: Exception) -> str:
    """A readable reason for a failed verification (some libraries raise empty messages)."""
    if isinstance(exc, InvalidSignature):
        return "the signature does not match the signed payload (another key, or altered)"
    name = type(exc).__name__
    message = _message(exc, name)
    return message if len(message) <= MAX_ERROR else message[: MAX_ERROR - 3] + "..."


def _message(exc: Exception, name: str) -> str:
    if name == "X509StoreContextError":
        return f"the certificate chain does not lead to a trusted certificate: {exc}"
    lines = [line.strip() for line in str(exc).splitlines()]
    text = " ".join(line for line in lines if line and not line.startswith("For further"))
    if isinstance(exc, KeyError | IndexError | TypeError | AttributeError):
        return f"malformed signature bundle ({name}: {text or 'missing field'})"
    return f"{name}: {text}" if text else name

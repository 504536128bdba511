"""Model signatures (OpenSSF model signing over Sigstore bundles): verify offline, sign.

Verification never trusts the network: sigstore bundles are checked against a trusted root
given by the operator or the one shipped inside the sigstore package, and the files a
signature lists are compared with the digests the ``hashes`` collector already computed.
"""

from __future__ import annotations

from modelward.engine.errors import Error


class SignatureConfigError(Error):
    """Signature options that cannot work: conflicting flags, unreadable keys or trust roots."""


class SigningError(Error):
    """A model that could not be signed."""

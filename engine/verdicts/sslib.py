"""The securesystemslib names verdicts use, imported without the cloud SDKs it can pull in.

``securesystemslib.signer`` imports boto3 at import time for its AWS KMS signer whenever boto3
is installed (it is, with the ``s3`` extra): some 120 ms on every command that signs or
verifies, for a signer verdicts never use. The verdict modules import these names from here,
where boto3 is hidden from that one import; code that needs boto3 imports it as usual.
"""

from __future__ import annotations

import _imp
import sys

#: What securesystemslib's signer package would load for signers verdicts never use.
_UNUSED_SDKS = ("boto3",)


def _import_signer_package() -> None:
    """Import ``securesystemslib.signer`` with the unused SDKs hidden (a ``None`` entry in
    ``sys.modules`` makes their import fail fast, which the package expects and records).
    The global import lock keeps another thread from importing them while they are hidden."""
    if "securesystemslib.signer" in sys.modules:
        return
    _imp.acquire_lock()
    try:
        hidden = [name for name in _UNUSED_SDKS if name not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]
        try:
            import securesystemslib.signer  # noqa: F401
        finally:
            for name in hidden:
                if sys.modules.get(name, False) is None:
                    del sys.modules[name]
    finally:
        _imp.release_lock()


_import_signer_package()

from securesystemslib.dsse import Envelope  # noqa: E402
from securesystemslib.exceptions import VerificationError  # noqa: E402
from securesystemslib.signer import (  # type: ignore[attr-defined]  # noqa: E402  # no __all__
    CryptoSigner,
    Key,
    SSlibKey,
)

__all__ = ["CryptoSigner", "Envelope", "Key", "SSlibKey", "VerificationError"]

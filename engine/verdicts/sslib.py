"""The securesystemslib names verdicts use, imported without the cloud SDKs it can pull in.

``securesystemslib.signer`` imports boto3 at import time for its AWS KMS signer whenever boto3
is installed (it is, with the ``s3`` extra): some 120 ms on every command that signs or
verifies, for a signer verdicts never use. The verdict modules import these names from here,
where boto3 is unavailable to that one import (on the importing thread only); code that
needs boto3 imports it as usual.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

#: What securesystemslib's signer package would load for signers verdicts never use.
_UNUSED_SDKS = ("boto3",)


class _Unavailable(MetaPathFinder):
    """Makes ``names`` fail to import, on the thread that made it only (others import them
    as usual)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)
        self.thread = threading.get_ident()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname in self.names and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"{fullname} is not used by verdicts", name=fullname)
        return None


def _import_signer_package() -> None:
    """Import ``securesystemslib.signer`` with the unused SDKs unavailable to it (a failed
    import, which the package expects and records). An SDK already imported is simply used."""
    if "securesystemslib.signer" in sys.modules:
        return
    finder = _Unavailable([name for name in _UNUSED_SDKS if name not in sys.modules])
    sys.meta_path.insert(0, finder)
    try:
        import securesystemslib.signer  # noqa: F401
    finally:
        sys.meta_path.remove(finder)


_import_signer_package()

from securesystemslib.dsse import Envelope  # noqa: E402
from securesystemslib.exceptions import VerificationError  # noqa: E402
from securesystemslib.signer import (  # type: ignore[attr-defined]  # noqa: E402  # no __all__
    CryptoSigner,
    Key,
    SSlibKey,
)

__all__ = ["CryptoSigner", "Envelope", "Key", "SSlibKey", "VerificationError"]

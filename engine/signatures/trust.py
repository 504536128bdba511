"""Sigstore trust roots, always loaded from files: never a TUF refresh."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Final

from modelward.engine.signatures import SignatureConfigError

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

#: The public-good trusted root shipped inside the sigstore package (read, never refreshed).
EMBEDDED_PRODUCTION: Final = (
    "_store",
    "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "trusted_root.json",
)
CLIENT_TRUST_CONFIG_PREFIX: Final = "application/vnd.dev.sigstore.clienttrustconfig"
TRUSTED_ROOT_PREFIX: Final = "application/vnd.dev.sigstore.trustedroot"
MAX_TRUST_ROOT_BYTES: Final = 8 << 20


def embedded_production_text() -> str:
    """The production ``trusted_root.json`` embedded in the installed sigstore package."""
    resource = files("sigstore").joinpath(*EMBEDDED_PRODUCTION)
    try:
        return resource.read_text(encoding="utf-8")
    except OSError as exc:  # a broken install, not a bad signature
        raise SignatureConfigError(
            f"the sigstore package has no embedded production trust root ({exc}); "
            "pass --trust-root trusted_root.json"
        ) from None


def load_trusted_root(path: Path | None) -> TrustedRoot:
    """``path`` as a trusted root (``trusted_root.json`` or a client trust config JSON).

    ``None`` means the production root embedded in sigstore.
    """
    if path is None:
        return _parse(embedded_production_text(), "the embedded production trust root")
    try:
        if path.stat().st_size > MAX_TRUST_ROOT_BYTES:
            raise SignatureConfigError(f"{path}: too large for a trust root")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SignatureConfigError(f"{path}: cannot read the trust root: {reason}") from None
    return _parse(text, str(path))


def _parse(text: str, where: str) -> TrustedRoot:
    from sigstore.models import ClientTrustConfig, TrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SignatureConfigError(f"{where}: not JSON: {exc}") from None
    media_type = document.get("mediaType", "") if isinstance(document, dict) else ""
    try:
        if str(media_type).startswith(CLIENT_TRUST_CONFIG_PREFIX):
            return ClientTrustConfig.from_json(text).trusted_root
        if str(media_type).startswith(TRUSTED_ROOT_PREFIX):
            return TrustedRoot(trustroot_v1.TrustedRoot.from_json(text))
    except SignatureConfigError:
        raise
    except Exception as exc:
        raise SignatureConfigError(f"{where}: not a valid sigstore trust root: {exc}") from None
    raise SignatureConfigError(
        f"{where}: mediaType {media_type!r} is neither a sigstore trusted root nor a client "
        "trust config"
    )

"""``SignatureCollector``: does an OpenSSF model signature hold, who made it, what it covers.

A model without a signature yields ``present: false`` (policies may require one). A signature
that does not verify, is malformed or signs other content is a fact with ``verified: false``
and the reason in ``error``; only option problems (conflicting flags, unreadable keys or
trust roots) make the collector fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from modelward.engine.collectors import CollectContext, SignatureOptions
from modelward.engine.collectors.hashes import Hashes
from modelward.engine.extras import requires
from modelward.engine.facts import FileFacts, SignatureFacts
from modelward.engine.signatures import SignatureConfigError
from modelward.engine.source import ModelSource

if TYPE_CHECKING:
    from modelward.engine.signatures.coverage import ModelFiles

DEFAULT_SIGNATURE: Final = "model.sig"


class SignatureCollector:
    name = "signature"

    def collect(self, source: ModelSource, ctx: CollectContext) -> SignatureFacts:
        options = ctx.options.signature
        if options != SignatureOptions():  # the defaults are always a valid request
            with requires("signing", "signature verification"):
                from modelward.engine.signatures.verify import requested_method

            requested_method(options)
        located = locate_signature(source, options)
        if located is None:
            return SignatureFacts(present=False)
        # Verification (cryptography, sigstore) is imported only for a model that is signed.
        with requires("signing", "signature verification"):
            from modelward.engine.signatures.coverage import judge
            from modelward.engine.signatures.verify import verify_bundle_file

        path, inside = located
        return judge(verify_bundle_file(path, options), model_files(source, ctx, inside))


def locate_signature(
    source: ModelSource, options: SignatureOptions
) -> tuple[Path, str | None] | None:
    """The signature file and its path inside the model (``None`` if it lies outside).

    Without ``--signature`` it is ``model.sig`` in the model directory, else a signature the
    resolver found attached to the model in its registry; a single-file model has no default.
    """
    if options.signature is not None:
        path = options.signature
        if not path.is_file():
            raise SignatureConfigError(f"{path}: no such signature file")
        real = path.resolve()
        inside = next((f.path for f in source.files if f.real.resolve() == real), None)
        return path, inside
    if source.single_file:
        return None
    default = next((f for f in source.files if f.path == DEFAULT_SIGNATURE), None)
    if default is not None:
        return default.real, default.path
    attached = source.metadata.get("signature_file")  # e.g. an OCI referrer of the model
    return (Path(attached), None) if attached is not None else None


def model_files(source: ModelSource, ctx: CollectContext, signature: str | None) -> ModelFiles:
    """The files the signature must account for, with the digests the hashes collector made."""
    hashes = ctx.sections.get("hashes")
    listed: list[FileFacts] = ctx.sections.get("files") or []
    paths = {f.path: f.real for f in source.files if f.path != signature}
    digests = hashes.files if isinstance(hashes, Hashes) else None
    single = source.files[0].path if source.single_file and source.files else None
    from modelward.engine.signatures.coverage import ModelFiles

    return ModelFiles(
        paths=paths,
        digests=digests,
        formats={f.path: f.format for f in listed},
        single_file=single,
        root=None if source.single_file else source.root,
        skipped=tuple(s.path for s in source.skipped),
    )

"""Resolvers turn a ``ModelRef`` into a ``ModelSource`` of local, read-only files."""

from __future__ import annotations

from modelward.engine.errors import UnsupportedReference
from modelward.engine.extras import requires
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.fetch import ProgressFactory, no_progress
from modelward.engine.resolvers.local import LocalResolver
from modelward.engine.source import ModelSource

__all__ = ["LocalResolver", "resolve"]


def resolve(ref: ModelRef, *, progress: ProgressFactory = no_progress) -> ModelSource:
    """Resolve any supported reference; unsupported schemes raise ``UnsupportedReference``.

    ``progress`` draws the downloads of remote references (one bar per file fetched).
    """
    if ref.is_local:
        return LocalResolver().resolve(ref)
    if ref.scheme == "hf":
        # huggingface_hub takes half a second to import; local scans never need it
        with requires("hub", "hf:// references"):
            from modelward.engine.resolvers.hf.resolver import HfResolver

        return HfResolver().resolve(ref)
    if ref.scheme in ("oci", "kit"):
        with requires("oci", "oci:// references"):
            from modelward.engine.resolvers.oci.resolver import OciResolver

        return OciResolver(progress=progress).resolve(ref)
    if ref.scheme in ("s3", "gs"):
        with requires("s3", "s3:// and gs:// references"):
            from modelward.engine.resolvers.buckets.resolver import S3Resolver

        return S3Resolver(progress=progress).resolve(ref)
    if ref.scheme in ("https", "http"):
        with requires("https", "https:// references"):
            from modelward.engine.resolvers.https import HttpsResolver

        return HttpsResolver(progress=progress).resolve(ref)
    raise UnsupportedReference(ref.raw, ref.scheme)

"""``HashesCollector``: sha256 of every file and the OpenSSF model-signing manifest digest.

It also checks the files a resolver expects a sha256 for (a Hugging Face cache blob is named
after the sha256 of its content): a mismatch is added to the source's findings, which the scan
collector (run after this one) reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelward.engine import hashing
from modelward.engine.collectors import CollectContext
from modelward.engine.errors import Error
from modelward.engine.facts import ManifestFacts
from modelward.engine.resolvers.hf.blobs import sha256_mismatches
from modelward.engine.source import ModelSource


@dataclass(frozen=True)
class Hashes:
    """Per-file digests (path -> hex sha256) and the manifest they form."""

    files: dict[str, str]
    manifest: ManifestFacts


class HashesCollector:
    name = "hashes"

    def collect(self, source: ModelSource, ctx: CollectContext) -> Hashes:
        files = {f.path: f.real for f in source.files}
        results = hashing.sha256_files(files, ctx.progress, ctx.options.hash_threads)
        failed = {p: r for p, r in results.items() if isinstance(r, OSError)}
        if failed:
            path, exc = sorted(failed.items())[0]
            raise Error(f"{path}: cannot be read: {exc.strerror or exc}")
        digests = {p: r for p, r in results.items() if isinstance(r, str)}
        source.findings.extend(sha256_mismatches(source, digests))
        # A single-file model is named "." in model signing's manifest.
        items = [
            (("." if source.single_file else p), d)
            for p, d in digests.items()
            if source.single_file or not hashing.is_excluded_from_manifest(p)
        ]
        excluded = sorted(
            p for p in digests if not source.single_file and hashing.is_excluded_from_manifest(p)
        )
        manifest = ManifestFacts(digest=hashing.manifest_digest(items), excluded=excluded)
        return Hashes(files=digests, manifest=manifest)

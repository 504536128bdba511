"""Judge a verified signed manifest against the model's files: the ``signature`` facts.

The digests come from the ``hashes`` collector: files are never hashed a second time (shard
manifests are the exception, see ``shards``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from modelward.engine.facts import SignatureFacts
from modelward.engine.hashing import GIT_PATHS
from modelward.engine.identify import formats
from modelward.engine.signatures.payload import SignedManifest
from modelward.engine.signatures.shards import compare_shards
from modelward.engine.signatures.verify import Verification

#: Formats that hold configuration, text or images, never weights or code.
NOT_WEIGHTS: Final = frozenset({"empty", "json", "yaml", "text", "png", "jpeg", "pdf"})


@dataclass(frozen=True)
class ModelFiles:
    """The model as the earlier collectors saw it (the signature file left out)."""

    paths: Mapping[str, Path]
    digests: Mapping[str, str] | None
    formats: Mapping[str, str] = field(default_factory=dict)
    #: The one file of a single-file model, named "." in its manifest.
    single_file: str | None = None
    #: The model folder, and the paths in it the scan left out as not model content (VCS and
    #: download metadata); a signer may still have signed files there.
    root: Path | None = None
    skipped: tuple[str, ...] = ()

    def skipped_digest(self, name: str) -> str | None:
        """The sha256 of a signed file that lies under a skipped path (never following a link
        out of the folder); ``None`` if there is no such regular file."""
        if self.root is None or not any(_under(name, s) for s in self.skipped):
            return None
        path = self.root / name
        try:
            real = path.resolve(strict=True)
            if not real.is_relative_to(self.root.resolve()) or not real.is_file():
                return None
            with real.open("rb") as fp:
                return hashlib.file_digest(fp, "sha256").hexdigest()
        except (OSError, RuntimeError):
            return None


@dataclass
class _Comparison:
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def judge(verification: Verification, model: ModelFiles | None) -> SignatureFacts:
    """The facts for one checked signature; ``model`` is ``None`` when no files are at hand."""
    signer = verification.signer
    base = SignatureFacts(
        present=True,
        method=verification.method,
        identity=signer.identity,
        issuer=signer.issuer,
        certificate_fingerprint=signer.fingerprint,
    )
    manifest = verification.manifest
    if manifest is None:
        return base.model_copy(update={"error": verification.error or "not verified"})
    signed = manifest.files()
    if model is None or not model.paths:
        return base.model_copy(
            update={
                "files_present": False,
                "signed_files": signed,
                "error": "the signature is valid, but the model files it signs are not present",
            }
        )
    names = {_name(path, model): path for path in model.paths}
    rules = IgnoreRules.of(manifest)
    outside = [p for name, p in names.items() if name not in set(signed)]
    ignored = sorted(p for p in outside if rules.covers(p))
    unsigned = sorted(p for p in outside if not rules.covers(p))
    weights = [p for p in ignored if looks_like_weights(p, model.formats.get(p))]
    result = _compare(manifest, model, names)
    problems = [*result.problems]
    if result.mismatched:
        problems.append(f"hash mismatch: {', '.join(sorted(result.mismatched))}")
    if result.missing:
        problems.append(f"signed files missing from the model: {', '.join(sorted(result.missing))}")
    verified = not problems
    return base.model_copy(
        update={
            "verified": verified,
            "covers_all_files": verified and not unsigned and not weights,
            "signed_files": signed,
            "unsigned_files": unsigned,
            "missing_files": sorted(result.missing),
            "ignored_paths": rules.matching(ignored),
            "ignored_weights": weights,
            "error": None if verified else "; ".join(problems),
        }
    )


def _name(path: str, model: ModelFiles) -> str:
    return "." if path == model.single_file else path


def _compare(manifest: SignedManifest, model: ModelFiles, names: Mapping[str, str]) -> _Comparison:
    if manifest.serialization == "shards":
        if manifest.hash_type != "sha256":
            return _Comparison(problems=[_unsupported(manifest.hash_type)])
        paths = {name: model.paths[path] for name, path in names.items()}
        shards = compare_shards(manifest.resources, paths)
        return _Comparison(shards.mismatched, shards.missing, shards.problems)
    algorithms = {manifest.hash_type, *(r.algorithm for r in manifest.resources)}
    if algorithms - {"sha256"}:
        return _Comparison(problems=[_unsupported(", ".join(sorted(algorithms - {"sha256"})))])
    if model.digests is None:
        return _Comparison(problems=["the model files could not be hashed, so nothing is verified"])
    result = _Comparison()
    for resource in manifest.resources:
        path = names.get(resource.path)
        if path is None:
            skipped = model.skipped_digest(resource.path)
            if skipped is None:
                result.missing.append(resource.path)
            elif skipped != resource.digest:
                result.mismatched.append(resource.path)
        elif model.digests.get(path) != resource.digest:
            result.mismatched.append(path)
    return result


def _unsupported(hash_type: str) -> str:
    return (
        f"the signature lists {hash_type} digests; modelward compares SHA-256 digests only "
        "(sign with the sha256 hash type)"
    )


@dataclass(frozen=True)
class IgnoreRules:
    """Paths left out of the signature: the signer's ``ignore_paths`` plus the git paths.

    Bundles older than model signing 1.1 record no list; verifiers leave out the git paths by
    default, so those are left out here too. The signature file is not a model file at all.
    """

    entries: tuple[str, ...]

    @classmethod
    def of(cls, manifest: SignedManifest) -> IgnoreRules:
        entries = {*GIT_PATHS}
        for raw in manifest.ignore_paths or ():
            clean = _relative(raw)
            if clean is not None:
                entries.add(clean)
        return cls(tuple(sorted(entries)))

    def covers(self, path: str) -> bool:
        return any(_under(path, entry) for entry in self.entries)

    def matching(self, paths: list[str]) -> list[str]:
        """The entries that leave out at least one of ``paths``."""
        return [e for e in self.entries if any(_under(p, e) for p in paths)]


def _relative(raw: str) -> str | None:
    """A signer's ignore entry as a path inside the model, or ``None`` if it points outside."""
    path = PurePosixPath(raw)
    if path.is_absolute() or ".." in path.parts:
        return None
    return path.as_posix()


def _under(path: str, entry: str) -> bool:
    return entry == "." or path == entry or path.startswith(entry.rstrip("/") + "/")


def looks_like_weights(path: str, detected: str | None) -> bool:
    """True unless the content (or, without it, the name) is text, config or an image."""
    if detected is not None and detected not in NOT_WEIGHTS:
        return True
    claimed = formats.claimed_format(path)
    if detected is None:
        return claimed is None or claimed not in NOT_WEIGHTS
    return claimed is not None and claimed not in NOT_WEIGHTS

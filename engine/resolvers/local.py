"""``LocalResolver``: a model file or directory on local disk.

A model sits on disk in a few usual shapes, all read as the same files:

* a plain folder;
* a ``git clone``: ``.git/`` (and ``.hg/``, ``.svn/``) is version-control metadata, skipped;
  ``.gitattributes``/``.gitignore`` are ordinary files of the repository (hashed, and left out of
  the manifest digest as model signing does);
* an ``hf download --local-dir`` folder: ``.cache/huggingface/`` is download metadata, skipped;
* a Hugging Face cache snapshot, whose files link into the repository's ``blobs/`` (``hf.blobs``).

Skipped paths are recorded in ``source.skipped``. Any other link out of the root is a finding
and is not followed; a folder that yields no file is an error (``NoModelFiles``) that says why,
not a digest of nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from modelward.engine.errors import ResolveError
from modelward.engine.facts import Finding, Severity, SkippedPath
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.hf.blobs import CacheBlobs, refuse_repo_folder
from modelward.engine.source import ModelSource, SourceFile, describe_mode, open_regular

MAX_FILES: Final = 100_000
VCS_METADATA: Final = "version-control metadata"
DOWNLOAD_METADATA: Final = "download metadata"
#: Entry names that are never model content, wherever they appear in the tree.
NOT_CONTENT: Final = {".git": VCS_METADATA, ".hg": VCS_METADATA, ".svn": VCS_METADATA}


class NoModelFiles(ResolveError):
    """A folder with nothing to scan: empty, or holding only metadata that is not content."""


class LocalResolver:
    """Walks a directory without following symlinks that leave the model root.

    ``allowed_roots`` are extra directories symlinks may point into without a check.
    """

    def __init__(self, allowed_roots: tuple[Path, ...] = (), max_files: int = MAX_FILES) -> None:
        self._allowed = allowed_roots
        self._max_files = max_files

    def resolve(self, ref: ModelRef) -> ModelSource:
        path = ref.local_path
        st = _lstat_or_fail(path)
        real = _real_or_fail(path) if stat.S_ISLNK(st.st_mode) else path
        if real != path:
            st = _stat_or_fail(real)
        if stat.S_ISREG(st.st_mode):
            return self._single_file(ref, path.name, real.resolve(), st.st_size)
        if not stat.S_ISDIR(st.st_mode):
            raise ResolveError(
                str(path), f"not a model file or directory ({describe_mode(st.st_mode)})"
            )
        root = real.resolve()
        refuse_repo_folder(root)
        source = ModelSource(ref, root)
        _Walk(source, CacheBlobs.for_root(root), self._allowed, self._max_files).dir(root, "")
        if not source.files:
            raise NoModelFiles(str(path), _nothing_to_scan(source))
        source.files.sort(key=lambda f: f.path)
        return source

    def _single_file(self, ref: ModelRef, name: str, real: Path, size: int) -> ModelSource:
        """One file, named as the user sees it (a cache snapshot link, not its blob's hash)."""
        source = ModelSource(ref, real.parent, single_file=True)
        source.files.append(SourceFile(name, real, size))
        blobs = CacheBlobs(None)
        if blobs.accepts(real):
            blobs.check(source, name, real, size)
        return source


class _Walk:
    """One walk of a model directory, filling ``source``."""

    def __init__(
        self, source: ModelSource, blobs: CacheBlobs, allowed: tuple[Path, ...], max_files: int
    ) -> None:
        self.source = source
        self.blobs = blobs
        self.allowed = allowed
        self.max_files = max_files

    def dir(self, directory: Path, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self._note("source.unreadable", prefix.rstrip("/") or ".", exc.strerror)
            return
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            reason = _not_content(rel)
            if reason is not None:
                self.source.skipped.append(SkippedPath(path=rel, reason=reason))
                continue
            if len(self.source.files) >= self.max_files:
                reason = f"more than {self.max_files} files; the rest were not read"
                self._note("source.too_many_files", rel, reason)
                return
            self.visit(Path(entry.path), rel)

    def visit(self, path: Path, rel: str) -> None:
        try:
            st = path.lstat()
        except OSError as exc:
            self._note("source.unreadable", rel, exc.strerror)
            return
        if stat.S_ISLNK(st.st_mode):
            self.link(path, rel)
        elif stat.S_ISDIR(st.st_mode):
            self.dir(path, f"{rel}/")
        elif stat.S_ISREG(st.st_mode):
            self.file(path, rel, st.st_size)
        else:
            self._special(rel, st.st_mode)

    def link(self, path: Path, rel: str) -> None:
        """Follow a link that stays in the root, into the cache blobs or an allowed root."""
        try:
            target = path.resolve()
        except RuntimeError:  # a link loop
            self._note("source.broken_symlink", rel, "symbolic link loop; not followed")
            return
        blob = not target.is_relative_to(self.source.root) and self.blobs.accepts(target)
        if not blob and not self._inside(target):
            reason = f"symbolic link points outside the model root (to {target}); not followed"
            self._note("source.symlink_escape", rel, reason, severity="high")
            return
        try:
            st = target.stat()
        except OSError as exc:
            self._note("source.broken_symlink", rel, exc.strerror)
            return
        if stat.S_ISDIR(st.st_mode):
            reason = "symbolic link to a directory; not followed"
            self._note("source.symlinked_directory", rel, reason)
        elif not stat.S_ISREG(st.st_mode):
            self._special(rel, st.st_mode)
        elif self.file(target, rel, st.st_size) and blob:
            self.blobs.check(self.source, rel, target, st.st_size)

    def file(self, real: Path, rel: str, size: int) -> bool:
        try:
            open_regular(real).close()
        except OSError as exc:
            self._note("source.unreadable", rel, exc.strerror or str(exc))
            return False
        self.source.files.append(SourceFile(rel, real, size))
        return True

    def _inside(self, target: Path) -> bool:
        return any(target.is_relative_to(r) for r in (self.source.root, *self.allowed))

    def _special(self, rel: str, mode: int) -> None:
        self._note("source.special_file", rel, f"{describe_mode(mode)} skipped; not a regular file")

    def _note(self, id_: str, path: str, reason: str | None, severity: Severity = "medium") -> None:
        self.source.findings.append(
            Finding(
                id=id_, severity=severity, file=path, technique="resolver",
                message=f"{path}: {reason or 'unreadable'}",
            )
        )  # fmt: skip


def _not_content(rel: str) -> str | None:
    """Why the entry at ``rel`` is not model content, or None if it may be."""
    head, _, name = rel.rpartition("/")
    if name in NOT_CONTENT:
        return NOT_CONTENT[name]
    if name == "huggingface" and head.rpartition("/")[2] == ".cache":
        return DOWNLOAD_METADATA
    return None


def _nothing_to_scan(source: ModelSource) -> str:
    """Why a folder yielded no file: empty, only metadata, or nothing that could be read."""
    if source.findings:
        why = "; ".join(f.message for f in source.findings[:3])
        return f"the folder holds no model files that could be read ({why})"
    if source.skipped:
        left_out = ", ".join(f"{s.path} ({s.reason})" for s in source.skipped[:5])
        return f"the folder holds no model files; only {left_out}, which is not model content"
    return "the folder holds no model files (it is empty)"


def _lstat_or_fail(path: Path) -> os.stat_result:
    try:
        return path.lstat()
    except FileNotFoundError:
        raise ResolveError(str(path), "no such file or directory") from None
    except OSError as exc:
        raise ResolveError(str(path), exc.strerror or str(exc)) from None


def _real_or_fail(path: Path) -> Path:
    try:
        return path.resolve()
    except RuntimeError:
        raise ResolveError(str(path), "symbolic link loop") from None


def _stat_or_fail(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except OSError as exc:
        raise ResolveError(str(path), exc.strerror or str(exc)) from None

"""``LocalResolver``: a model file or directory on local disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from modelward.engine.errors import ResolveError
from modelward.engine.facts import Finding, Severity
from modelward.engine.refs import ModelRef
from modelward.engine.source import ModelSource, SourceFile, describe_mode, open_regular

MAX_FILES: Final = 100_000


class LocalResolver:
    """Walks a directory without following symlinks that leave the model root.

    ``allowed_roots`` are extra directories symlinks may point into (a Hugging Face cache
    snapshot links into its ``blobs/`` folder).
    """

    def __init__(self, allowed_roots: tuple[Path, ...] = (), max_files: int = MAX_FILES) -> None:
        self._allowed = allowed_roots
        self._max_files = max_files

    def resolve(self, ref: ModelRef) -> ModelSource:
        path = ref.local_path
        try:
            st = path.lstat()
        except FileNotFoundError:
            raise ResolveError(str(path), "no such file or directory") from None
        except OSError as exc:
            raise ResolveError(str(path), exc.strerror or str(exc)) from None
        if stat.S_ISLNK(st.st_mode):
            path = path.resolve()
            st = _stat_or_fail(path)
        if stat.S_ISREG(st.st_mode):
            source = ModelSource(ref, path.parent.resolve(), single_file=True)
            source.files.append(SourceFile(path.name, path.resolve(), st.st_size))
            return source
        if not stat.S_ISDIR(st.st_mode):
            raise ResolveError(
                str(path), f"not a model file or directory ({describe_mode(st.st_mode)})"
            )
        source = ModelSource(ref, path.resolve())
        self._walk(source, source.root, "")
        source.files.sort(key=lambda f: f.path)
        return source

    def _walk(self, source: ModelSource, directory: Path, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            source.findings.append(_finding("source.unreadable", prefix or ".", exc.strerror))
            return
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if len(source.files) >= self._max_files:
                source.findings.append(
                    _finding(
                        "source.too_many_files",
                        rel,
                        f"more than {self._max_files} files; the rest were not read",
                    )
                )
                return
            self._visit(source, Path(entry.path), rel)

    def _visit(self, source: ModelSource, path: Path, rel: str) -> None:
        try:
            st = path.lstat()
        except OSError as exc:
            source.findings.append(_finding("source.unreadable", rel, exc.strerror))
            return
        real = path
        if stat.S_ISLNK(st.st_mode):
            target = path.resolve()
            if not self._inside(target, source.root):
                source.findings.append(
                    _finding(
                        "source.symlink_escape",
                        rel,
                        f"symbolic link points outside the model root (to {target}); not followed",
                        severity="high",
                    )
                )
                return
            try:
                st = target.stat()
            except OSError as exc:
                source.findings.append(_finding("source.broken_symlink", rel, exc.strerror))
                return
            real = target
        if stat.S_ISDIR(st.st_mode):
            if real != path:
                source.findings.append(
                    _finding(
                        "source.symlinked_directory",
                        rel,
                        "symbolic link to a directory; not followed",
                    )
                )
                return
            self._walk(source, path, f"{rel}/")
        elif stat.S_ISREG(st.st_mode):
            try:
                open_regular(real).close()
            except OSError as exc:
                source.findings.append(_finding("source.unreadable", rel, exc.strerror or str(exc)))
                return
            source.files.append(SourceFile(rel, real, st.st_size))
        else:
            source.findings.append(
                _finding(
                    "source.special_file",
                    rel,
                    f"{describe_mode(st.st_mode)} skipped; not a regular file",
                )
            )

    def _inside(self, target: Path, root: Path) -> bool:
        return any(target.is_relative_to(r) for r in (root, *self._allowed))


def _stat_or_fail(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except OSError as exc:
        raise ResolveError(str(path), exc.strerror or str(exc)) from None


def _finding(id_: str, path: str, reason: str | None, severity: Severity = "medium") -> Finding:
    return Finding(
        id=id_,
        severity=severity,
        file=path,
        technique="resolver",
        message=f"{path}: {reason or 'unreadable'}",
    )

"""Layers into files, trusting nothing in them.

A tar layer is read twice. The first pass only looks: every member's path, link target, type,
size and count is checked against the tree as the earlier layers left it, and the decompressed
stream is capped. A layer that fails is left out whole and reported (``source.layer.*``); a
layer that passes is written by the second pass, which checks each path again before it writes
(no write ever follows a symbolic link). Image layers are applied in order with whiteouts.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

from modelward.engine.facts import Finding, Severity
from modelward.engine.resolvers.oci.layouts import Compression
from modelward.engine.resolvers.oci.limits import UnpackLimits
from modelward.engine.resolvers.oci.streams import LayerTooLarge, open_layer

WHITEOUT: Final = ".wh."
OPAQUE: Final = ".wh..wh..opq"
BLOCK: Final = 1 << 20


class LayerRefused(Exception):
    """A layer that cannot be trusted: its finding id, severity and reason."""

    def __init__(self, id_: str, severity: Severity, reason: str, member: str | None = None):
        super().__init__(reason)
        self.id = id_
        self.severity: Severity = severity
        self.reason = reason
        self.member = member


@dataclass
class Tree:
    """The folder being built, with the counts all layers share and the findings so far."""

    root: Path
    limits: UnpackLimits
    findings: list[Finding] = field(default_factory=list)
    bytes_written: int = 0
    members: int = 0

    def refuse(self, label: str, error: LayerRefused) -> None:
        self.findings.append(
            Finding(
                id=error.id, severity=error.severity, file=None, member=error.member,
                technique="resolver", message=f"layer {label}: {error.reason}; left out",
            )
        )  # fmt: skip

    def note(self, id_: str, severity: Severity, message: str, path: str | None = None) -> None:
        self.findings.append(
            Finding(id=id_, severity=severity, file=path, technique="resolver", message=message)
        )

    # -- raw files --------------------------------------------------------------------------

    def place_file(self, blob: Path, path: str, label: str) -> None:
        """A raw layer: ``blob`` becomes the file at ``path`` (hard-linked when possible)."""
        try:
            dest = self._prepare(file_path(path), layer_links=set())
            size = blob.stat().st_size
            self._charge(size)
        except LayerRefused as exc:
            self.refuse(label, exc)
            return
        try:
            os.link(blob, dest)
        except OSError:
            shutil.copyfile(blob, dest, follow_symlinks=False)

    def write_bytes(self, path: str, data: bytes) -> None:
        dest = self._prepare(file_path(path), layer_links=set())
        self._charge(len(data))
        dest.write_bytes(data)

    # -- tar layers -------------------------------------------------------------------------

    def apply_tar(
        self, blob: Path, label: str, compression: Compression, *, image: bool, under: str = ""
    ) -> None:
        """Check, then write, one tar layer; a layer that fails the check is left out."""
        compressed = compression != "none"
        cap = self.limits.layer_bytes(blob.stat().st_size, compressed)
        try:
            prefix = safe_path(under) + "/" if under else ""
            with open_layer(blob, compression, cap) as stream:
                count = _Check(self, prefix, image).run(stream)
            self.members += count
            if self.members > self.limits.max_total_members:
                raise LayerRefused(
                    "source.layer.too_many_members", "high",
                    f"the layers hold more than {self.limits.max_total_members} members in all",
                )  # fmt: skip
            with open_layer(blob, compression, cap) as stream:
                _Write(self, prefix, image).run(stream)
        except LayerTooLarge as exc:
            self.refuse(label, LayerRefused("source.layer.too_large", "critical", str(exc)))
        except LayerRefused as exc:
            self.refuse(label, exc)
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            reason = f"not a readable tar archive ({exc})"
            self.refuse(label, LayerRefused("source.layer.corrupt", "high", reason))

    # -- shared by both passes --------------------------------------------------------------

    def _charge(self, size: int) -> None:
        if self.bytes_written + size > self.limits.total_ceiling:
            raise LayerRefused(
                "source.layer.too_large", "critical",
                f"the layers expand to more than {self.limits.total_ceiling} bytes in all",
            )  # fmt: skip
        self.bytes_written += size

    def _prepare(self, rel: str, layer_links: set[str]) -> Path:
        """``root/rel`` with its parent folders created; refuses a parent that is a link."""
        parts = rel.split("/")
        current = self.root
        for i, part in enumerate(parts[:-1]):
            current = current / part
            prefix = "/".join(parts[: i + 1])
            if prefix in layer_links or _is_link(current):
                raise LayerRefused(
                    "source.layer.path_traversal", "critical",
                    f"{rel} would be written through the symbolic link {prefix}", rel,
                )  # fmt: skip
            if current.exists() and not current.is_dir():
                current.unlink()
            current.mkdir(mode=0o755, exist_ok=True)
        dest = self.root / rel
        _remove(dest)
        return dest


def safe_path(name: str) -> str:
    """``name`` as a path inside the tree, or ``LayerRefused`` (absolute, ``..``, NUL)."""
    if "\x00" in name:
        raise LayerRefused("source.layer.path_traversal", "critical", "NUL in a path", name)
    if name.startswith("/"):
        raise LayerRefused(
            "source.layer.path_traversal", "critical", f"absolute path {name!r}", name
        )
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise LayerRefused(
            "source.layer.path_traversal", "critical", f"path {name!r} leaves the tree", name
        )
    return "/".join(parts)


def file_path(name: str) -> str:
    """``safe_path`` of a file's own path, which cannot be the root itself."""
    rel = safe_path(name)
    if not rel:
        raise LayerRefused("source.layer.path_traversal", "high", f"no file name in {name!r}", name)
    return rel


def link_target(rel: str, target: str, *, image: bool) -> str:
    """Where the symbolic link ``rel`` -> ``target`` points, relative to the root; refuses out.

    In an image an absolute target means the image's own root, so it is made relative."""
    if target.startswith("/") and image:
        resolved = posixpath.normpath(target.lstrip("/") or ".")
    elif target.startswith("/"):
        resolved = target
    else:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    if resolved.startswith(("/", "../")) or resolved == ".." or "\x00" in target:
        raise LayerRefused(
            "source.layer.link_outside", "critical",
            f"symbolic link {rel} -> {target} points outside the tree", rel,
        )  # fmt: skip
    return posixpath.relpath(resolved, posixpath.dirname(rel) or ".")


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(path.lstat().st_mode)
    except OSError:
        return False


def _remove(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)
    else:
        path.unlink()


class _Pass:
    """One pass over a tar stream's members, with the layer's own links and writes."""

    def __init__(self, tree: Tree, prefix: str, image: bool) -> None:
        self.tree = tree
        self.prefix = prefix
        self.image = image
        self.links: set[str] = set()
        self.written: set[str] = set()

    def members(self, stream: BinaryIO) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo, str]]:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for count, member in enumerate(archive, start=1):
                if count > self.tree.limits.max_members:
                    raise LayerRefused(
                        "source.layer.too_many_members", "high",
                        f"more than {self.tree.limits.max_members} members",
                    )  # fmt: skip
                rel = safe_path(member.name)
                if rel:
                    yield archive, member, self.prefix + rel


class _Check(_Pass):
    def run(self, stream: BinaryIO) -> int:
        count = 0
        declared = 0
        for _, member, rel in self.members(stream):
            count += 1
            self._parents(rel)
            if member.isdev() or member.isfifo():
                kind = "FIFO" if member.isfifo() else "device"
                raise LayerRefused("source.layer.device", "high", f"{kind} member {rel}", rel)
            if member.issparse() or not (
                member.isfile() or member.isdir() or member.issym() or member.islnk()
            ):
                raise LayerRefused(
                    "source.layer.unsupported_member", "high",
                    f"member {rel} has an unsupported type", rel,
                )  # fmt: skip
            if member.issym():
                link_target(rel, member.linkname, image=self.image)
                self.links.add(rel)
            else:
                self.links.discard(rel)
            if member.islnk():
                safe_path(member.linkname)
            declared += member.size if member.isfile() else 0
            if self.tree.bytes_written + declared > self.tree.limits.total_ceiling:
                raise LayerRefused(
                    "source.layer.too_large", "critical",
                    f"the layers expand to more than {self.tree.limits.total_ceiling} bytes",
                )  # fmt: skip
        return count

    def _parents(self, rel: str) -> None:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in self.links or (
                prefix not in self.written and _is_link(self.tree.root / prefix)
            ):
                raise LayerRefused(
                    "source.layer.path_traversal", "critical",
                    f"{rel} would be written through the symbolic link {prefix}", rel,
                )  # fmt: skip
        self.written.add(rel)


class _Write(_Pass):
    def run(self, stream: BinaryIO) -> None:
        for archive, member, rel in self.members(stream):
            name = rel.rpartition("/")[2]
            if self.image and name.startswith(WHITEOUT):
                self._whiteout(rel, name)
            elif member.isdir():
                self._dir(rel)
            elif member.issym():
                dest = self.tree._prepare(rel, self.links)
                dest.symlink_to(link_target(rel, member.linkname, image=self.image))
                self.links.add(rel)
            elif member.islnk():
                self._hardlink(rel, safe_path(member.linkname))
            else:
                self._file(archive, member, rel)
            self.written.add(rel)

    def _dir(self, rel: str) -> None:
        path = self.tree.root / rel
        if not path.is_dir() or _is_link(path):
            self.tree._prepare(rel, self.links).mkdir(mode=0o755)
        self.links.discard(rel)

    def _file(self, archive: tarfile.TarFile, member: tarfile.TarInfo, rel: str) -> None:
        dest = self.tree._prepare(rel, self.links)
        self.links.discard(rel)
        source = archive.extractfile(member)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(dest, flags, 0o644), "wb") as out:
            while source is not None and (chunk := source.read(BLOCK)):
                self.tree._charge(len(chunk))
                out.write(chunk)

    def _hardlink(self, rel: str, target: str) -> None:
        source = self.tree.root / target
        try:
            regular = stat.S_ISREG(source.lstat().st_mode)
        except OSError:
            regular = False
        if not regular or not target:
            self.tree.note(
                "source.layer.broken_link", "medium",
                f"hard link {rel} -> {target}: no such regular file in the tree; skipped", rel,
            )  # fmt: skip
            return
        dest = self.tree._prepare(rel, self.links)
        os.link(source, dest)

    def _whiteout(self, rel: str, name: str) -> None:
        folder = rel.rpartition("/")[0]
        base = self.tree.root / folder if folder else self.tree.root
        if folder and (_is_link(base) or not base.is_dir()):
            return
        if name == OPAQUE:
            for entry in list(os.scandir(base)):
                child = f"{folder}/{entry.name}" if folder else entry.name
                if child not in self.written:
                    _remove(Path(entry.path))
        else:
            target = name[len(WHITEOUT) :]
            child = f"{folder}/{target}" if folder else target
            if target not in ("", ".", "..") and child not in self.written:
                _remove(base / target)

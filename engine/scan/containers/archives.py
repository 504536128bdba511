"""Zip archives (PyTorch checkpoints, npz, .keras, skops, plain zip), read as their loaders do.

Every member is sniffed by content whatever its name; members that hold something analysable
are scanned, stored ones through a window on the file so tensor payloads are never read.
"""

from __future__ import annotations

import io
import re
import zlib
from collections import Counter
from typing import BinaryIO, Final

from modelward.engine.facts import Finding
from modelward.engine.scan.containers.members import ANALYSABLE, Sniffed, sniff
from modelward.engine.scan.containers.zipreader import (
    SUPPORTED_METHODS,
    ZipEntry,
    ZipError,
    local_entries,
    read_directory,
    read_member,
    stored_span,
)
from modelward.engine.scan.context import ScanContext, Window
from modelward.engine.scan.formats.keras import scan_keras_config
from modelward.engine.scan.formats.skops import scan_skops_schema
from modelward.engine.scan.formats.torchscript import is_code_member, scan_torchscript_code
from modelward.engine.scan.result import FileScan

#: Root members that a loader reads as its configuration.
ROOT_HOOKS: Final = {"config.json": scan_keras_config, "schema.json": scan_skops_schema}
#: Members loaders unpickle by name, whatever their content looks like.
PICKLE_NAMES: Final = frozenset({"data.pkl", "constants.pkl"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def name_findings(name: str, kind: str, ctx: ScanContext) -> list[Finding]:
    """Path traversal and odd characters in an archive member name."""
    findings: list[Finding] = []
    path = name.replace("\\", "/")
    if path.startswith("/") or _DRIVE.match(path) or ".." in path.split("/"):
        findings.append(
            ctx.finding(
                f"{kind}.path_traversal",
                "high",
                f"member name {name!r} is absolute or climbs out of the extraction directory",
                technique="archive path traversal",
            )
        )
    if _CONTROL.search(name):
        findings.append(
            ctx.finding(
                f"{kind}.odd_name",
                "low",
                f"member name {name!r} contains control characters",
                technique="odd member name",
            )
        )
    return findings


def scan_zip(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Scan every member of a zip archive."""
    result = FileScan()
    entries = _entries(fp, size, ctx, result)
    for name, count in Counter(e.name for e in entries).items():
        if count > 1:
            result.findings.append(
                ctx.finding(
                    "zip.duplicate_name",
                    "medium",
                    f"{count} members are named {name!r}; loaders disagree on which one they read",
                    technique="zip name confusion",
                )
            )
    storages = _storage_prefixes(entries)
    for entry in entries:
        result.merge(_scan_entry(fp, size, entry, ctx, storages))
    return result


def _entries(fp: BinaryIO, size: int, ctx: ScanContext, result: FileScan) -> list[ZipEntry]:
    limit = ctx.limits.max_archive_members
    try:
        directory = read_directory(fp, size, limit, ctx.limits.max_header_bytes)
    except ZipError as exc:
        ctx.incomplete(
            result,
            ctx.finding(
                "zip.no_central_directory",
                "medium",
                f"the central directory cannot be read ({exc}); members were found from "
                "local headers",
                technique="corrupt archive",
            ),
        )
        return local_entries(fp, size, limit)
    if directory.truncated:
        ctx.incomplete(
            result,
            ctx.finding(
                "archive.limit.members",
                "medium",
                f"the central directory lists more than {limit} members (or exceeds the header "
                "limit); the rest were not analysed",
                technique="resource limit",
            ),
        )
    elif directory.declared != len(directory.entries):
        result.findings.append(
            ctx.finding(
                "zip.entry_count_mismatch",
                "medium",
                f"the end record declares {directory.declared} members, the directory holds "
                f"{len(directory.entries)}",
                technique="zip structure confusion",
            )
        )
    return directory.entries


def _storage_prefixes(entries: list[ZipEntry]) -> set[str]:
    """``<archive>/data/`` folders of PyTorch checkpoints (raw storages, never unpickled)."""
    return {e.name[: -len("data.pkl")] + "data/" for e in entries if e.name.endswith("data.pkl")}


def _scan_entry(
    fp: BinaryIO, size: int, entry: ZipEntry, ctx: ScanContext, storages: set[str]
) -> FileScan:
    mctx = ctx.child(entry.name)
    result = FileScan(findings=name_findings(entry.name, "zip", mctx))
    _structure_findings(entry, mctx, result)
    if entry.is_dir or entry.is_symlink:
        return result
    if entry.data_offset < 0:
        return mctx.incomplete(
            result,
            mctx.finding(
                "zip.local_header",
                "medium",
                "the local header is missing or damaged",
                technique="corrupt archive",
                offset=entry.header_offset,
            ),
        )
    if entry.method not in SUPPORTED_METHODS:
        return mctx.incomplete(
            result,
            mctx.finding(
                "zip.unsupported_method",
                "low",
                f"compression method {entry.method} is not analysed",
                technique="unsupported compression",
            ),
        )
    try:
        sniffed = _sniff(fp, size, entry, storages)
    except ZipError as exc:
        if entry.encrypted:
            return _encrypted(mctx, result)
        return mctx.incomplete(
            result,
            mctx.finding(
                "zip.corrupt_member",
                "medium",
                f"member data cannot be read: {exc}",
                technique="corrupt archive",
            ),
        )
    if entry.encrypted:
        if sniffed.fmt not in ANALYSABLE:
            return _encrypted(mctx, result)
        result.findings.append(
            mctx.finding(
                "zip.encryption_flag",
                "low",
                "flagged as encrypted, but the content is readable plaintext",
                technique="zip flag bits",
            )
        )
    result.merge(_scan_member(fp, size, entry, sniffed, mctx))
    return result


def _structure_findings(entry: ZipEntry, ctx: ScanContext, result: FileScan) -> None:
    if entry.local_name is not None and entry.local_name != entry.name:
        result.findings.append(
            ctx.finding(
                "zip.name_mismatch",
                "medium",
                f"the local header names it {entry.local_name!r}, the central directory "
                f"{entry.name!r}",
                technique="zip local/central name mismatch",
                offset=entry.header_offset,
            )
        )
    if entry.is_symlink:
        result.findings.append(
            ctx.finding(
                "zip.symlink",
                "medium",
                "member is a symbolic link",
                technique="archive symlink",
            )
        )


def _encrypted(ctx: ScanContext, result: FileScan) -> FileScan:
    return ctx.incomplete(
        result,
        ctx.finding(
            "zip.encrypted",
            "low",
            "member is encrypted and cannot be analysed",
            technique="encrypted archive member",
        ),
    )


def _sniff(fp: BinaryIO, size: int, entry: ZipEntry, storages: set[str]) -> Sniffed:
    storage = any(entry.name.startswith(p) for p in storages)
    sniffed = sniff(lambda n: read_member(fp, entry, size, n), entry.size, storage=storage)
    if storage:
        return sniffed
    return Sniffed(by_name(entry.name, sniffed.fmt), sniffed.data)


def by_name(name: str, fmt: str) -> str:
    """A member's format as its loader reads it: by name where the loader goes by name
    (``data.pkl``, ``x.pt``, ``saved_model.pb``), else by content."""
    from modelward.engine.scan.readings import member_format

    if fmt not in ANALYSABLE and name.rpartition("/")[2] in PICKLE_NAMES:
        return "pickle"
    return member_format(name, fmt, ANALYSABLE)


def _scan_member(
    fp: BinaryIO, size: int, entry: ZipEntry, sniffed: Sniffed, ctx: ScanContext
) -> FileScan:
    from modelward.engine.scan import scan_stream

    result = FileScan()
    hook = ROOT_HOOKS.get(entry.name) or (
        scan_torchscript_code if is_code_member(entry.name) else None
    )
    if sniffed.fmt not in ANALYSABLE and hook is None:
        return result
    stream, length = _member_stream(fp, size, entry, sniffed, ctx, result)
    if hook is not None:
        result.merge(hook(stream.read(ctx.limits.max_header_bytes), ctx))
        stream.seek(0)
    if sniffed.fmt in ANALYSABLE:
        result.merge(scan_stream(stream, length, sniffed.fmt, ctx))
    return result


def _member_stream(
    fp: BinaryIO, size: int, entry: ZipEntry, sniffed: Sniffed, ctx: ScanContext, result: FileScan
) -> tuple[BinaryIO, int]:
    if sniffed.data is not None:
        _check_crc(entry, sniffed.data, ctx, result)
        return io.BytesIO(sniffed.data), len(sniffed.data)
    if entry.method == 0:
        offset, length = stored_span(entry, size)
        return io.BufferedReader(Window(fp, offset, length)), length
    cap = min(ctx.budget.remaining, ctx.limits.max_pickle_bytes)
    data = read_member(fp, entry, size, cap + 1)
    if len(data) > cap:
        data = data[:cap]
        ctx.incomplete(
            result,
            ctx.finding(
                "archive.limit.decompressed",
                "medium",
                f"member decompresses past the {cap}-byte limit; the rest was not analysed",
                technique="decompression bomb",
            ),
        )
    ctx.budget.take(len(data))
    return io.BytesIO(data), len(data)


def _check_crc(entry: ZipEntry, data: bytes, ctx: ScanContext, result: FileScan) -> None:
    if len(data) == entry.size and not entry.encrypted and zlib.crc32(data) != entry.crc:
        result.findings.append(
            ctx.finding(
                "zip.bad_crc",
                "low",
                "the CRC does not match the content (PyTorch ignores it; zipfile refuses it)",
                technique="zip bad CRC",
            )
        )

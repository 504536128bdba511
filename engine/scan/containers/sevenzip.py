"""7z archives: every member is extracted into memory within the budget and scanned by content."""

from __future__ import annotations

import io
from typing import BinaryIO

import py7zr
from py7zr.io import Py7zBytesIO, WriterFactory
from py7zr.py7zr import FileInfo

from modelward.engine.identify.formats import detect_bytes
from modelward.engine.scan.containers.archives import by_name, name_findings
from modelward.engine.scan.containers.members import ANALYSABLE
from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.result import FileScan


class _Collector(WriterFactory):
    """Keeps each extracted member's bytes in memory, by the name py7zr writes it under."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.products: dict[str, Py7zBytesIO] = {}

    def create(self, filename: str) -> Py7zBytesIO:
        product = Py7zBytesIO(filename, self.limit)
        self.products[filename] = product
        return product


def scan_7z(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Scan the members of a 7z archive; encrypted archives are reported as not analysed."""
    result = FileScan()
    cap = min(ctx.budget.remaining, ctx.limits.max_pickle_bytes)
    fp.seek(0)
    try:
        with py7zr.SevenZipFile(fp, mode="r", max_extract_size=cap) as archive:
            if archive.needs_password():
                return _encrypted(ctx, result)
            infos = [i for i in archive.list() if not i.is_directory]
            if not _check_members(infos, ctx, result):
                return result
            collector = _Collector(cap)
            archive.extract(factory=collector)
    except py7zr.PasswordRequired:
        return _encrypted(ctx, result)
    except Exception as exc:  # py7zr raises many types on hostile input
        return ctx.incomplete(
            result,
            ctx.finding(
                "7z.corrupt",
                "medium",
                f"the 7z archive cannot be fully read: {type(exc).__name__}: {exc}",
                technique="corrupt archive",
            ),
        )
    for info in infos:
        product = collector.products.get(info.filename)
        if product is not None:
            result.merge(_scan_product(info.filename, info.uncompressed, product, ctx, cap))
    return result


def _check_members(infos: list[FileInfo], ctx: ScanContext, result: FileScan) -> bool:
    if len(infos) > ctx.limits.max_archive_members:
        ctx.incomplete(
            result,
            ctx.finding(
                "archive.limit.members",
                "medium",
                f"the archive has more than {ctx.limits.max_archive_members} members; "
                "none were analysed",
                technique="resource limit",
            ),
        )
        return False
    unsafe = False
    for info in infos:
        name = info.filename
        found = name_findings(name, "7z", ctx.child(name))
        unsafe = unsafe or any(f.id == "7z.path_traversal" for f in found)
        result.findings.extend(found)
    if unsafe:
        ctx.incomplete(
            result,
            ctx.finding(
                "7z.unextracted",
                "low",
                "members with unsafe names are not extracted for analysis",
                technique="archive path traversal",
            ),
        )
    return not unsafe


def _scan_product(
    name: str, declared: int, product: Py7zBytesIO, ctx: ScanContext, cap: int
) -> FileScan:
    from modelward.engine.scan import scan_stream

    result = FileScan()
    mctx = ctx.child(name)
    product.seek(0)
    data = product.read()
    ctx.budget.take(len(data))
    if len(data) < declared and len(data) >= cap:
        mctx.incomplete(
            result,
            mctx.finding(
                "archive.limit.decompressed",
                "medium",
                f"member decompresses past the {cap}-byte limit; the rest was not analysed",
                technique="decompression bomb",
            ),
        )
    fmt = by_name(name, detect_bytes(data))
    if fmt in ANALYSABLE:
        result.merge(scan_stream(io.BytesIO(data), len(data), fmt, mctx))
    return result


def _encrypted(ctx: ScanContext, result: FileScan) -> FileScan:
    return ctx.incomplete(
        result,
        ctx.finding(
            "7z.encrypted",
            "low",
            "the archive is encrypted and cannot be analysed",
            technique="encrypted archive",
        ),
    )

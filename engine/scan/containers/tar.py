"""Tar archives, including legacy ``torch.save`` tars (sys_info, pickle, storages, tensors)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from typing import BinaryIO, Final

from modelward.engine.scan.containers.archives import by_name, name_findings
from modelward.engine.scan.containers.members import ANALYSABLE, sniff
from modelward.engine.scan.containers.torch_legacy import scan_storages, scan_tensors
from modelward.engine.scan.context import ScanContext, Window, read_bounded
from modelward.engine.scan.result import FileScan

#: Members of a legacy torch tar that ``torch.load`` unpickles (wholly or in part).
LEGACY_PICKLED: Final = frozenset({"sys_info", "pickle", "storages", "tensors"})
LEGACY_REQUIRED: Final = frozenset({"pickle", "storages", "tensors"})


def scan_tar(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Scan every regular member of an uncompressed tar."""
    result = FileScan()
    fp.seek(0)
    try:
        archive = tarfile.open(fileobj=fp, mode="r:")  # noqa: SIM115  (closed below)
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        return ctx.incomplete(
            result,
            ctx.finding(
                "tar.corrupt",
                "medium",
                f"the tar cannot be read: {exc}",
                technique="corrupt archive",
            ),
        )
    with archive:
        members = list(_members(archive, ctx, result))
        legacy = {m.name for m in members} >= LEGACY_REQUIRED
        for info in members:
            result.merge(_scan_member(fp, archive, info, ctx.child(info.name), legacy))
    return result


def _members(
    archive: tarfile.TarFile, ctx: ScanContext, result: FileScan
) -> Iterator[tarfile.TarInfo]:
    count = 0
    while True:
        try:
            info = archive.next()
        except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
            ctx.incomplete(
                result,
                ctx.finding(
                    "tar.corrupt",
                    "medium",
                    f"a tar header cannot be read: {exc}",
                    technique="corrupt archive",
                ),
            )
            return
        if info is None:
            return
        count += 1
        if count > ctx.limits.max_archive_members:
            ctx.incomplete(
                result,
                ctx.finding(
                    "archive.limit.members",
                    "medium",
                    f"the archive has more than {ctx.limits.max_archive_members} members; "
                    "the rest were not analysed",
                    technique="resource limit",
                ),
            )
            return
        yield info


def _scan_member(
    fp: BinaryIO, archive: tarfile.TarFile, info: tarfile.TarInfo, ctx: ScanContext, legacy: bool
) -> FileScan:
    from modelward.engine.scan import scan_stream

    result = FileScan(findings=name_findings(info.name, "tar", ctx))
    if info.issym() or info.islnk():
        link = name_findings(info.linkname, "tar", ctx)
        result.findings.extend(f.model_copy(update={"id": "tar.link_traversal"}) for f in link[:1])
        return result
    if not info.isfile():
        return result
    stream = _stream(fp, archive, info, ctx, result)
    if legacy and info.name in ("storages", "tensors"):
        data = read_bounded(stream, info.size, ctx.limits.max_pickle_bytes, ctx, result)
        walker = scan_storages if info.name == "storages" else scan_tensors
        result.merge(walker(data, ctx))
        return result

    def head(count: int) -> bytes:
        stream.seek(0)
        return stream.read(count)

    fmt = by_name(info.name, sniff(head, info.size).fmt)
    if fmt not in ANALYSABLE and legacy and info.name in LEGACY_PICKLED:
        fmt = "pickle"
    if fmt in ANALYSABLE:
        stream.seek(0)
        result.merge(scan_stream(stream, info.size, fmt, ctx))
    return result


def _stream(
    fp: BinaryIO,
    archive: tarfile.TarFile,
    info: tarfile.TarInfo,
    ctx: ScanContext,
    result: FileScan,
) -> BinaryIO:
    if not info.issparse():
        return io.BufferedReader(Window(fp, info.offset_data, info.size))
    extracted = archive.extractfile(info)
    if extracted is None:
        return io.BytesIO()
    data = read_bounded(extracted, info.size, ctx.limits.max_pickle_bytes, ctx, result)
    return io.BytesIO(data)

"""Static analysis of model files. Nothing here loads, unpickles or renders model content.

``scan_file`` scans a file whose format was detected from its content; ``scan_bytes`` scans an
in-memory buffer (an archive member) after sniffing it. Both dispatch through ``scan_stream``,
which archive scanners call again for their members, one nesting level down.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO, Final

from modelward.engine.identify.formats import JOBLIB_ZFILE, detect_bytes
from modelward.engine.scan.context import Budget, ScanContext, read_at
from modelward.engine.scan.limits import DEFAULT_LIMITS, Limits
from modelward.engine.scan.result import FileScan
from modelward.engine.source import SourceFile

__all__ = ["FileScan", "Limits", "scan_bytes", "scan_file", "scan_stream"]

Handler = Callable[[BinaryIO, int, ScanContext], FileScan]
_COMPRESSED_MAGIC: Final = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x5d\x00\x00", b"x")


def _handler(fmt: str) -> Handler | None:
    """The scanner for ``fmt`` (imported on demand: some pull in large libraries)."""
    if fmt in ("pickle", "joblib"):
        return _scan_pickle_or_wrapper
    if fmt == "pytorch-legacy":
        from modelward.engine.scan.pickles.files import scan_legacy_sequence

        return scan_legacy_sequence
    if fmt in ("zip", "pytorch-zip", "numpy-npz", "keras", "skops"):
        from modelward.engine.scan.containers.archives import scan_zip

        return scan_zip
    if fmt in ("tar", "pytorch-legacy-tar"):
        from modelward.engine.scan.containers.tar import scan_tar

        return scan_tar
    if fmt == "7z":
        from modelward.engine.scan.containers.sevenzip import scan_7z

        return scan_7z
    if fmt in ("gzip", "bzip2", "xz", "lzma", "zlib"):
        from modelward.engine.scan.containers.compressed import scan_compressed

        return scan_compressed
    return _data_handler(fmt)


def _data_handler(fmt: str) -> Handler | None:
    if fmt == "numpy-npy":
        from modelward.engine.scan.formats.numpy_files import scan_npy

        return scan_npy
    if fmt == "hdf5":
        from modelward.engine.scan.formats.keras import scan_hdf5

        return scan_hdf5
    if fmt == "tf-savedmodel":
        from modelward.engine.scan.tensorflow.savedmodel import scan_savedmodel

        return scan_savedmodel
    if fmt == "tf-savedmodel-text":
        from modelward.engine.scan.tensorflow.savedmodel import scan_savedmodel_text

        return scan_savedmodel_text
    if fmt == "keras-metadata":
        from modelward.engine.scan.tensorflow.keras_metadata import scan_keras_metadata

        return scan_keras_metadata
    if fmt == "onnx":
        from modelward.engine.scan.formats.onnx_models import scan_onnx

        return scan_onnx
    if fmt == "gguf":
        from modelward.engine.scan.formats.gguf import scan_gguf

        return scan_gguf
    if fmt == "safetensors":
        from modelward.engine.scan.formats.safetensors import scan_safetensors

        return scan_safetensors
    return None


def _scan_pickle_or_wrapper(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Pickles, and joblib files that are a compressed pickle."""
    head = read_at(fp, 0, 6)
    if head.startswith(JOBLIB_ZFILE):
        from modelward.engine.scan.containers.compressed import scan_joblib_zfile

        return scan_joblib_zfile(fp, size, ctx)
    if head.startswith(_COMPRESSED_MAGIC):
        from modelward.engine.scan.containers.compressed import scan_compressed

        return scan_compressed(fp, size, ctx)
    from modelward.engine.scan.pickles.files import scan_pickle

    return scan_pickle(fp, size, ctx)


def scan_stream(fp: BinaryIO, size: int, fmt: str, ctx: ScanContext) -> FileScan:
    """Scan ``size`` bytes of ``fp`` as ``fmt``; formats that run no code need no scan."""
    handler = _handler(fmt)
    if handler is None:
        return FileScan()
    if ctx.depth > ctx.limits.max_nesting_depth:
        return ctx.incomplete(
            FileScan(),
            ctx.finding(
                "archive.limit.depth",
                "medium",
                f"{fmt} content nested {ctx.depth} levels deep exceeds the limit of "
                f"{ctx.limits.max_nesting_depth}; not analysed",
                technique="resource limit",
            ),
        )
    try:
        return handler(fp, size, ctx)
    except Exception as exc:  # a scanner bug or hostile input must never pass as clean
        return ctx.incomplete(
            FileScan(),
            ctx.finding(
                "scan.error",
                "medium",
                f"{fmt} analysis failed: {type(exc).__name__}: {exc}",
                technique="scanner error",
            ),
        )


def scan_file(file: SourceFile, fmt: str, limits: Limits = DEFAULT_LIMITS) -> FileScan:
    """Scan one file as every format a loader would accept it as (see ``readings``)."""
    ctx = ScanContext.top(file.path, limits)
    if fmt == "empty":
        finding = ctx.finding(
            "file.empty", "low", "file is empty (0 bytes)", technique="empty file"
        )
        return FileScan(findings=[finding])
    try:
        with file.open() as fp:
            return _scan_readings(file, fmt, fp, ctx)
    except OSError as exc:
        return ctx.incomplete(
            FileScan(),
            ctx.finding(
                "scan.unreadable",
                "medium",
                f"file cannot be read: {exc}",
                technique="unreadable file",
            ),
        )


def _scan_readings(file: SourceFile, fmt: str, fp: BinaryIO, ctx: ScanContext) -> FileScan:
    from modelward.engine.scan.readings import readings, unrecognised
    from modelward.engine.scan.templates.files import is_template_file, scan_template_file

    result = FileScan()
    if is_template_file(file.path):
        result.merge(scan_template_file(fp, file.size, ctx))
    analysed = [r for r in readings(file.path, fmt, fp, file.size) if _handler(r) is not None]
    for reading in analysed:
        result.merge(scan_stream(fp, file.size, reading, ctx))
    reason = None if analysed else unrecognised(file.path, fmt)
    if reason is not None:
        ctx.incomplete(result, ctx.finding("file.unrecognised", "medium", reason,
                                           technique="unrecognised model file"))  # fmt: skip
    return result


def scan_bytes(
    data: bytes,
    *,
    file: str,
    member: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    depth: int = 0,
    budget: Budget | None = None,
) -> FileScan:
    """Sniff an in-memory buffer (an archive member, a nested stream) and scan it."""
    ctx = ScanContext(file, member, limits, depth, budget or Budget(limits.max_decompressed_bytes))
    try:
        fmt = detect_bytes(data)
    except Exception as exc:  # detection of hostile bytes failed: not analysed, never clean
        return ctx.incomplete(
            FileScan(),
            ctx.finding(
                "scan.error",
                "medium",
                f"format detection failed: {type(exc).__name__}: {exc}",
                technique="scanner error",
            ),
        )
    return scan_stream(io.BytesIO(data), len(data), fmt, ctx)

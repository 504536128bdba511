"""Static analysis of model files. Nothing here loads, unpickles or renders model content."""

from __future__ import annotations

from modelward.engine.facts import Finding
from modelward.engine.formats import CODE_EXECUTING
from modelward.engine.scan.limits import DEFAULT_LIMITS, Limits
from modelward.engine.scan.result import FileScan
from modelward.engine.scan.safetensors import scan_safetensors
from modelward.engine.source import SourceFile

__all__ = ["FileScan", "Limits", "scan_file"]


def scan_file(file: SourceFile, fmt: str, limits: Limits = DEFAULT_LIMITS) -> FileScan:
    """Scan one file whose format was detected from its content."""
    result = FileScan()
    if fmt == "empty":
        result.findings.append(Finding(
            id="file.empty", severity="low", file=file.path, technique="empty file",
            message=f"{file.path}: file is empty (0 bytes)",
        ))  # fmt: skip
    elif fmt == "safetensors":
        with file.open() as fp:
            return scan_safetensors(fp, file.size, file.path, limits)
    elif fmt in CODE_EXECUTING:
        result.incomplete(file.path, Finding(
            id="scan.unsupported_format", severity="info", file=file.path,
            message=f"{file.path}: {fmt} content is not analysed by this version",
        ))  # fmt: skip
    return result

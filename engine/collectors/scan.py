"""``ScanCollector``: static analysis findings for every file, plus what the resolver found."""

from __future__ import annotations

from modelward.engine.collectors import CollectContext
from modelward.engine.facts import FileFacts, Finding, ScanFacts
from modelward.engine.scan import FileScan, scan_file
from modelward.engine.source import ModelSource, SourceFile

#: Resolver findings that mean some of the model was never looked at.
INCOMPLETE_SOURCE = frozenset(
    {"source.unreadable", "source.too_many_files", "source.broken_symlink"}
)
NOT_ANALYSABLE = {
    "unreadable": "could not be read",
    "undetected": "its format could not be detected",
    "lfs-pointer": "it is a Git LFS pointer, the content is not present (fetch the LFS objects, "
    "e.g. `git lfs pull`, and scan again)",
}
#: Finding ids for files that could not be analysed, by detected format.
NOT_ANALYSABLE_IDS = {"lfs-pointer": "file.content_not_present"}


class ScanCollector:
    name = "scan"

    def collect(self, source: ModelSource, ctx: CollectContext) -> ScanFacts:
        result = FileScan(findings=list(source.findings))
        result.complete = not any(f.id in INCOMPLETE_SOURCE for f in source.findings)
        detected: dict[str, FileFacts] = {f.path: f for f in ctx.sections.get("files", [])}
        for file in source.files:
            facts = detected.get(file.path)
            fmt = facts.format if facts else "undetected"
            if fmt in NOT_ANALYSABLE:
                finding_id = NOT_ANALYSABLE_IDS.get(fmt, f"file.{fmt}")
                result.incomplete(file.path, _finding(file, finding_id, NOT_ANALYSABLE[fmt]))
                continue
            result.merge(_scan_one(file, fmt))
        return ScanFacts(
            findings=result.findings,
            imports=result.imports,
            complete=result.complete,
            unanalysed=result.unanalysed,
            skipped=list(source.skipped),
        )


def _scan_one(file: SourceFile, fmt: str) -> FileScan:
    try:
        return scan_file(file, fmt)
    except Exception as exc:  # a parser failure on hostile bytes is a finding, never "clean"
        failed = FileScan()
        reason = f"the {fmt} scanner failed: {type(exc).__name__}: {exc}"
        failed.incomplete(file.path, _finding(file, "scan.error", reason))
        return failed


def _finding(file: SourceFile, id_: str, reason: str) -> Finding:
    return Finding(
        id=id_, severity="medium", file=file.path, technique="unanalysable file",
        message=f"{file.path}: {reason}; not analysed",
    )  # fmt: skip

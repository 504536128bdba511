"""``ScanCollector``: static analysis findings for every file, plus what the resolver found."""

from __future__ import annotations

from modelward.engine.collectors import CollectContext
from modelward.engine.facts import FileFacts, ScanFacts
from modelward.engine.scan import FileScan, scan_file
from modelward.engine.source import ModelSource


class ScanCollector:
    name = "scan"

    def collect(self, source: ModelSource, ctx: CollectContext) -> ScanFacts:
        result = FileScan(findings=list(source.findings))
        if any(
            f.id == "source.unreadable" or f.id == "source.too_many_files" for f in source.findings
        ):
            result.complete = False
        detected: dict[str, FileFacts] = {f.path: f for f in ctx.sections.get("files", [])}
        for file in source.files:
            facts = detected.get(file.path)
            if facts is None or facts.format == "unreadable":
                result.complete = False
                result.unanalysed.append(file.path)
                continue
            result.merge(scan_file(file, facts.format))
        return ScanFacts(
            findings=result.findings,
            imports=result.imports,
            complete=result.complete,
            unanalysed=result.unanalysed,
        )

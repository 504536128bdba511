"""What scanning one file (or archive member) produces."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelward.engine.facts import Finding, ImportFact


@dataclass
class FileScan:
    """Findings and imports of one file; ``complete`` is False if anything was not analysed."""

    findings: list[Finding] = field(default_factory=list)
    imports: list[ImportFact] = field(default_factory=list)
    complete: bool = True
    unanalysed: list[str] = field(default_factory=list)

    def merge(self, other: FileScan) -> None:
        self.findings.extend(other.findings)
        self.imports.extend(other.imports)
        self.complete = self.complete and other.complete
        self.unanalysed.extend(other.unanalysed)

    def incomplete(self, where: str, finding: Finding) -> None:
        """Record that ``where`` could not be analysed, and why."""
        self.findings.append(finding)
        self.complete = False
        if where not in self.unanalysed:
            self.unanalysed.append(where)

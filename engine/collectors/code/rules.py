"""The code findings: one table of rule ids, severities and messages.

A rule has two severities: ``severity`` where the code runs only when something calls it (a
function body) and ``import_severity`` where it runs as soon as the file is imported, the notebook
cell runs or ``setup.py`` is executed (module level, class bodies, decorators, default values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from modelward.engine.facts import Finding, Severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    import_severity: Severity
    title: str


def _rule(id_: str, severity: Severity, import_severity: Severity, title: str) -> Rule:
    return Rule(id_, severity, import_severity, title)


RULES: Final = {
    r.id: r
    for r in (
        _rule("code.process", "medium", "high", "runs a process"),
        _rule("code.dynamic.exec", "medium", "high", "executes dynamically built code"),
        _rule("code.dynamic.import", "low", "medium", "imports a module named at run time"),
        _rule("code.deserialize", "medium", "high", "deserializes with an executing loader"),
        _rule("code.network", "medium", "high", "opens a network connection"),
        _rule("code.download.code", "high", "high", "fetches and runs further remote code"),
        _rule("code.download.file", "low", "high", "downloads files"),
        _rule("code.env.dump", "medium", "high", "reads the whole process environment"),
        _rule("code.env.credential", "medium", "high", "reads a credential from the environment"),
        _rule("code.credentials.file", "high", "high", "reads a credential file"),
        _rule("code.file.write", "medium", "high", "writes outside the model cache"),
        _rule("code.file.persistence", "high", "critical", "writes a startup or system file"),
        _rule("code.obfuscation.exec", "critical", "critical", "executes decoded or hidden code"),
        _rule("code.obfuscation.blob", "medium", "medium", "holds a long encoded string"),
        _rule("code.obfuscation.chr", "medium", "high", "builds a string from chr() calls"),
        _rule("code.monkeypatch", "medium", "high", "replaces part of another module"),
        _rule("code.monkeypatch.builtins", "high", "critical", "replaces a builtin"),
        _rule("code.parse_error", "high", "high", "could not be parsed"),
        _rule("code.limit", "high", "high", "was not analysed (limit reached)"),
        _rule("code.remote.cross_repo", "high", "high", "auto_map loads code from another repo"),
        _rule("code.remote.missing", "medium", "medium", "auto_map names a module that is absent"),
        _rule("code.remote.invalid", "medium", "medium", "auto_map entry is not a class reference"),
        _rule("code.shell.pipe_to_shell", "high", "high", "pipes a download into a shell"),
        _rule("code.shell.decode_exec", "critical", "critical", "runs decoded text in a shell"),
        _rule("code.shell.reverse_shell", "critical", "critical", "opens a reverse shell"),
        _rule("code.shell.pip_url", "medium", "medium", "installs a package from a URL"),
        _rule("code.shell.download", "low", "low", "downloads files"),
        _rule("code.shell.credentials", "high", "high", "reads credentials"),
        _rule("code.shell.destructive", "high", "high", "deletes or persists system-wide"),
    )
}


def finding(
    rule_id: str,
    path: str,
    line: int | None,
    detail: str,
    *,
    at_import: bool = False,
    member: str | None = None,
    symbol: str | None = None,
) -> Finding:
    """A finding of ``rule_id`` at ``path:line``; ``detail`` says what exactly was seen."""
    rule = RULES[rule_id]
    severity = rule.import_severity if at_import else rule.severity
    where = f"{path}:{line}" if line is not None else path
    if member:
        where = f"{path} {member}" + (f":{line}" if line is not None else "")
    when = " when imported" if at_import and rule.import_severity != rule.severity else ""
    return Finding(
        id=rule_id,
        severity=severity,
        file=path,
        member=member,
        line=line,
        technique=rule.title,
        symbol=symbol,
        message=f"{where} {rule.title}{when}: {detail}",
    )

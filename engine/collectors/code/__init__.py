"""``CodeCollector``: the code a model brings, parsed and never imported or executed.

Python modules (``setup.py`` included), notebook cells and shell scripts are analysed for what
they would do; ``auto_map`` in the configurations says which modules ``trust_remote_code=True``
runs when the model is loaded. Every limit hit and every file that does not parse is a finding
and makes the facts incomplete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from modelward.engine.collectors import CollectContext
from modelward.engine.collectors.code import files as code_files
from modelward.engine.collectors.code.automap import auto_map, relative_file
from modelward.engine.collectors.code.files import Kind, NotebookError
from modelward.engine.collectors.code.names import Names
from modelward.engine.collectors.code.python import analyse_python
from modelward.engine.collectors.code.rules import finding
from modelward.engine.collectors.code.shell import analyse_shell
from modelward.engine.facts import CodeFacts, CodeFileFacts, Finding, RemoteCodeFacts
from modelward.engine.source import ModelSource, SourceFile


@dataclass
class FileResult:
    path: str
    kind: Kind
    parsed: bool = True
    findings: list[Finding] = field(default_factory=list)
    relative: list[tuple[int, str]] = field(default_factory=list)


class CodeCollector:
    name = "code"

    def collect(self, source: ModelSource, ctx: CollectContext) -> CodeFacts:
        present = {f.path for f in source.files}
        entries, findings = auto_map(source, present)
        targets = {e.file for e in entries if e.present and e.file}
        results, complete = analyse_all(find_code(source), targets)
        remote = remote_files(targets, results, present)
        for result in results.values():
            findings.extend(result.findings)
        return CodeFacts(
            remote_code=RemoteCodeFacts(
                present=bool(entries),
                auto_map=entries,
                files=sorted(remote),
                repositories=sorted({e.repository for e in entries if e.repository}),
            ),
            files=[
                CodeFileFacts(
                    path=r.path, kind=r.kind, runs_remote=r.path in remote, parsed=r.parsed
                )
                for r in results.values()
            ],
            findings=findings,
            complete=complete and all(r.parsed for r in results.values()),
        )


def find_code(source: ModelSource) -> list[tuple[SourceFile, Kind]]:
    """The model's code files, by extension or (without one) by their ``#!`` line."""
    found: list[tuple[SourceFile, Kind]] = []
    for file in sorted(source.files, key=lambda f: f.path):
        kind = code_files.kind_by_name(file.path)
        name = file.path.rsplit("/", 1)[-1]
        if kind is None and "." not in name and 2 < file.size <= code_files.MAX_FILE_BYTES:
            try:
                kind = code_files.kind_by_shebang(code_files.read_head(file))
            except OSError:
                kind = None
        if kind is not None:
            found.append((file, kind))
    return found


def analyse_all(
    found: list[tuple[SourceFile, Kind]], targets: set[str]
) -> tuple[dict[str, FileResult], bool]:
    """Each file's findings, within the file count and time limits."""
    deadline = time.monotonic() + code_files.MAX_SECONDS
    results: dict[str, FileResult] = {}
    for index, (file, kind) in enumerate(found):
        reason = _limit_reason(index, deadline)
        if reason is not None:
            for skipped, skipped_kind in found[index:]:
                result = FileResult(skipped.path, skipped_kind, parsed=False)
                result.findings.append(finding("code.limit", skipped.path, None, reason))
                results[skipped.path] = result
            return results, False
        results[file.path] = analyse_file(file, kind, runs_main=file.path not in targets)
    return results, True


def _limit_reason(index: int, deadline: float) -> str | None:
    if index >= code_files.MAX_FILES:
        return f"the model has more than {code_files.MAX_FILES} code files"
    if time.monotonic() > deadline:
        return f"code analysis took longer than {code_files.MAX_SECONDS:.0f} s"
    return None


def analyse_file(file: SourceFile, kind: Kind, *, runs_main: bool = True) -> FileResult:
    """One code file's findings; too large or unreadable is a finding, never skipped."""
    result = FileResult(file.path, kind)
    limit = code_files.limit_of(kind)
    try:
        text = code_files.read_text(file, limit)
    except OSError as exc:
        return _unanalysed(result, f"unreadable: {exc}")
    if text is None:
        return _unanalysed(result, f"larger than {limit} bytes")
    if kind == "python":
        analysed = analyse_python(text, file.path, runs_main=runs_main)
        result.parsed, result.findings, result.relative = (
            analysed.parsed, analysed.findings, analysed.relative,
        )  # fmt: skip
    elif kind == "shell":
        result.findings = analyse_shell(text, file.path)
    else:
        _analyse_notebook(result, text)
    return result


def _analyse_notebook(result: FileResult, text: str) -> None:
    try:
        cells = code_files.notebook_cells(text)
    except NotebookError as exc:
        result.parsed = False
        result.findings.append(finding("code.parse_error", result.path, None, str(exc)))
        return
    names = Names()
    for cell in cells:
        member = f"cell {cell.index + 1}"
        analysed = analyse_python(
            cell.python, result.path, member=member, runs_main=True, names=names
        )
        result.parsed = result.parsed and analysed.parsed
        result.findings.extend(analysed.findings)
        result.findings.extend(analyse_shell(cell.shell, result.path, member=member))


def _unanalysed(result: FileResult, reason: str) -> FileResult:
    result.parsed = False
    result.findings.append(finding("code.limit", result.path, None, f"{reason}; not analysed"))
    return result


def remote_files(targets: set[str], results: dict[str, FileResult], present: set[str]) -> set[str]:
    """The auto_map modules and every module they import relatively, as transformers copies."""
    remote: set[str] = set()
    pending = sorted(targets)
    while pending:
        path = pending.pop()
        if path in remote:
            continue
        remote.add(path)
        result = results.get(path)
        for level, module in result.relative if result else ():
            imported = relative_file(path, level, module, present)
            if imported is not None and imported not in remote:
                pending.append(imported)
    return remote

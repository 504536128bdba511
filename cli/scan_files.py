"""``modelward scan-files``: each file its own model, one verdict line per file (the hook).

A commit hook is handed the changed files, not a model directory: every file is scanned as a
model of its own with one policy bundle and one evaluator, and the worst outcome is the exit
code. A file that cannot be scanned is reported and the others are still scanned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelward.cli.exit import EXIT_ALLOW, EXIT_DENY, EXIT_ERROR, OUTCOME_EXIT
from modelward.cli.options import (
    DataOpt,
    Engine,
    EngineOpt,
    OpaUrlOpt,
    PolicyOpt,
    collect_options,
    engine_name,
    signature_options,
)
from modelward.engine.decision import Decision
from modelward.engine.errors import Error

FilesArg = Annotated[list[Path], typer.Argument(help="Model files to scan, each on its own.")]
OUTCOME_WORDS = {EXIT_ALLOW: "ALLOW", EXIT_DENY: "DENY", EXIT_ERROR: "ERROR"}


def scan_files_command(
    files: FilesArg,
    policy: PolicyOpt = None,
    data: DataOpt = None,
    engine: EngineOpt = Engine.embedded,
    opa_url: OpaUrlOpt = None,
) -> None:
    """Scan each FILE as a model of its own; exit 0 all allowed, 1 any denied, 2 any error."""
    from modelward.cli.scan import collect
    from modelward.engine.pipeline import decide
    from modelward.engine.policy.bundle import load_bundle
    from modelward.engine.policy.evaluators.factory import close_evaluator, make_evaluator

    bundle = load_bundle(policy, data)
    options = collect_options(bundle, signature_options(None, None, None, None, None, None), None)
    evaluator = make_evaluator(engine_name(engine, opa_url), opa_url)
    codes: list[int] = []
    try:
        for path in files:
            try:
                decision = decide(collect(str(path), options), bundle, evaluator)
            except Error as exc:
                codes.append(_report_error(path, exc.diagnostics()))
            else:
                codes.append(_report(path, decision))
    finally:
        close_evaluator(evaluator)
    typer.echo(_totals(codes))
    raise typer.Exit(max(codes, default=EXIT_ALLOW))


def _report(path: Path, decision: Decision) -> int:
    """``DENY  path`` and, for a deny or an error, why (each deny rule once, with its message)."""
    code = OUTCOME_EXIT[decision.outcome]
    typer.echo(f"{OUTCOME_WORDS[code]:<6}{path}")
    for finding in decision.deny:
        typer.echo(f"      {finding.id} ({finding.severity}): {finding.msg}")
    if decision.error:
        typer.echo(f"      error: {decision.error}")
    return code


def _report_error(path: Path, reason: str) -> int:
    typer.echo(f"{OUTCOME_WORDS[EXIT_ERROR]:<6}{path}")
    typer.echo(f"      error: {reason}")
    return EXIT_ERROR


def _totals(codes: list[int]) -> str:
    """E.g. ``3 files: 1 allow, 1 deny, 1 error``."""
    counts = ", ".join(
        f"{codes.count(code)} {word.lower()}" for code, word in OUTCOME_WORDS.items()
    )
    noun = "file" if len(codes) == 1 else "files"
    return f"{len(codes)} {noun}: {counts}"

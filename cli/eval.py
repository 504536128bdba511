"""``modelward eval``: evaluate policies on saved facts (a dry run, like conftest)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from modelward.cli.exit import OUTCOME_EXIT
from modelward.cli.formats import write_report
from modelward.cli.options import (
    DataOpt,
    Engine,
    EngineOpt,
    FormatOpt,
    OpaUrlOpt,
    OutputFormat,
    OutputOpt,
    PolicyOpt,
    QuietOpt,
    SummaryOpt,
    engine_name,
)
from modelward.engine.errors import Error
from modelward.engine.facts import Facts
from modelward.engine.pipeline import policy_input
from modelward.engine.policy.bundle import load_bundle
from modelward.engine.policy.evaluators.factory import close_evaluator, make_evaluator


def eval_command(
    input_file: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            help="Facts JSON (from `modelward facts` or `scan --format json`); - reads stdin.",
        ),
    ],
    output_format: FormatOpt = OutputFormat.table,
    policy: PolicyOpt = None,
    data: DataOpt = None,
    engine: EngineOpt = Engine.embedded,
    opa_url: OpaUrlOpt = None,
    output: OutputOpt = None,
    quiet: QuietOpt = False,
    summary: SummaryOpt = False,
) -> None:
    """Evaluate the policies on saved facts; exit 0 allow, 1 deny, 2 error."""
    facts, context = read_input(input_file)
    bundle = load_bundle(policy, data)
    evaluator = make_evaluator(engine_name(engine, opa_url), opa_url)
    try:
        decision = evaluator.evaluate(bundle, policy_input(facts, context))
    finally:
        close_evaluator(evaluator)
    write_report(facts, decision, output_format.value, output, quiet=quiet, summary=summary)
    raise typer.Exit(OUTCOME_EXIT[decision.outcome])


def read_input(path: Path) -> tuple[Facts, dict[str, Any] | None]:
    """Accept a facts object, a scan report ``{"facts", "decision"}``, or a policy input."""
    stdin = str(path) == "-"
    name = "stdin" if stdin else str(path)
    try:
        document = json.loads(sys.stdin.read() if stdin else path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise Error(f"{name}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise Error(f"{name}: not JSON: {exc}") from None
    context = None
    if isinstance(document, dict) and "facts" in document:
        document = document["facts"]
    elif isinstance(document, dict) and "model" in document:
        context, document = document.get("context"), document["model"]
    try:
        return Facts.model_validate(document), context
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Error(f"{name}: not a facts document: {where}: {first['msg']}") from None

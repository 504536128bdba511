"""``modelward eval``: evaluate policies on saved facts (a dry run, like conftest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from modelward.cli.exit import OUTCOME_EXIT
from modelward.cli.formats import RENDERERS
from modelward.cli.options import (
    DataOpt,
    Engine,
    EngineOpt,
    FormatOpt,
    OpaUrlOpt,
    OutputFormat,
    OutputOpt,
    PolicyOpt,
    write_output,
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
            "--input", "-i", help="Facts JSON (from `modelward facts` or `scan --format json`)."
        ),
    ],
    output_format: FormatOpt = OutputFormat.table,
    policy: PolicyOpt = None,
    data: DataOpt = None,
    engine: EngineOpt = Engine.embedded,
    opa_url: OpaUrlOpt = None,
    output: OutputOpt = None,
) -> None:
    """Evaluate the policies on saved facts; exit 0 allow, 1 deny, 2 error."""
    facts, context = read_input(input_file)
    bundle = load_bundle(policy, data)
    evaluator = make_evaluator(engine.value, opa_url)
    try:
        decision = evaluator.evaluate(bundle, policy_input(facts, context))
    finally:
        close_evaluator(evaluator)
    write_output(RENDERERS[output_format.value](facts, decision), output)
    raise typer.Exit(OUTCOME_EXIT[decision.outcome])


def read_input(path: Path) -> tuple[Facts, dict[str, Any] | None]:
    """Accept a facts object, a scan report ``{"facts", "decision"}``, or a policy input."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise Error(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise Error(f"{path}: not JSON: {exc}") from None
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
        raise Error(f"{path}: not a facts document: {where}: {first['msg']}") from None

"""``modelward policy``: test, document and start policy bundles."""

from __future__ import annotations

import shutil
from importlib.resources import as_file, files
from pathlib import Path
from typing import Annotated

import typer

from modelward.cli.exit import EXIT_ALLOW, EXIT_DENY
from modelward.cli.options import Engine, EngineOpt
from modelward.engine.errors import Error
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.doc import render_policy_docs
from modelward.engine.policy.testing import RegoTestResult, run_opa_tests, run_rego_tests

app = typer.Typer(help="Test, document and start policy bundles.", no_args_is_help=True)
BundleArg = Annotated[
    Path | None, typer.Argument(help="Policy bundle directory (default: the built-in library).")
]


@app.command("test")
def test_command(
    bundle_dir: BundleArg = None,
    engine: EngineOpt = Engine.embedded,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every test, not only the failures.")
    ] = False,
) -> None:
    """Run every test_ rule of the bundle's *_test.rego files; print the failures and a count;
    exit 1 if any fails."""
    bundle = PolicyBundle.load(bundle_dir)
    results = run_rego_tests(bundle) if engine is Engine.embedded else run_opa_tests(bundle)
    for result in results:
        if verbose or result.status != "pass":
            typer.echo(_result_line(result))
    failed = sum(r.status != "pass" for r in results)
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if not results:
        raise Error(f"{bundle.name}: no test_ rules found")
    raise typer.Exit(EXIT_DENY if failed else EXIT_ALLOW)


def _result_line(result: RegoTestResult) -> str:
    line = f"{result.status.upper():<5} {result.module}: {result.name}"
    return f"{line}\n      {result.message}" if result.message else line


@app.command("doc")
def doc_command(
    bundle_dir: Annotated[Path, typer.Argument(help="Policy bundle directory.")] = Path("policies"),
    docs: Annotated[
        Path | None, typer.Option("--docs", help="Also regenerate the marked blocks of this file.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if anything is out of date.")
    ] = False,
) -> None:
    """Regenerate the rule tables in policy READMEs (and config/facts references in --docs)."""
    stale = []
    for path, text in sorted(render_policy_docs(bundle_dir, docs).items()):
        if path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not check:
            path.write_text(text, encoding="utf-8")
    verb = "out of date" if check else "updated"
    for path in stale:
        typer.echo(f"{verb}: {path}")
    raise typer.Exit(EXIT_DENY if check and stale else EXIT_ALLOW)


@app.command("init")
def init_command(
    target: Annotated[Path, typer.Argument(help="Directory to create.")] = Path(
        "modelward-policies"
    ),
) -> None:
    """Create a starter bundle: the built-in library to edit, plus an example custom policy."""
    if target.exists() and any(target.iterdir()):
        raise Error(f"{target}: already exists and is not empty")
    with as_file(files("modelward.policies")) as source:
        shutil.copytree(source, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))  # fmt: skip
    with as_file(files("modelward.cli") / "starter") as starter:
        shutil.copytree(starter, target / "custom", dirs_exist_ok=True)
    typer.echo(
        f"created {target}; edit {target}/config.yaml, then run: modelward policy test {target}"
    )

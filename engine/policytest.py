"""Run the ``test_`` rules of a bundle's ``*_test.rego`` files on the embedded engine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from modelward.engine.bundle import PolicyBundle, RegoModule
from modelward.engine.evaluators.embedded import prepare_engine

PACKAGE = re.compile(r"^package\s+([\w.]+)", re.M)
TEST_RULE = re.compile(r"^(test_\w+)\b", re.M)


@dataclass(frozen=True)
class RegoTestResult:
    module: str
    name: str
    status: Literal["pass", "fail", "error"]
    message: str = ""


def run_rego_tests(bundle: PolicyBundle) -> list[RegoTestResult]:
    """Evaluate every test rule; undefined counts as a failure, as in ``opa test``."""
    engine = prepare_engine(bundle, bundle.modules)
    results = []
    for module in bundle.tests:
        package = _package(module)
        for name in dict.fromkeys(TEST_RULE.findall(module.source)):
            results.append(_run_one(engine, module, package, name))
    return results


def _package(module: RegoModule) -> str:
    match = PACKAGE.search(module.source)
    if match is None:
        raise ValueError(f"{module.path}: no package declaration")
    return match.group(1)


def _run_one(engine: object, module: RegoModule, package: str, name: str) -> RegoTestResult:
    try:
        value = engine.eval_rule(f"data.{package}.{name}")  # type: ignore[attr-defined]
    except RuntimeError as exc:
        return RegoTestResult(module.path, name, "error", str(exc).split("\nStack backtrace:")[0])
    status: Literal["pass", "fail"] = "pass" if value is True else "fail"
    return RegoTestResult(module.path, name, status)

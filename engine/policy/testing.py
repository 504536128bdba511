"""Run the ``test_`` rules of a bundle's ``*_test.rego`` files on the embedded engine."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from modelward.engine.errors import EvaluationError
from modelward.engine.policy.bundle import PolicyBundle, RegoModule
from modelward.engine.policy.evaluators.embedded import prepare_engine

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


def run_opa_tests(bundle: PolicyBundle, binary: str = "opa") -> list[RegoTestResult]:
    """Run ``opa test`` on the bundle's modules with the data both engines see."""
    opa = shutil.which(binary)
    if opa is None:
        raise EvaluationError(f"'{binary}' is not on PATH; scripts/tools.sh builds it")
    with tempfile.TemporaryDirectory(prefix="modelward-opa-test-") as tmp:
        root = Path(tmp)
        for module in bundle.modules:
            (root / module.path).parent.mkdir(parents=True, exist_ok=True)
            (root / module.path).write_text(module.source, encoding="utf-8")
        (root / "data.json").write_text(json.dumps(bundle.data()), encoding="utf-8")
        proc = subprocess.run([opa, "test", "--format", "json", str(root)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        try:
            reports = json.loads(proc.stdout or "[]")
        except ValueError:
            raise EvaluationError(f"opa test failed: {proc.stderr.strip()}") from None
        if not isinstance(reports, list):
            raise EvaluationError(f"opa test failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return [_opa_result(r, root) for r in reports]


def _opa_result(report: dict[str, Any], root: Path) -> RegoTestResult:
    module = str(Path(report.get("location", {}).get("file", "")).relative_to(root))
    name = str(report.get("name", ""))
    if report.get("error"):
        return RegoTestResult(module, name, "error", json.dumps(report["error"]))
    return RegoTestResult(module, name, "fail" if report.get("fail") else "pass")

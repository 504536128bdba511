"""Policy evaluation latency per decision: embedded engine and real OPA, same bundle and input.

Realistic inputs: the facts of the real all-MiniLM-L6-v2 model and of the whole shared corpus
(many files and findings). The two engines are timed alternately, call by call, so load from
elsewhere on the machine falls on both alike. Prints p50/p99 per engine and input, checks that
both engines reach the same decision, and the target: embedded p50 <= OPA p50 on every input.
Exit code 1 when a target is missed or the decisions differ.

    python bench/eval.py [--runs 500] [--opa $MODELWARD_TOOLS_CACHE/bin/opa]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from modelward.engine.decision import Decision
from modelward.engine.pipeline import collect_facts, policy_input
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators import Evaluator
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.policy.evaluators.opa import OpaEvaluator

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MODELWARD_SHARED", REPO.parent / "shared"))
TOOLS_CACHE = Path(os.environ.get("MODELWARD_TOOLS_CACHE", REPO / "tools-cache"))


def timed(evaluator: Evaluator, bundle: PolicyBundle, document: dict[str, Any]) -> float:
    started = time.perf_counter()
    decision = evaluator.evaluate(bundle, document)
    elapsed = (time.perf_counter() - started) * 1000
    assert decision.outcome != "error", decision.error
    return elapsed


def comparable(decision: Decision) -> dict[str, Any]:
    return decision.model_dump(include={"outcome", "deny", "warn", "error"})


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="timed calls per engine and input")
    parser.add_argument("--opa", default=str(TOOLS_CACHE / "bin" / "opa"))
    args = parser.parse_args()
    bundle = PolicyBundle.builtin()
    inputs = {
        "real model (13 files)": policy_input(
            collect_facts(str(REPO / ".cache/models/all-minilm-l6-v2"))
        ),
        "corpus dir (139 files)": policy_input(collect_facts(str(SHARED / "corpus" / "files"))),
    }
    embedded = EmbeddedEvaluator()
    failed = False
    print(f"{'input':<24} {'runs':>5} {'embedded p50/p99 ms':>20} {'opa p50/p99 ms':>16}  "
          "same decision  embedded p50 <= opa p50")  # fmt: skip
    with OpaEvaluator(binary=args.opa) as opa:
        for name, document in inputs.items():
            same = comparable(embedded.evaluate(bundle, document)) == comparable(
                opa.evaluate(bundle, document)
            )  # also the warm-up: both engines load and compile the bundle
            times: dict[str, list[float]] = {"embedded": [], "opa": []}
            for _ in range(args.runs):
                times["embedded"].append(timed(embedded, bundle, document))
                times["opa"].append(timed(opa, bundle, document))
            ours, theirs = (percentile(times[e], 50) for e in ("embedded", "opa"))
            met = ours <= theirs
            failed |= not (met and same)
            cells = {e: f"{percentile(t, 50):.3f}/{percentile(t, 99):.3f}"
                     for e, t in times.items()}  # fmt: skip
            print(f"{name:<24} {args.runs:>5} {cells['embedded']:>20} {cells['opa']:>16}  "
                  f"{'yes' if same else 'NO':<13}  {'met' if met else 'MISSED'}"
                  f" ({ours / theirs:.2f}x)")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

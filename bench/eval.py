"""Policy evaluation latency per decision: embedded engine and real OPA, same bundle and input.

Realistic inputs: the facts of the real all-MiniLM-L6-v2 model and of the whole shared corpus
(many files and findings). Prints p50/p99 per engine and input. Target: embedded p50 < 1 ms.

    python bench/eval.py [--runs 2000] [--opa tools-cache/bin/opa]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from modelward.engine.pipeline import collect_facts, policy_input
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators import Evaluator
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.policy.evaluators.opa import OpaEvaluator

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MODELWARD_SHARED", REPO.parent / "shared"))
TARGET_P50_MS = 1.0


def latencies(
    evaluator: Evaluator, bundle: PolicyBundle, document: dict[str, Any], runs: int
) -> list[float]:
    evaluator.evaluate(bundle, document)  # warm up: load and compile
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        decision = evaluator.evaluate(bundle, document)
        out.append((time.perf_counter() - started) * 1000)
        assert decision.outcome != "error", decision.error
    return out


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--opa", default=str(REPO / "tools-cache" / "bin" / "opa"))
    args = parser.parse_args()
    bundle = PolicyBundle.builtin()
    inputs = {
        "real model (13 files)": policy_input(
            collect_facts(str(REPO / ".cache/models/all-minilm-l6-v2"))
        ),
        "corpus dir (139 files)": policy_input(collect_facts(str(SHARED / "corpus" / "files"))),
    }
    print(f"{'engine':<9} {'input':<24} {'runs':>6} {'p50 ms':>8} {'p99 ms':>8}")
    with OpaEvaluator(binary=args.opa) as opa:
        for engine, evaluator in (("embedded", EmbeddedEvaluator()), ("opa", opa)):
            for name, document in inputs.items():
                runs = args.runs if engine == "embedded" else max(args.runs // 4, 50)
                values = latencies(evaluator, bundle, document, runs)
                p50, p99 = percentile(values, 50), percentile(values, 99)
                print(f"{engine:<9} {name:<24} {runs:>6} {p50:>8.3f} {p99:>8.3f}")
    print(f"target: embedded p50 < {TARGET_P50_MS} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

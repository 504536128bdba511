"""Backdoor detection on the generated evaluation set (and optionally the held-out one).

Builds (or reuses from the cache) trojaned classifiers and their clean twins, runs analyse() on
each, and prints ROC-AUC overall / image / text, TPR at 5% FPR, the false-positive and
true-positive rates at the 0.5 threshold, and seconds per model.

    python bench/backdoor.py [--set generated|heldout|unseen|unseen2|unseen3|both|all] [--budget 60]
                             [--cache DIR] [--through-cli]

--through-cli runs `modelward scan MODEL --behaviour --probe-inputs PROBES --format json` per
model, the path reviewers take: its seconds include the sandboxed process's start-up.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modelward.engine.behaviour.analyse import analyse
from tests.behaviour.onnx_classifier import load_classifier
from tests.behaviour.zoo import build_set, load_probes
from tests.behaviour.zoo_sets import SETS

DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "backdoor-zoo"
MODELWARD = Path(sys.executable).parent / "modelward"


def roc_auc(labels: list[bool], scores: list[float]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def tpr_at_fpr(labels: list[bool], scores: list[float], fpr: float = 0.05) -> float:
    neg = np.sort([s for s, y in zip(scores, labels, strict=True) if not y])[::-1]
    pos = np.array([s for s, y in zip(scores, labels, strict=True) if y])
    allowed = int(np.floor(fpr * len(neg)))
    threshold = neg[allowed] if allowed < len(neg) else -np.inf
    return float(np.mean(pos > threshold)) if len(pos) else float("nan")


def in_process(path: Path, budget: float) -> dict[str, object]:
    """analyse() over the product's classifier, in this process."""
    probes = load_probes(path)
    model = load_classifier(path / "model.onnx", probes)
    result = analyse(model, probes, budget_seconds=budget, seed=0)
    return {
        "score": result.score,
        "suspected_target": result.suspected_target,
        "complete": result.complete,
        "methods": [{"name": m.name, "note": m.note} for m in result.methods],
    }


def through_cli(path: Path, budget: float) -> dict[str, object]:
    """The backdoor facts of `modelward scan --behaviour` on the model (budget: the CLI's)."""
    probes = next(p for p in (path / "probes.npy", path / "probes.txt") if p.is_file())
    command = [str(MODELWARD), "scan", str(path / "model.onnx"), "--behaviour"]
    command += ["--probe-inputs", str(probes), "--behaviour-budget", str(budget)]
    command += ["--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=budget + 60)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{path.name}: exit {done.returncode}: {done.stderr[-400:]}")
    backdoor: dict[str, object] = json.loads(done.stdout)["facts"]["behaviour"]["backdoor"]
    return backdoor


def run_set(name: str, cache: Path, budget: float, cli: bool = False) -> list[dict[str, object]]:
    built = build_set(SETS[name], cache / name)
    dropped = [b for b in built if not b.kept]
    for b in dropped:
        print(f"  dropped {b.name}: {b.reason}")
    rows = []
    for b in built:
        if not b.kept:
            continue
        path = cache / name / b.name
        began = time.monotonic()
        result = through_cli(path, budget) if cli else in_process(path, budget)
        seconds = time.monotonic() - began
        methods: list[dict[str, str]] = result.get("methods") or []  # type: ignore[assignment]
        stats = {
            str(m["name"]): str(m.get("note") or "").split(";")[0].removeprefix("statistic ")
            for m in methods
        }
        score = float(result.get("score") or 0.0)  # type: ignore[arg-type]
        target = result.get("suspected_target")
        hit = target == b.target if b.trojan else None
        print(
            f"  {b.name:34s} {'trojan' if b.trojan else 'clean ':6s} {b.model:11s} "
            f"score={score:.3f} target={target}"
            f"{'' if hit is None else (' ok' if hit else ' WRONG')} {seconds:5.1f}s "
            + " ".join(f"{k.split('-')[0]}={v}" for k, v in stats.items()),
            flush=True,
        )
        rows.append(
            {
                "set": name,
                "name": b.name,
                "kind": b.kind,
                "trojan": b.trojan,
                "score": score,
                "seconds": seconds,
                "target_ok": hit,
                "complete": result.get("complete"),
                "stats": stats,
            }
        )
    return rows


def summarise(title: str, rows: list[dict[str, object]]) -> None:
    print(f"== {title}")
    for subset in ("all", "image", "text"):
        part = [r for r in rows if subset == "all" or r["kind"] == subset]
        if not part:
            continue
        y = [bool(r["trojan"]) for r in part]
        s = [float(r["score"]) for r in part]  # type: ignore[arg-type]
        fp = np.mean([sc >= 0.5 for sc, t in zip(s, y, strict=True) if not t])
        tp = np.mean([sc >= 0.5 for sc, t in zip(s, y, strict=True) if t])
        print(
            f"  {subset:5s} n={len(part):3d} ROC-AUC={roc_auc(y, s):.3f} "
            f"TPR@5%FPR={tpr_at_fpr(y, s):.2f} at 0.5: TPR={tp:.2f} FPR={fp:.2f}"
        )
    secs = [float(r["seconds"]) for r in rows]  # type: ignore[arg-type]
    hits = [r["target_ok"] for r in rows if r["target_ok"] is not None]
    print(f"  seconds per model: mean {np.mean(secs):.2f}, max {np.max(secs):.2f}")
    print(f"  suspected target right on {sum(map(bool, hits))}/{len(hits)} trojans")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--set",
        choices=["generated", "heldout", "unseen", "unseen2", "unseen3", "both", "all"],
        default="generated",
    )
    parser.add_argument("--through-cli", action="store_true", help="run `modelward scan` per model")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="write per-model rows here")
    args = parser.parse_args()
    groups = {
        "both": ["generated", "heldout"],
        "all": ["generated", "heldout", "unseen", "unseen2", "unseen3"],
    }
    names = groups.get(args.set, [args.set])
    everything = []
    for name in names:
        print(f"== {name} set")
        rows = run_set(name, args.cache, args.budget, args.through_cli)
        summarise(name, rows)
        everything += rows
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()

"""Adversarial phase of bench/admission.py: one requester's costly reviews beside legitimate ones.

An attacker sends dry-run Deployments, each with as many distinct unvetted model references as
one object may carry (``max_references``, the most costly review that is still evaluated) and,
in a second run, with 127 (over the cap, as in the original report), at 8 requests/s, while
legitimate vetted reviews arrive at 400/s from another requester. Each run first measures the
legitimate load alone, then both together, each load generator in its own process. Every
attacker review uses references never sent before, so nothing of theirs is remembered.

Target: 0 legitimate reviews denied (or failed), legitimate p99 < 20 ms, on 2 cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from modelward.admission.config import MAX_REFERENCES

REPO = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 20.0
ATTACK_RATE, LEGIT_RATE = 8.0, 400.0
ATTACK_SIZES = (MAX_REFERENCES, 127)
ANSWERS = [['"allowed":true', "allowed"], ['"allowed":false', "denied"]]


def attack_review(index: int, count: int) -> dict[str, Any]:
    """A dry-run Deployment with ``count`` distinct unvetted references (one per container)."""
    containers = [
        {
            "name": f"c{j}",
            "image": "registry.example.com/tools/runner:1",
            "args": ["--model-id", f"hf://attacker-{uuid.uuid4().hex[:12]}/m{j}@{'0' * 40}"],
        }
        for j in range(count)
    ]
    template = {"metadata": {"labels": {"app": "costly"}}, "spec": {"containers": containers}}
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"costly-{index}", "namespace": "sandbox"},
        "spec": {"selector": {"matchLabels": {"app": "costly"}}, "template": template},
    }
    request = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "name": obj["metadata"]["name"],
        "namespace": "sandbox",
        "operation": "CREATE",
        "userInfo": {"username": "mallory", "groups": ["system:authenticated"]},
        "object": obj,
        "dryRun": True,
    }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def together(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run bench/admission_load.py once per job, all at the same time; their results."""
    script = str(REPO / "bench" / "admission_load.py")
    procs = [
        subprocess.Popen(
            [sys.executable, script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in jobs
    ]
    for proc, job in zip(procs, jobs, strict=True):
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
    results = []
    for proc in procs:
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
        if proc.wait() != 0:
            raise RuntimeError(f"the load generator failed: {err[-2000:]}")
        results.append(dict(json.loads(out)))
    return results


def phase_adversarial(
    base: dict[str, Any], legit_bodies: list[str], seconds: float, cpu: Any
) -> list[dict[str, Any]]:
    """Legitimate load alone, then with each attack size; prints a table, returns the rows."""
    legit = {**base, "bodies": legit_bodies, "total": int(LEGIT_RATE * seconds),
             "rate": LEGIT_RATE, "expect": {"200": ANSWERS}}  # fmt: skip
    rows = []
    alone = _measured(cpu, [legit])[0]
    rows.append(("legitimate alone", "400/s", alone))
    for size in ATTACK_SIZES:
        count = int(ATTACK_RATE * seconds)
        bodies = [json.dumps(attack_review(i, size)) for i in range(count)]
        attack = {**base, "bodies": bodies, "total": count, "rate": ATTACK_RATE,
                  "concurrency": 8, "expect": {"200": ANSWERS}}  # fmt: skip
        good, bad = _measured(cpu, [legit, attack])
        rows.append((f"legitimate, attack {size}", "400/s", good))
        rows.append((f"attack: {size} refs each", "8/s", bad))
    _print(rows, seconds)
    return [r for _, _, r in rows]


def met(result: dict[str, Any]) -> bool:
    """The target for one legitimate row."""
    clean = result["errors"] == 0 and result.get("denied", 0) == 0
    return clean and result["p99"] < TARGET_P99_MS


def _measured(cpu: Any, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``together(jobs)`` plus the webhook's busy cores (server and workers) meanwhile."""
    before = sum(cpu())
    results = together(jobs)
    used = sum(cpu()) - before
    for result in results:
        result["cores"] = used / max(max(r["seconds"] for r in results), 1e-9)
    return results


def _print(rows: list[tuple[str, str, dict[str, Any]]], seconds: float) -> None:
    print(f"\nphase 1b: adversarial, {seconds:g} s per run (attacker: dry-run, user mallory)")
    print(f"{'run':<28} {'rate':>6} {'achieved/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>8} {'errors':>6} {'allowed':>7} {'denied':>6} {'cores':>6}")  # fmt: skip
    for name, rate, r in rows:
        print(f"{name:<28} {rate:>6} {r['rps']:>10.1f} {r['p50']:>7.2f} {r['p99']:>7.2f} "
              f"{r['max']:>8.2f} {r['errors']:>6} {r.get('allowed', 0):>7} "
              f"{r.get('denied', 0):>6} {r['cores']:>6.2f}")  # fmt: skip
    print("cores: CPU seconds of the webhook (server and evaluation workers) per second")
    legit = [r for name, _, r in rows if name.startswith("legitimate, attack")]
    ok = all(met(r) for r in legit)
    print(f"target: 0 legitimate denied or failed, legitimate p99 < {TARGET_P99_MS:g} ms under "
          f"attack: {'met' if ok else 'NOT met'}")  # fmt: skip

"""Admission webhook latency and throughput, alone and behind a real kube-apiserver.

Setup: a signed verdict for the real all-MiniLM-L6-v2 model (vetted here, in process) in a SQLite
registry, and `modelward webhook serve` started on 127.0.0.1 with fresh certificates and an audit
log. Phase 1 sends AdmissionReviews for a Deployment that uses the model from a load generator in
its own process (bench/admission_load.py): 20 000 requests on 32 keep-alive connections, once
paced at 500 req/s (open loop) and once as fast as the server answers. Phase 1b
(bench/admission_adversarial.py) adds an attacker's costly dry-run reviews, each with as many
distinct unvetted references as an object may carry, at 8/s beside 400 legitimate reviews/s.
Phase 2 registers the
webhook with a real API server (tests/e2e/kube.py) and creates pods with dryRun=All at a steady
rate, half using the vetted model (allowed) and half an unvetted one (denied).

Targets on 2 cores: p99 < 10 ms at >= 500 req/s with 0 errors; under attack, 0 legitimate
reviews denied and their p99 < 20 ms.

    python bench/admission.py [--requests 20000] [--rate 500] [--pods 3000] [--pod-rate 100]
                              [--adversarial-seconds 20] [--skip-cluster]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests/e2e/kube.py: certificates and the API server

from bench.admission_adversarial import phase_adversarial  # noqa: E402
from bench.admission_kube import phase_cluster  # noqa: E402
from modelward.engine.pipeline import collect_facts  # noqa: E402
from modelward.engine.policy.bundle import PolicyBundle  # noqa: E402
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator  # noqa: E402
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry  # noqa: E402
from modelward.engine.verdicts.signed import Verdict, generate_keypair, sign_verdict, utc_now  # noqa: E402
from tests.e2e.kube import CertAuthority, free_port  # noqa: E402

MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"
VETTED = "hf://sentence-transformers/all-MiniLM-L6-v2@c9745ed1d9f207416be6d2e6f8de32d1f16199bf"
UNVETTED = "hf://example-org/unvetted-model@0123456789abcdef0123456789abcdef01234567"
TARGET_P99_MS, TARGET_RPS = 10.0, 500.0


def vet(workdir: Path) -> tuple[Path, Path, str]:
    """Sign a verdict for the real model under VETTED; return (registry, public key, outcome)."""
    private_pem, public_pem = generate_keypair()
    facts = collect_facts(str(MODEL)).to_json_dict()
    location, _, revision = VETTED.removeprefix("hf://").partition("@")
    facts["subject"].update(  # as `modelward vet` records a model fetched from the Hub
        ref=VETTED, scheme="hf", location=location, revision=revision, pinned=True
    )
    policy_input = {"model": facts, "context": {"source": "ci"}}
    decision = EmbeddedEvaluator().evaluate(PolicyBundle.builtin(), policy_input)
    verdict = Verdict(
        reference=VETTED,
        digest=facts["subject"].get("digest"),
        created_at=utc_now(),
        decision=decision,
        facts=facts,
    )
    registry = workdir / "verdicts.db"
    SqliteRegistry(registry).put(sign_verdict(verdict, private_pem))
    key = workdir / "verdict-key.pub"
    key.write_bytes(public_pem)
    return registry, key, decision.outcome


def write_config(workdir: Path, registry: Path, key: Path, kubeconfig: Path | None) -> Path:
    config = {
        "registry": {"type": "sqlite", "path": str(registry)},
        "verdict_keys": [str(key)],
        "audit_log": str(workdir / "audit.jsonl"),
        "deadline_seconds": 3,
        "kubernetes": {"access": "kubeconfig", "kubeconfig": str(kubeconfig)}
        if kubeconfig
        else {"access": "off"},
    }
    path = workdir / "webhook.yaml"
    path.write_text(json.dumps(config))
    return path


def deployment(model: str, name: str = "embedder") -> dict[str, Any]:
    container = {
        "name": "server",
        "image": "ghcr.io/example/text-embeddings:1.0",
        "args": ["--model-id", model],
        "env": [{"name": "MODEL_ID", "value": model}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ml", "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    }


def review(obj: dict[str, Any]) -> dict[str, Any]:
    request = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "name": obj["metadata"]["name"],
        "namespace": "ml",
        "operation": "CREATE",
        "userInfo": {"username": "ci-deployer", "groups": ["system:authenticated"]},
        "object": obj,
        "dryRun": False,
    }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


class Webhook:
    """`modelward webhook serve` as a subprocess on 127.0.0.1."""

    def __init__(
        self, workdir: Path, config: Path, ca: CertAuthority, extra: tuple[str, ...] = ()
    ) -> None:
        cert, key = ca.issue("localhost")
        (workdir / "tls.crt").write_bytes(cert)
        (workdir / "tls.key").write_bytes(key)
        self.port = free_port()
        self.ca = ca
        self.log_path = workdir / "webhook.log"
        self.log = self.log_path.open("ab")
        tls = ["--tls-cert", str(workdir / "tls.crt"), "--tls-key", str(workdir / "tls.key")]
        where = ["--host", "127.0.0.1", "--port", str(self.port), "--config", str(config)]
        argv = [str(REPO / ".venv" / "bin" / "modelward"), "webhook", "serve", *tls, *where, *extra]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120.0) -> None:
        import ssl

        context = ssl.create_default_context(cadata=self.ca.cert_pem.decode())
        deadline = time.monotonic() + timeout
        url = f"https://127.0.0.1:{self.port}/readyz"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the webhook exited ({self.proc.returncode}):\n{tail}")
            try:
                with urllib.request.urlopen(url, context=context, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the webhook did not get ready")

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time used so far by the server process and by its evaluation workers."""
        server, workers = 0.0, 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            if stat.parent.name == str(self.proc.pid):
                server += used
            elif fields[1] == str(self.proc.pid):
                workers += used
        return server, workers

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def load(job: dict[str, Any]) -> dict[str, Any]:
    """Run bench/admission_load.py in its own process (no GIL shared with anything here)."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "admission_load.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def row(name: str, target: str, r: dict[str, Any]) -> str:
    return (f"{name:<22} {target:>8} {r['rps']:>10.1f} {r['p50']:>7.2f} {r['p90']:>7.2f} "
            f"{r['p99']:>7.2f} {r['max']:>8.2f} {r['errors']:>6} {r.get('allowed', 0):>7} "
            f"{r.get('denied', 0):>6}")  # fmt: skip


HEADER = (f"{'run':<22} {'target/s':>8} {'achieved/s':>10} {'p50 ms':>7} {'p90 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>8} {'errors':>6} {'allowed':>7} {'denied':>6}")  # fmt: skip


def job_base(webhook: Webhook, args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """The load generator job for ``webhook`` and the legitimate (vetted) review bodies."""
    bodies = [json.dumps(review(deployment(VETTED, f"embedder-{i}"))) for i in range(256)]
    answers = [['"allowed":true', "allowed"], ['"allowed":false', "denied"]]
    base = {"host": "127.0.0.1", "port": webhook.port, "ca_pem": webhook.ca.cert_pem.decode(),
            "path": "/validate", "bodies": bodies, "concurrency": args.concurrency,
            "expect": {"200": answers}}  # fmt: skip
    return base, bodies


def phase_webhook(webhook: Webhook, args: argparse.Namespace) -> list[dict[str, Any]]:
    base, _ = job_base(webhook, args)
    load({**base, "total": 2000, "rate": None})  # warm up: workers, engines, connections
    paced = measured(webhook, {**base, "total": args.requests, "rate": args.rate})
    unpaced = measured(webhook, {**base, "total": args.requests, "rate": None})
    print(f"\nphase 1: webhook alone, HTTPS, {args.concurrency} keep-alive connections")
    print(HEADER)
    print(row(f"paced {args.rate:g}/s", f"{args.rate:g}", paced))
    print(row("unpaced (max)", "-", unpaced))
    for name, r in (("paced", paced), ("unpaced", unpaced)):
        print(f"cpu ms per request ({name}): server {r['cpu_server']:.3f}, evaluation "
              f"workers {r['cpu_workers']:.3f}, load generator {r['cpu_client']:.3f}")  # fmt: skip
    return [paced, unpaced]


def measured(webhook: Webhook, job: dict[str, Any]) -> dict[str, Any]:
    """``load(job)`` plus the CPU milliseconds per request of each process."""
    server, workers = webhook.cpu_seconds()
    result = load(job)
    server_after, workers_after = webhook.cpu_seconds()
    count = max(result["requests"], 1)
    result["cpu_server"] = (server_after - server) * 1000 / count
    result["cpu_workers"] = (workers_after - workers) * 1000 / count
    result["cpu_client"] = result["cpu_seconds"] * 1000 / count
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=TARGET_RPS)
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--pod-rate", type=float, default=100.0)
    parser.add_argument("--skip-cluster", action="store_true")
    parser.add_argument("--adversarial-seconds", type=float, default=20.0,
                        help="length of each adversarial run (0: skip the phase)")  # fmt: skip
    parser.add_argument("--eval-workers", type=int, default=None, help="webhook option")
    parser.add_argument("--threads", type=int, default=None, help="webhook option")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}; model: {MODEL.name} as {VETTED}")
    with tempfile.TemporaryDirectory(prefix="bench-admission-") as tmp:
        workdir = Path(tmp)
        registry, key, outcome = vet(workdir)
        print(f"vetted in process: {outcome}; verdict signed into {registry.name}")
        ca = CertAuthority.create("bench-webhook-ca")
        options = (("eval-workers", args.eval_workers), ("threads", args.threads))
        extra = [f"--{name}={value}" for name, value in options if value]
        webhook = Webhook(workdir, write_config(workdir, registry, key, None), ca, tuple(extra))
        try:
            paced, _ = phase_webhook(webhook, args)
            ok = paced["p99"] < TARGET_P99_MS and paced["rps"] >= args.rate * 0.98
            ok = ok and paced["errors"] == 0
            print(f"target: p99 < {TARGET_P99_MS:g} ms at >= {TARGET_RPS:g} req/s, 0 errors: "
                  f"{'met' if ok else 'NOT met'}")  # fmt: skip
            if args.adversarial_seconds > 0:
                base, bodies = job_base(webhook, args)
                phase_adversarial(base, bodies, args.adversarial_seconds, webhook.cpu_seconds)
        finally:
            webhook.stop()
        if not args.skip_cluster:

            def start_webhook(kubeconfig: Path) -> Webhook:
                config = write_config(workdir, registry, key, kubeconfig)
                return Webhook(workdir, config, ca, tuple(extra))

            phase_cluster(workdir, start_webhook, load, VETTED, UNVETTED, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

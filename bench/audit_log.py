"""The cost of the audit log, as ratios against the same work without it, in one run.

Publishing: N verdicts stored one `put` each into a SQLite registry without a log and into one
that appends a signed, chained entry per put, interleaved in rounds (in alternating order) so
both see the same machine load. Verifying: `verify_log` over the N entries, against verifying
the N verdict envelopes themselves (one ECDSA verification each, the floor).

    python bench/audit_log.py [--verdicts 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from modelward.engine.verdicts.auditlog.entry import EntrySigner  # noqa: E402
from modelward.engine.verdicts.auditlog.verify import LogKeys, verify_log  # noqa: E402
from modelward.engine.verdicts.keys import generate_keypair, load_private_key  # noqa: E402
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry  # noqa: E402
from modelward.engine.verdicts.signed import VerdictKeys  # noqa: E402
from tests.engine.verdict_builders import REFERENCE, signed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verdicts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    private, public = generate_keypair()
    verdicts = [signed(private, reference=f"{REFERENCE}-{i}") for i in range(args.verdicts)]
    audit = EntrySigner(load_private_key(private), "bench", "bench")
    per_round = max(1, args.verdicts // args.rounds)
    with tempfile.TemporaryDirectory() as folder:
        plain = SqliteRegistry(Path(folder) / "plain.db")
        logged = SqliteRegistry(Path(folder) / "logged.db", audit=audit)
        times = {"plain": 0.0, "logged": 0.0}
        order = [("plain", plain), ("logged", logged)]
        for start in range(0, args.verdicts, per_round):
            batch = verdicts[start : start + per_round]
            order.reverse()  # neither always goes first
            for name, registry in order:
                began = time.perf_counter()
                for verdict in batch:
                    registry.put(verdict)
                times[name] += time.perf_counter() - began
        entries = logged.log_entries()
    began = time.perf_counter()
    report = verify_log(entries, LogKeys([(public, "bench")]))
    verify_seconds = time.perf_counter() - began
    keys = VerdictKeys.from_pems([public], memo_size=0)
    began = time.perf_counter()
    for verdict in verdicts:
        keys.verify(verdict, verdict.reference, remember=False)
    floor = time.perf_counter() - began
    n = args.verdicts
    print(f"put, no log:   {times['plain'] / n * 1e3:.2f} ms per verdict")
    print(f"put, with log: {times['logged'] / n * 1e3:.2f} ms per verdict "
          f"(ratio {times['logged'] / times['plain']:.2f})")  # fmt: skip
    print(f"verify-log:    {verify_seconds:.3f} s for {n} entries, intact={report.intact} "
          f"(ratio {verify_seconds / floor:.2f} to verifying {n} verdict envelopes)")  # fmt: skip


if __name__ == "__main__":
    main()

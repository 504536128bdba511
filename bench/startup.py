"""Start-up cost of the ``modelward`` command against ``picklescan``, side by side in one run.

CPU time (user + system of the child process, from ``os.wait4``) of the calls a CI loop or a
pre-commit hook makes, each tool from its own venv (picklescan from the peers venv that
bench/peers.py sets up under .cache/bench-peers):

- ``modelward --version`` against ``picklescan --help`` (picklescan has no ``--version``);
- ``modelward scan tiny.safetensors`` against ``picklescan -p tiny.safetensors``;
- the corpus scanned one call per file (total), against picklescan one call per file;
- one ``modelward scan DIR`` over the corpus against one ``picklescan -p DIR``.

Prints the medians and the ratios (modelward / picklescan; target <= 3 on every line).
Corpus files are only passed to the scanners by path; nothing here loads them.

    python bench/startup.py [--runs 7] [--dir-runs 3] [--corpus /work/shared/corpus]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers

ROOT = Path(__file__).resolve().parent.parent
MODELWARD = Path(sys.executable).with_name("modelward")
TARGET = 3.0


def cpu_seconds(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """User + system CPU seconds of one run of ``argv``, and its exit code."""
    proc = subprocess.Popen(
        list(argv),
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, proc.returncode


#: One side of a comparison: the command line and its environment.
Call = tuple[list[str], dict[str, str]]


def paired_medians(ours: Call, theirs: Call, cwd: Path, runs: int) -> tuple[float, float]:
    """Median CPU seconds of each side; the two alternate, so both see the same machine load."""
    mine: list[float] = []
    peer: list[float] = []
    for _ in range(runs):
        mine.append(cpu_seconds(*ours, cwd)[0])
        peer.append(cpu_seconds(*theirs, cwd)[0])
    return statistics.median(mine), statistics.median(peer)


def paired_totals(
    pairs: list[tuple[Call, Call]], cwd: Path
) -> tuple[float, float, list[str], list[str]]:
    """Total CPU seconds of each side over one call per pair, and the files (last argument)
    each side ended with an exit code of 2 or more."""
    totals: list[float] = [0.0, 0.0]
    errors: list[list[str]] = [[], []]
    for pair in pairs:
        for side, (argv, env) in enumerate(pair):
            seconds, rc = cpu_seconds(argv, env, cwd)
            totals[side] += seconds
            if rc not in (0, 1):
                errors[side].append(Path(argv[-1]).name)
    return totals[0], totals[1], errors[0], errors[1]


def write_tiny_safetensors(path: Path) -> Path:
    """A valid two-float safetensors file (header + 8 bytes of zeros)."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    return path


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "files").iterdir() if p.is_file())


def modelward_env() -> dict[str, str]:
    env = {**os.environ, **peers.QUIET_ENV, "RUST_BACKTRACE": "0"}
    env.pop("MODELWARD_DEBUG", None)
    return env


def row(name: str, ours: float, theirs: float, note: str = "") -> bool:
    ratio = ours / theirs if theirs else float("inf")
    met = ratio <= TARGET
    verdict = "ok" if met else "ABOVE TARGET"
    print(
        f"{name:34s} {ours:9.3f} {theirs:11.3f} {ratio:7.2f}x  {verdict}"
        + (f"  {note}" if note else "")
    )
    return met


def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> bool:
    peers.ensure_venv(log)
    picklescan = str(peers.venv_bin("picklescan"))
    mw, ps = modelward_env(), peers.peer_env()
    files = corpus_files(args.corpus)
    with tempfile.TemporaryDirectory(prefix="mw-startup-") as tmp:
        cwd = Path(tmp)
        tiny = str(write_tiny_safetensors(cwd / "tiny.safetensors"))
        # One warm-up call each, so neither side pays for writing its bytecode cache.
        cpu_seconds([str(MODELWARD), "scan", tiny], mw, cwd)
        cpu_seconds([picklescan, "-p", tiny], ps, cwd)
        print(f"CPU seconds (user+sys), medians of {args.runs} runs; {len(files)} corpus files")
        print(f"{'':34s} {'modelward':>9s} {'picklescan':>11s} {'ratio':>8s}  (target <= 3x)")
        mwc, psc = str(MODELWARD), picklescan
        version = paired_medians(([mwc, "--version"], mw), ([psc, "--help"], ps), cwd, args.runs)
        small = paired_medians(([mwc, "scan", tiny], mw), ([psc, "-p", tiny], ps), cwd, args.runs)
        met = [row("--version / --help", *version), row("scan tiny.safetensors", *small)]
        pairs = [(([mwc, "scan", str(f)], mw), ([psc, "-p", str(f)], ps)) for f in files]
        ours, theirs, our_errors, their_errors = paired_totals(pairs, cwd)
        note = f"exit>=2: modelward {len(our_errors)}, picklescan {len(their_errors)}"
        if our_errors:
            note += f" (modelward: {', '.join(our_errors[:3])})"
        met.append(row("corpus, one call per file (total)", ours, theirs, note))
        directory = str(args.corpus / "files")
        dir_medians = paired_medians(
            ([mwc, "scan", directory], mw), ([psc, "-p", directory], ps), cwd, args.dir_runs
        )
        met.append(row("one call over the corpus directory", *dir_medians))
    print("all ratios within target" if all(met) else "some ratios above target")
    return all(met)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per single-call median")
    parser.add_argument("--dir-runs", type=int, default=3, help="runs of the directory scan")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(os.environ.get("MODELWARD_SHARED", ROOT.parent / "shared")) / "corpus",
        help="a corpus folder with files/ (default: ../shared/corpus)",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()

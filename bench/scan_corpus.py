"""Detection and speed of modelward's scanner against peer scanners on the shared corpus.

Run with the project's interpreter (modelward must import):

    .venv/bin/python bench/scan_corpus.py                 # peers + ours + 1 GiB checkpoint
    .venv/bin/python bench/scan_corpus.py --only ours     # skip the peers
    .venv/bin/python bench/scan_corpus.py --peers picklescan,modelaudit

Peers run one subprocess per file (interpreter start included) from their own venv, which is
created on first use under .cache/bench-peers. Ours runs in one subprocess over all files.
Corpus files are only read as bytes; nothing here loads or unpickles them.

Env: MODELWARD_SHARED (the shared folder; default ../shared next to the repo),
     MODELWARD_BENCH_TMP (where the 1 GiB checkpoint is written once; default the temp dir).
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
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers

ROOT = Path(__file__).resolve().parent.parent
DETECTED, CLEAN, ERROR = peers.DETECTED, peers.CLEAN, peers.ERROR
CHECKPOINT_TARGET_S = 0.2
CHECKPOINT_BYTES = 1 << 30
CHECKPOINT_RUNS = 5


def shared_dir() -> Path:
    return Path(os.environ.get("MODELWARD_SHARED", ROOT.parent / "shared")).resolve()


def corpus_dir(override: Path | None = None) -> Path:
    """A labelled set: ``manifest.jsonl`` (file, label, technique) and ``files/``."""
    return (override or shared_dir() / "corpus").resolve()


@dataclass(frozen=True)
class Sample:
    file: str
    path: Path
    label: str  # malicious / benign / unknown
    dormant: bool


def load_corpus(corpus: Path) -> list[Sample]:
    labels: dict[str, tuple[str, bool]] = {}
    with (corpus / "manifest.jsonl").open() as fp:
        for line in fp:
            if line.strip():
                row = json.loads(line)
                labels[row["file"]] = (row["label"], "[dormant]" in (row.get("technique") or ""))
    samples = []
    for path in sorted((corpus / "files").iterdir()):
        if path.is_file():
            label, dormant = labels.get(path.name, ("unknown", False))
            samples.append(Sample(path.name, path, label, dormant))
    return samples


# --- our scanner ---------------------------------------------------------------------------


RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def _our_verdict(findings: Iterable[object], dormant: bool) -> tuple[str, str]:
    """(verdict, worst severity): detected means a high or critical finding (medium for a
    dormant payload, which is stored as data and runs nothing on load)."""
    worst = max((getattr(f, "severity", "info") for f in findings), key=RANK.get, default="none")
    floor = RANK["medium"] if dormant else RANK["high"]
    return (DETECTED if RANK.get(worst, -1) >= floor else CLEAN), worst


def ours_worker(mode: str, paths: list[str], dormant: set[str]) -> None:
    """Runs in a child process: scan every file, print one JSON line per file, then timing."""
    started = time.perf_counter()
    from modelward.engine.identify.formats import detect
    from modelward.engine.scan import scan_file
    from modelward.engine.source import SourceFile

    collect_facts = None
    if mode == "pipeline":
        from modelward.engine.pipeline import collect_facts
    imported = time.perf_counter()
    for name in paths:
        path = Path(name)
        t0 = time.perf_counter()
        try:
            if collect_facts is not None:
                findings = collect_facts(str(path)).scan.findings
            else:
                source = SourceFile(path=path.name, real=path, size=path.stat().st_size)
                with source.open() as fp:
                    fmt = detect(fp, source.size)
                findings = scan_file(source, fmt).findings
            (verdict, worst), note = _our_verdict(findings, path.name in dormant), ""
        except Exception as exc:
            verdict, worst, note = ERROR, "none", f"{type(exc).__name__}: {exc}"[:200]
        seconds = time.perf_counter() - t0
        row = {"file": path.name, "verdict": verdict, "worst": worst, "seconds": seconds}
        print(json.dumps({**row, "note": note}))
    print(json.dumps({"import_s": imported - started, "scan_s": time.perf_counter() - imported}))


@dataclass
class ToolResult:
    tool: str
    outcomes: dict[str, peers.Outcome] = field(default_factory=dict)
    total_s: float = 0.0
    extra: str = ""
    #: Ours only: the worst finding severity per file (a benign file above low is flagged).
    worst: dict[str, str] = field(default_factory=dict)


def run_ours(samples: list[Sample], mode: str) -> ToolResult:
    args = [sys.executable, str(Path(__file__).resolve()), "--ours-worker", mode]
    dormant = [s.file for s in samples if s.dormant]
    payload = json.dumps({"paths": [str(s.path) for s in samples], "dormant": dormant})
    started = time.perf_counter()
    proc = subprocess.run(args, input=payload, capture_output=True, text=True, check=False)
    total = time.perf_counter() - started
    result = ToolResult("modelward" if mode == "scan" else "modelward-pipeline", total_s=total)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        for s in samples:
            result.outcomes[s.file] = peers.Outcome(ERROR, 0.0, proc.returncode, "worker failed")
        return result
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        if "file" in row:
            result.outcomes[row["file"]] = peers.Outcome(
                row["verdict"], row["seconds"], 0, row["note"]
            )
            result.worst[row["file"]] = row["worst"]
        else:
            result.extra = f"import {row['import_s']:.2f} s, scan {row['scan_s']:.2f} s"
    return result


def run_peer(peer: peers.Peer, samples: list[Sample]) -> ToolResult:
    env = peers.peer_env()
    result = ToolResult(peer.name)
    started = time.perf_counter()
    for sample in samples:
        result.outcomes[sample.file] = peer.run(sample.path, env)
    result.total_s = time.perf_counter() - started
    return result


# --- report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    tp: int
    fn: int
    fp: int
    tn: int
    errors: int
    median_s: float


def score(result: ToolResult, samples: list[Sample]) -> Score:
    tp = fn = fp = tn = errors = 0
    for s in samples:
        outcome = result.outcomes[s.file]
        errors += outcome.verdict == ERROR
        hit = outcome.verdict == DETECTED
        if s.label == "malicious":
            tp, fn = tp + hit, fn + (not hit)
        elif s.label == "benign":
            # ours flags a benign file with anything above low (a warning is a false alarm too)
            flagged = hit or RANK.get(result.worst.get(s.file, "none"), -1) >= RANK["medium"]
            fp, tn = fp + flagged, tn + (not flagged)
    median = statistics.median(o.seconds for o in result.outcomes.values()) if samples else 0.0
    return Score(tp, fn, fp, tn, errors, median)


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def report(results: list[ToolResult], samples: list[Sample], ours_name: str | None) -> None:
    ours = next((r for r in results if r.tool == ours_name), None)
    rows = []
    for r in results:
        sc = score(r, samples)
        ratio = "-"
        if ours is not None and r is not ours and r.total_s > 0:
            ratio = f"{ours.total_s / r.total_s:.3f}"
        rows.append(
            [
                r.tool,
                sc.tp,
                sc.fn,
                sc.fp,
                sc.tn,
                sc.errors,
                f"{r.total_s:.1f}",
                f"{sc.median_s:.3f}",
                ratio,
            ]
        )
    n_mal = sum(s.label == "malicious" for s in samples)
    n_ben = sum(s.label == "benign" for s in samples)
    print(
        f"\ncorpus: {len(samples)} files ({n_mal} malicious, {n_ben} benign, "
        f"{len(samples) - n_mal - n_ben} unknown) in {samples[0].path.parent.parent}"
    )
    print("TP/FN: malicious files detected (high or critical) or missed; FP/TN: benign files")
    print("flagged or not (peers: any detection; modelward: any finding above low)")
    headers = ["tool", "TP", "FN", "FP", "TN", "errors", "total_s", "median_s", "ours/peer"]
    print_table(headers, rows)
    for r in results:
        if r.extra:
            print(f"{r.tool}: {r.extra}")


def write_details(results: list[ToolResult], samples: list[Sample], out: Path) -> None:
    rows = []
    for s in samples:
        row: dict[str, object] = {"file": s.file, "label": s.label}
        for r in results:
            o = r.outcomes[s.file]
            row[r.tool] = {"verdict": o.verdict, "rc": o.rc, "s": round(o.seconds, 4)}
            if o.note:
                row[r.tool]["note"] = o.note  # type: ignore[index]
        rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"per-file results: {out}")


# --- 1 GiB PyTorch zip checkpoint ----------------------------------------------------------


class _Pickle:
    """Writes pickle protocol 2 opcodes directly (no object is ever pickled)."""

    def __init__(self) -> None:
        self.out = bytearray(b"\x80\x02")  # PROTO 2
        self.memo = 0

    def op(self, raw: bytes) -> _Pickle:
        self.out += raw
        return self

    def put(self) -> _Pickle:
        if self.memo < 256:
            self.out += b"q" + bytes([self.memo])  # BINPUT
        else:
            self.out += b"r" + struct.pack("<I", self.memo)  # LONG_BINPUT
        self.memo += 1
        return self

    def text(self, s: str) -> _Pickle:
        raw = s.encode()
        return self.op(b"X" + struct.pack("<I", len(raw)) + raw).put()

    def int(self, n: int) -> _Pickle:
        if 0 <= n < 256:
            return self.op(b"K" + bytes([n]))
        if 0 <= n < 65536:
            return self.op(b"M" + struct.pack("<H", n))
        return self.op(b"J" + struct.pack("<i", n))

    def glob(self, module: str, name: str) -> _Pickle:
        return self.op(b"c" + module.encode() + b"\n" + name.encode() + b"\n").put()

    def ints_tuple(self, values: tuple[int, ...]) -> _Pickle:
        self.op(b"(")
        for v in values:
            self.int(v)
        return self.op(b"t").put()


def torch_state_dict_pickle(tensors: list[tuple[str, str, tuple[int, int]]]) -> bytes:
    """A torch.save()-style state_dict pickle: name -> _rebuild_tensor_v2(storage pid, ...)."""
    p = _Pickle()
    p.op(b"}").put().op(b"(")  # EMPTY_DICT, MARK
    for name, key, shape in tensors:
        numel = shape[0] * shape[1]
        p.text(name)
        p.glob("torch._utils", "_rebuild_tensor_v2")
        p.op(b"(")  # MARK: args
        p.op(b"(").text("storage").glob("torch", "FloatStorage").text(key).text("cpu")
        p.int(numel).op(b"t").put().op(b"Q")  # TUPLE, BINPERSID
        p.int(0).ints_tuple(shape).ints_tuple((shape[1], 1))
        p.op(b"\x89")  # NEWFALSE (requires_grad)
        p.glob("collections", "OrderedDict").op(b")").put().op(b"R").put()  # REDUCE
        p.op(b"t").put().op(b"R").put()  # TUPLE, REDUCE
    p.op(b"u.")  # SETITEMS, STOP
    return bytes(p.out)


def _aligned_info(zf: zipfile.ZipFile, name: str, offset: int) -> zipfile.ZipInfo:
    """A stored member whose data starts on a 64-byte boundary (torch pads the same way)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    header = 30 + len(name.encode())
    pad = (-(offset + header + 4)) % 64
    info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # "FB" padding field
    return info


def write_checkpoint(path: Path, total: int = CHECKPOINT_BYTES) -> None:
    n_tensors = 16
    per = total // n_tensors
    side = int((per // 4) ** 0.5)
    shape = (side, per // 4 // side)
    tensors = [(f"layers.{i}.weight", str(i), shape) for i in range(n_tensors)]
    chunk = os.urandom(1 << 20)
    tmp = path.with_suffix(".partial")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=False) as zf:
        members: list[tuple[str, bytes | int]] = [
            ("archive/data.pkl", torch_state_dict_pickle(tensors)),
            ("archive/byteorder", b"little"),
        ]
        members += [(f"archive/data/{key}", shape[0] * shape[1] * 4) for _, key, _ in tensors]
        members += [("archive/version", b"3\n"), ("archive/.data/serialization_id", b"0" * 40)]
        for name, content in members:
            info = _aligned_info(zf, name, zf.fp.tell())  # type: ignore[union-attr]
            if isinstance(content, bytes):
                zf.writestr(info, content)
                continue
            with zf.open(info, "w") as out:
                left = content
                while left:
                    n = min(left, len(chunk))
                    out.write(chunk[:n])
                    left -= n
    tmp.replace(path)


def checkpoint_path() -> Path:
    base = Path(os.environ.get("MODELWARD_BENCH_TMP", tempfile.gettempdir())) / "modelward-bench"
    base.mkdir(parents=True, exist_ok=True)
    path = base / "checkpoint-1GiB.pt"
    if not path.is_file() or path.stat().st_size < CHECKPOINT_BYTES:
        print(f"writing {path} (once)")
        write_checkpoint(path)
    return path


def bench_checkpoint() -> bool:
    from modelward.engine.identify.formats import detect
    from modelward.engine.scan import scan_file
    from modelward.engine.source import SourceFile

    path = checkpoint_path()
    source = SourceFile(path=path.name, real=path, size=path.stat().st_size)
    times, findings, fmt = [], [], "?"
    for _ in range(CHECKPOINT_RUNS):
        t0 = time.perf_counter()
        with source.open() as fp:
            fmt = detect(fp, source.size)
        findings = scan_file(source, fmt).findings
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    ok = median < CHECKPOINT_TARGET_S
    severe = [f for f in findings if f.severity in ("high", "critical")]
    print(
        f"\n1 GiB torch zip checkpoint ({source.size} bytes, detected {fmt}): scan median "
        f"{median:.4f} s of {CHECKPOINT_RUNS} runs (target < {CHECKPOINT_TARGET_S} s): "
        f"{'PASS' if ok else 'FAIL'}; {len(findings)} findings, {len(severe)} high/critical"
    )
    return ok


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["ours"], help="skip the peer scanners")
    parser.add_argument("--peers", help=f"comma-separated subset of {','.join(peers.PEERS)}")
    parser.add_argument(
        "--mode",
        choices=["scan", "pipeline"],
        default="scan",
        help="ours: detect+scan_file (default) or the full collect_facts",
    )
    parser.add_argument("--no-checkpoint", action="store_true", help="skip the 1 GiB checkpoint")
    parser.add_argument(
        "--details",
        type=Path,
        default=ROOT / ".cache" / "bench-scan.jsonl",
        help="per-file verdicts (JSON lines)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        help="another labelled set in the corpus layout (manifest.jsonl + files/); "
        "default: the shared corpus",
    )
    parser.add_argument("--ours-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.ours_worker:
        job = json.loads(sys.stdin.read())
        ours_worker(args.ours_worker, job["paths"], set(job["dormant"]))
        return 0

    corpus = corpus_dir(args.corpus)
    samples = load_corpus(corpus)
    if not samples:
        print(f"no corpus files under {corpus / 'files'}", file=sys.stderr)
        return 2
    names: list[str] = []
    if args.only != "ours":
        names = args.peers.split(",") if args.peers else list(peers.DEFAULT_PEERS)
        unknown = [n for n in names if n not in peers.PEERS]
        if unknown:
            parser.error(f"unknown peers {unknown}; known: {', '.join(peers.PEERS)}")
        peers.ensure_venv()

    results = [run_ours(samples, args.mode)]
    for name in names:
        print(f"running {name} over {len(samples)} files ...", flush=True)
        results.append(run_peer(peers.PEERS[name], samples))
    report(results, samples, results[0].tool)
    write_details(results, samples, args.details)
    if not args.no_checkpoint:
        bench_checkpoint()
    return 0


if __name__ == "__main__":
    sys.exit(main())

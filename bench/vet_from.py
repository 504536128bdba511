"""``modelward vet --from`` scaling: the same list with --jobs 1 and --jobs N, side by side.

Generates a fixed set of model folders (deterministic bytes) in a temporary directory (in
memory under /dev/shm when it has room; MODELWARD_BENCH_TMP chooses another):
safetensors models (config.json, a few MiB of weights, tokenizer.json) and PyTorch-style zip
checkpoints (a state-dict pickle written opcode by opcode, stored tensor records). Then, in
alternating rounds, runs

- ``modelward vet --from refs.txt --jobs 1`` and ``--jobs N`` (N = CPU count unless given), each
  signing with the same key and publishing to its own fresh SQLite registry;

and prints the median wall seconds of each, the ratio (target <= 0.6 on 2 cores), seconds per
model, models per CPU-second and per core-second, a projection for clusters of nodes, and, for
context, the old way (one ``modelward vet MODEL`` process per model, serial) on a subset.
Nothing here loads a model; every file is only written and passed by path.

    python bench/vet_from.py [--models 200] [--rounds 5] [--jobs N] [--subset 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_corpus import _aligned_info, torch_state_dict_pickle

MODELWARD = Path(sys.executable).with_name("modelward")
MIB = 1 << 20
TARGET = 0.6
#: One in this many models is a PyTorch zip checkpoint; the rest are safetensors folders.
TORCH_EVERY = 5
#: Weights per model, MiB (below the size at which one file is hashed by two threads).
WEIGHTS_MIB = 32
PROJECTION = ((1, 8), (10, 8), (50, 8))


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    code: int
    totals: dict[str, int]


def block(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def write_safetensors_model(folder: Path, index: int, pool: bytes, mib: int) -> None:
    """config.json, model.safetensors (48 tensors, ``mib`` MiB), tokenizer.json."""
    folder.mkdir(parents=True)
    per = mib * MIB // 48 // 4 * 4
    header = {
        f"encoder.layer.{i // 4}.w{i % 4}": {
            "dtype": "F32", "shape": [per // 4], "data_offsets": [i * per, (i + 1) * per],
        }
        for i in range(48)
    }  # fmt: skip
    header["__metadata__"] = {"format": "pt", "model": f"bench-{index}"}
    raw = json.dumps(header).encode()
    start = (index * 4099) % MIB
    with (folder / "model.safetensors").open("wb") as out:
        out.write(struct.pack("<Q", len(raw)) + raw)
        left = 48 * per
        while left:
            chunk = pool[start : start + min(left, MIB)]
            out.write(chunk)
            left -= len(chunk)
    config = {"model_type": "bert", "hidden_size": 384, "num_hidden_layers": 12, "seed": index}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    vocab = {f"tok{index}_{i}": i for i in range(8000)}
    merges = [f"t{i} k{i}" for i in range(4000)]
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": merges}}
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))


def write_torch_model(folder: Path, index: int, pool: bytes, mib: int) -> None:
    """config.json and pytorch_model.bin: a torch.save-style zip, ``mib`` MiB of 64 KiB tensors."""
    folder.mkdir(parents=True)
    count = 16 * mib
    tensors = [(f"encoder.layer.{i // 8}.p{i % 8}", str(i), (128, 128)) for i in range(count)]
    with zipfile.ZipFile(folder / "pytorch_model.bin", "w", zipfile.ZIP_STORED) as zf:
        members: list[tuple[str, bytes]] = [
            ("archive/data.pkl", torch_state_dict_pickle(tensors)),
            ("archive/byteorder", b"little"),
        ]
        offset = (index * 8191) % MIB
        members += [
            (f"archive/data/{key}", pool[offset : offset + 128 * 128 * 4]) for _, key, _ in tensors
        ]
        members += [("archive/version", b"3\n"), ("archive/.data/serialization_id", b"0" * 40)]
        for name, content in members:
            zf.writestr(_aligned_info(zf, name, zf.fp.tell()), content)  # type: ignore[union-attr]
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "seed": index}))


def generate(root: Path, count: int, mib: int = WEIGHTS_MIB) -> list[str]:
    pool = block(20240101, 2 * MIB)
    references = []
    for index in range(count):
        folder = root / f"model-{index:03d}"
        writer = (
            write_torch_model if index % TORCH_EVERY == TORCH_EVERY - 1 else write_safetensors_model
        )
        writer(folder, index, pool, mib)
        references.append(str(folder))
    return references


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (the process and every worker it waited for), exit code."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            errors.seek(0)
            sys.stderr.write(errors.read().decode(errors="replace")[-4000:])
    return wall, usage.ru_utime + usage.ru_stime, code


#: A fixed CPU-bound task (SHA-256 over 512 MiB of memory), split over 1 or N processes.
SPIN = (
    "import hashlib, sys\nb, h = bytes(1 << 20), hashlib.sha256()\n"
    "for _ in range(int(sys.argv[1])): h.update(b)"
)
SPIN_MIB = 512


def capacity(jobs: int, env: dict[str, str]) -> float:
    """Wall seconds of the fixed task split over ``jobs`` processes: what the machine gives."""
    started = time.perf_counter()
    share = str(SPIN_MIB // jobs)
    procs = [subprocess.Popen([sys.executable, "-c", SPIN, share], env=env) for _ in range(jobs)]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - started


def vet_from(refs: Path, jobs: int, key: Path, db: Path, report: Path, env: dict[str, str]) -> Run:
    db.unlink(missing_ok=True)
    argv = [
        str(MODELWARD), "vet", "--from", str(refs), "--jobs", str(jobs), "--signing-key", str(key),
        "--publish", "--registry", str(db), "--report", str(report),
    ]  # fmt: skip
    wall, cpu, code = run(argv, env)
    return Run(wall, cpu, code, json.loads(report.read_text())["totals"])


def old_way(references: list[str], key: Path, db: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``modelward vet MODEL`` process per model, serial."""
    db.unlink(missing_ok=True)
    wall = cpu = 0.0
    for reference in references:
        argv = [
            str(MODELWARD),
            "vet",
            reference,
            "--signing-key",
            str(key),
            "--publish",
            "--registry",
            str(db),
        ]
        seconds, used, code = run(argv, env)
        if code not in (0, 1):
            raise SystemExit(f"modelward vet {reference} exited {code}")
        wall, cpu = wall + seconds, cpu + used
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--subset", type=int, default=20, help="models vetted the old way")
    parser.add_argument("--weights-mib", type=int, default=WEIGHTS_MIB, help="weights per model")
    args = parser.parse_args()
    base = Path(os.environ.get("MODELWARD_BENCH_TMP", _memory_dir() or tempfile.gettempdir()))
    root = Path(tempfile.mkdtemp(prefix="modelward-vet-from-", dir=base))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELWARD_")}
    env["RUST_BACKTRACE"] = "0"
    try:
        return measure(root, args, env)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure(root: Path, args: argparse.Namespace, env: dict[str, str]) -> int:
    started = time.perf_counter()
    references = generate(root / "models", args.models, args.weights_mib)
    size = sum(f.stat().st_size for f in (root / "models").rglob("*") if f.is_file())
    took = time.perf_counter() - started
    print(f"generated {len(references)} models ({size / MIB:.0f} MiB) in {took:.1f}s")
    refs = root / "refs.txt"
    refs.write_text("\n".join(references) + "\n")
    keys = subprocess.run(
        [str(MODELWARD), "keys", "generate", "--out-dir", str(root / "keys")],
        env=env,
        capture_output=True,
    )
    key = root / "keys" / "verdict.key"
    if keys.returncode != 0:
        raise SystemExit(keys.stderr.decode())
    vet_from(
        refs, args.jobs, key, root / "warm.db", root / "warm.json", env
    )  # warm-up, not counted
    print(f"load average before the runs: {_load()}")
    sides: dict[int, list[Run]] = {1: [], args.jobs: []}
    spins: dict[int, list[float]] = {1: [], args.jobs: []}
    for round_ in range(args.rounds):
        order = [1, args.jobs] if round_ % 2 == 0 else [args.jobs, 1]
        for jobs in order:
            spins[jobs].append(capacity(jobs, env))
            db, out = root / f"j{jobs}.db", root / f"j{jobs}.json"
            sides[jobs].append(vet_from(refs, jobs, key, db, out, env))
    ratio = report(sides, args, len(references))
    floor = statistics.median(spins[args.jobs]) / statistics.median(spins[1])
    print(
        f"hardware floor, same rounds: a CPU-bound task split over {args.jobs} processes takes "
        f"{floor:.2f}x its time in 1 ({1 / args.jobs:.2f} on idle cores, more when other work "
        f"shares them); the --jobs ratio is {ratio / floor:.2f}x that floor"
    )
    subset = references[:: max(1, len(references) // args.subset)][: args.subset]
    old_wall, old_cpu = old_way(subset, key, root / "old.db", env)
    one = statistics.median(r.wall for r in sides[1]) / len(references)
    print(
        f"old way, one `modelward vet MODEL` process per model, serial ({len(subset)} models): "
        f"{old_wall / len(subset):.3f} s/model wall, {old_cpu / len(subset):.3f} CPU s/model; "
        f"{old_wall / len(subset) / one:.1f}x the --from --jobs 1 time per model"
    )
    outcomes = {tuple(sorted(r.totals.items())) for runs in sides.values() for r in runs}
    codes = {r.code for runs in sides.values() for r in runs}
    ok = len(outcomes) == 1 and codes <= {0, 1}
    same = "yes" if ok else "NO"
    print(f"same outcomes in every run: {same} {sorted(outcomes)}; exit codes {sorted(codes)}")
    print(f"load average after the runs: {_load()}")
    return 0 if ok and ratio <= TARGET else 1


def report(sides: dict[int, list[Run]], args: argparse.Namespace, count: int) -> float:
    """Print the medians, the ratio and the projection; return the ratio."""
    cores = os.cpu_count() or 1
    print(f"{count} models, {args.rounds} rounds, {cores} CPUs; medians:")
    walls = {jobs: statistics.median(r.wall for r in runs) for jobs, runs in sides.items()}
    cpus = {jobs: statistics.median(r.cpu for r in runs) for jobs, runs in sides.items()}
    for jobs in sides:
        print(
            f"  --jobs {jobs}: {walls[jobs]:6.2f} s wall, {cpus[jobs]:6.2f} CPU s, "
            f"{walls[jobs] / count * 1000:6.1f} ms/model, {count / walls[jobs]:6.1f} models/s, "
            f"{count / cpus[jobs]:6.1f} models per CPU-second"
        )
    ratio = walls[args.jobs] / walls[1]
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"ratio --jobs {args.jobs} / --jobs 1: {ratio:.3f} (target <= {TARGET}: {verdict})")
    used = min(args.jobs, cores)
    per_core = count / cpus[args.jobs]
    print(
        f"per-core rate: {per_core:.1f} models per CPU-second (--jobs {args.jobs}, parent and "
        f"workers counted); {count / (walls[args.jobs] * used):.1f} per wall core-second here"
    )
    for nodes, node_cores in PROJECTION:
        rate = nodes * node_cores * per_core
        print(
            f"  projection, {nodes:>2} node(s) x {node_cores} cores: ~{rate:,.0f} models/s, "
            f"~{rate * 3600:,.0f} models/hour (this model mix, warm page cache)"
        )
    print(
        "  (scanning capacity: one process re-evaluates and signs every result, a few ms each, "
        "so a single signer caps the verdicts per second below the larger figures)"
    )
    return ratio


def _memory_dir() -> str | None:
    """/dev/shm when it has room: the models sit in memory and no disk writeback of gigabytes
    just generated competes with the runs."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 12 * 1024 * MIB:
        return str(shm)
    return None


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())

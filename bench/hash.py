"""Hashing throughput: modelward's hashes collector against two baselines measured in the same run.

Builds two model shapes in a temporary directory (a multi-file model, 4 x 512 MiB, and a single
2 GiB file) and times, with a warm page cache:

- serial ``openssl dgst -sha256`` over the files, one after another;
- the single-stream floor: ``hashlib.sha256`` over as many bytes already in memory (no reads),
  which no single-file hash can beat;
- modelward's hashes collector on the model.

Targets: the multi-file model in <= 0.65 x serial openssl (files are hashed in parallel); the
single file in <= 1.1 x the in-memory floor (one file is one SHA-256 stream). Prints the median
of the runs, both ratios and whether each target is met; exit code 1 when one is missed.

    python bench/hash.py [--runs 3] [--scale 1.0] [--dir /path/on/the/disk/to/measure]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from modelward.engine.collectors import CollectContext
from modelward.engine.collectors.hashes import HashesCollector
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve

MIB = 1 << 20
BLOCK = 64 * MIB


@dataclass(frozen=True)
class Shape:
    name: str
    sizes_mib: list[int]
    baseline: str  # "openssl" or "floor": what the target compares with
    target: float


SHAPES = [
    Shape("4 x 512 MiB files", [512] * 4, "openssl", 0.65),
    Shape("1 x 2 GiB file", [2048], "floor", 1.1),
]


def build(root: Path, sizes_mib: list[int], block: bytes) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, size in enumerate(sizes_mib):
        path = root / f"model-{i:05d}-of-{len(sizes_mib):05d}.safetensors"
        with path.open("wb") as fp:
            for j in range(max(size * MIB // BLOCK, 1)):
                fp.write(block[j % 7 :] + block[: j % 7])  # distinct blocks
        paths.append(path)
    return paths


def time_openssl(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        subprocess.run(["openssl", "dgst", "-sha256", str(path)], check=True, capture_output=True)
    return time.perf_counter() - started


def time_floor(block: bytes, total: int) -> float:
    """One SHA-256 stream over ``total`` bytes already in memory, fed in 4 MiB slices."""
    view = memoryview(block)
    started = time.perf_counter()
    digest = hashlib.sha256()
    done = 0
    while done < total:
        for offset in range(0, min(len(block), total - done), 4 * MIB):
            digest.update(view[offset : offset + 4 * MIB])
        done += len(block)
    digest.hexdigest()
    return time.perf_counter() - started


def time_modelward(root: Path) -> float:
    started = time.perf_counter()
    source = resolve(ModelRef.parse(str(root)))
    HashesCollector().collect(source, CollectContext())
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the file sizes")
    parser.add_argument("--dir", type=Path, default=None, help="where to build the models")
    args = parser.parse_args()
    openssl_version = subprocess.check_output(["openssl", "version"], text=True).strip()
    print(f"cores: {os.cpu_count()}  openssl: {openssl_version}")
    print(f"{'shape':<20} {'openssl s':>10} {'floor s':>8} {'modelward s':>12} "
          f"{'/openssl':>9} {'/floor':>7}  target")  # fmt: skip
    block = os.urandom(BLOCK)
    missed = 0
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="modelward-bench-") as tmp:
        for shape in SHAPES:
            sizes = [max(int(size * args.scale), BLOCK // MIB) for size in shape.sizes_mib]
            root = Path(tmp) / shape.name.replace(" ", "_")
            paths = build(root, sizes, block)
            total = sum(path.stat().st_size for path in paths)
            time_openssl(paths)  # warm the page cache for both
            openssl = statistics.median(time_openssl(paths) for _ in range(args.runs))
            floor = statistics.median(time_floor(block, total) for _ in range(args.runs))
            ours = statistics.median(time_modelward(root) for _ in range(args.runs))
            ratio = ours / (openssl if shape.baseline == "openssl" else floor)
            met = ratio <= shape.target
            missed += not met
            verdict = f"<= {shape.target} x {shape.baseline}: {'met' if met else 'MISSED'}"
            print(f"{shape.name:<20} {openssl:>10.3f} {floor:>8.3f} {ours:>12.3f} "
                  f"{ours / openssl:>9.2f} {ours / floor:>7.2f}  {verdict}")  # fmt: skip
            for path in paths:
                path.unlink()
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())

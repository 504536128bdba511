"""Hashing throughput: modelward's hashes collector against serial ``openssl dgst -sha256``.

Builds two model shapes in a temporary directory (a multi-file model, 4 x 512 MiB, and a single
2 GiB file), then times, in the same run and with a warm page cache, openssl hashing the files one
after another and modelward hashing the same files. Prints the median of the runs and the ratio
(ours / openssl; lower is faster). Target: <= 0.65 on both shapes.

    python bench/hash.py [--runs 3] [--dir /path/on/the/disk/to/measure]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from modelward.engine.collectors import CollectContext
from modelward.engine.collectors.hashes import HashesCollector
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve

MIB = 1 << 20
SHAPES = {"4 x 512 MiB files": [512] * 4, "1 x 2 GiB file": [2048]}
TARGET = 0.65


def build(root: Path, sizes_mib: list[int]) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    block = os.urandom(64 * MIB)
    paths = []
    for i, size in enumerate(sizes_mib):
        path = root / f"model-{i:05d}-of-{len(sizes_mib):05d}.safetensors"
        with path.open("wb") as fp:
            for j in range(size // 64):
                fp.write(block[j % 7 :] + block[: j % 7])  # distinct blocks
        paths.append(path)
    return paths


def time_openssl(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        subprocess.run(["openssl", "dgst", "-sha256", str(path)], check=True, capture_output=True)
    return time.perf_counter() - started


def time_modelward(root: Path) -> float:
    started = time.perf_counter()
    source = resolve(ModelRef.parse(str(root)))
    HashesCollector().collect(source, CollectContext())
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to build the models")
    args = parser.parse_args()
    openssl_version = subprocess.check_output(["openssl", "version"], text=True).strip()
    print(f"cores: {os.cpu_count()}  openssl: {openssl_version}")
    print(f"{'shape':<20} {'openssl s':>10} {'modelward s':>12} {'ratio':>7}  target <= {TARGET}")
    worst = 0.0
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="modelward-bench-") as tmp:
        for name, sizes in SHAPES.items():
            root = Path(tmp) / name.replace(" ", "_")
            paths = build(root, sizes)
            time_openssl(paths)  # warm the page cache for both
            openssl = statistics.median(time_openssl(paths) for _ in range(args.runs))
            ours = statistics.median(time_modelward(root) for _ in range(args.runs))
            ratio = ours / openssl
            worst = max(worst, ratio)
            verdict = "ok" if ratio <= TARGET else "MISSED"
            print(f"{name:<20} {openssl:>10.3f} {ours:>12.3f} {ratio:>7.2f}  {verdict}")
            for path in paths:
                path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

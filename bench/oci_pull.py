"""Pulling and scanning a registry artifact: ``modelward scan oci://`` against ``oras pull`` + scan.

Starts the real registry (CNCF Distribution, tests/sources/registry.py) on 127.0.0.1, writes a
benign ModelPack model of ``--size-mib`` MiB (four safetensors shards with valid headers and
pseudo-random bodies, written in chunks, never held whole in memory) and pushes it with the real
``oras`` CLI as raw layers annotated with ``org.cncf.model.filepath``. Then, alternating the two
sides ``--runs`` times (wall time, medians):

- baseline: ``oras pull --plain-http HOST/repo@DIGEST -o DIR``, then ``modelward scan DIR``;
- ours: ``modelward scan oci://HOST/repo@DIGEST`` with a new, empty ``MODELWARD_CACHE_DIR``
  (a cold pull each run).

Target: ours <= 1.3 x (oras pull + scan). Peak memory: the largest max RSS (``os.wait4``) of the
``modelward scan oci://`` child for this artifact and for one of ``--small-mib`` MiB (128);
target: the large peak < 1.5 x the small one (downloads are streamed, never whole in memory).
Exit code 1 when a target is missed. Needs ``registry`` and ``oras`` in $MODELWARD_TOOLS_CACHE.

    python bench/oci_pull.py [--size-mib 1024] [--small-mib 128] [--runs 3] [--dir /tmp]
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
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests/sources/registry.py: the real registry

from tests.conftest import tool_binary  # noqa: E402
from tests.sources.registry import RegistryServer, start_registry  # noqa: E402

MODELWARD = Path(sys.executable).with_name("modelward")
MIB = 1 << 20
SHARDS = 4
TARGET_RATIO, TARGET_RSS = 1.3, 1.5
MODELPACK_ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
MODELPACK_CONFIG = "application/vnd.cncf.model.config.v1+json"
MODELPACK_RAW = "application/vnd.cncf.model.weight.v1.raw"
FILEPATH = "org.cncf.model.filepath"


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_kib: int
    rc: int


def timed(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """Wall time, peak RSS (KiB) and exit code of one run of ``argv``."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    if rc not in (0, 1):
        raise RuntimeError(f"{argv[0]} {argv[1]} exited {rc}: {err.decode()[-2000:]}")
    return Run(seconds, usage.ru_maxrss, rc)


def write_shard(path: Path, size: int, rng: random.Random) -> None:
    """A valid safetensors file of ``size`` bytes: one U8 tensor, pseudo-random body."""
    body = size - 8 - 256
    header = {
        "__metadata__": {"format": "pt"},
        "weight": {"dtype": "U8", "shape": [body], "data_offsets": [0, body]},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (256 - len(raw))  # a fixed-length header, so the file is exactly ``size``
    block = rng.randbytes(4 * MIB)
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(raw)) + raw)
        written = 0
        while written < body:
            cut = rng.randrange(len(block))
            chunk = (block[cut:] + block[:cut])[: body - written]  # distinct chunks
            out.write(chunk)
            written += len(chunk)


def build_model(root: Path, size_mib: int) -> list[str]:
    """``SHARDS`` shards and a config.json in ``root``; return the shard names."""
    root.mkdir(parents=True)
    rng = random.Random(size_mib)  # deterministic per size
    names = [f"model-{i:05d}-of-{SHARDS:05d}.safetensors" for i in range(1, SHARDS + 1)]
    for name in names:
        write_shard(root / name, size_mib * MIB // SHARDS, rng)
    return names


def push(registry: RegistryServer, root: Path, names: list[str], repository: str) -> str:
    """Push ``root`` as a ModelPack artifact with ``oras``; return the manifest digest."""
    work = root.parent
    config = work / f"{repository.replace('/', '-')}-config.json"
    config.write_text(json.dumps({"descriptor": {"name": repository}, "modelfs": {}}))
    annotations = work / f"{repository.replace('/', '-')}-annotations.json"
    annotations.write_text(json.dumps({name: {FILEPATH: name} for name in names}))
    done = subprocess.run(
        [str(tool_binary("oras")), "push", "--plain-http", "--format", "json",
         "--artifact-type", MODELPACK_ARTIFACT, "--config", f"{config}:{MODELPACK_CONFIG}",
         "--annotation-file", str(annotations), f"{registry.host}/{repository}:bench",
         *(f"{name}:{MODELPACK_RAW}" for name in names)],
        cwd=root, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    digest: str = json.loads(done.stdout)["digest"]
    return digest


def modelward_env(cache: Path) -> dict[str, str]:
    env = {**os.environ, "MODELWARD_CACHE_DIR": str(cache), "RUST_BACKTRACE": "0"}
    env.pop("MODELWARD_DEBUG", None)
    env.pop("MODELWARD_OFFLINE", None)
    return env


def run_ours(reference: str, work: Path) -> Run:
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    try:
        return timed([str(MODELWARD), "scan", f"oci://{reference}"], modelward_env(cache))
    finally:
        shutil.rmtree(cache)


def run_baseline(reference: str, work: Path) -> tuple[Run, Run]:
    out = Path(tempfile.mkdtemp(prefix="oras-", dir=work))
    empty = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    try:
        oras = str(tool_binary("oras"))
        pulled = timed([oras, "pull", "--plain-http", reference, "-o", str(out)])
        scanned = timed([str(MODELWARD), "scan", str(out)], modelward_env(empty))
        return pulled, scanned
    finally:
        shutil.rmtree(out)
        shutil.rmtree(empty)


def compare(reference: str, work: Path, runs: int) -> tuple[list[Run], list[tuple[Run, Run]]]:
    """``runs`` alternating runs of each side (a warm-up of each first, not counted)."""
    run_baseline(reference, work)
    run_ours(reference, work)
    ours: list[Run] = []
    base: list[tuple[Run, Run]] = []
    for i in range(runs):
        if i % 2:  # alternate which side goes first
            ours.append(run_ours(reference, work))
            base.append(run_baseline(reference, work))
        else:
            base.append(run_baseline(reference, work))
            ours.append(run_ours(reference, work))
    return ours, base


def peak_rss(reference: str, work: Path, runs: int) -> int:
    return max(run_ours(reference, work).max_rss_kib for _ in range(runs))


def report(size_mib: int, ours: list[Run], base: list[tuple[Run, Run]], rss: tuple[int, int],
           small_mib: int) -> bool:  # fmt: skip
    pull = statistics.median(p.seconds for p, _ in base)
    scan = statistics.median(s.seconds for _, s in base)
    total = statistics.median(p.seconds + s.seconds for p, s in base)
    mine = statistics.median(r.seconds for r in ours)
    ratio = mine / total
    print(f"{size_mib} MiB ModelPack artifact ({SHARDS} raw layers), wall seconds, "
          f"medians of {len(ours)} runs")  # fmt: skip
    print(f"  oras pull                        {pull:8.2f}")
    print(f"  modelward scan DIR               {scan:8.2f}")
    print(f"  baseline: oras pull + scan       {total:8.2f}")
    print(f"  ours: modelward scan oci:// cold {mine:8.2f}   ratio {ratio:.2f}x (target <= 1.3x)")
    print(f"  throughput: ours {size_mib / mine:.0f} MiB/s, baseline {size_mib / total:.0f} MiB/s")
    decisions = {r.rc for r in ours} | {s.rc for _, s in base}
    same = len(decisions) == 1
    print(f"  exit codes: {sorted(decisions)} ({'same on both sides' if same else 'DIFFER'})")
    large, small = rss
    grows = large / small
    print(f"peak RSS of modelward scan oci://: {small_mib} MiB artifact {small / 1024:.0f} MiB, "
          f"{size_mib} MiB artifact {large / 1024:.0f} MiB, ratio {grows:.2f}x "
          f"(target < {TARGET_RSS}x)")  # fmt: skip
    met = ratio <= TARGET_RATIO and grows < TARGET_RSS and same
    print("all targets met" if met else "TARGET MISSED")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the artifact")
    parser.add_argument("--small-mib", type=int, default=128, help="the memory comparison's size")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary files go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mw-oci-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        (work / "registry").mkdir()
        with start_registry(work / "registry") as registry:
            refs = {}
            for size in (args.size_mib, args.small_mib):
                model = work / f"model-{size}"
                names = build_model(model, size)
                digest = push(registry, model, names, f"bench/model-{size}")
                shutil.rmtree(model)
                refs[size] = f"{registry.host}/bench/model-{size}@{digest}"
            ours, base = compare(refs[args.size_mib], work, args.runs)
            large = max(r.max_rss_kib for r in ours)
            small = peak_rss(refs[args.small_mib], work, args.runs)
            met = report(args.size_mib, ours, base, (large, small), args.small_mib)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()

"""The code collector over a repository of many Python files, against plain parsing.

Writes a model folder of ``--files`` Python modules (realistic modeling, configuration and
tokenizer code, each a few hundred lines, made distinct) plus a config.json whose auto_map
names some of them, then times, side by side in one run (median of ``--runs``):

- ``CodeCollector`` on the folder (find, read, parse, analyse, auto_map), one process;
- the baseline: reading and ``ast.parse`` of the same files, one process;
- ``python -m compileall -j 2`` of the same files (forced, into a throw-away cache).

Prints the seconds and the ratios (collector / ast.parse, collector / compileall). The target
is under 5 s for 500 files on 2 cores.

    python bench/code_scan.py [--files 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.code import repos  # noqa: E402

TARGET_SECONDS = 5.0


def make_repository(root: Path, count: int) -> list[Path]:
    """``count`` distinct modules of about 200-300 lines each, and a config.json."""
    bodies = [repos.MODELING, repos.TOKENIZATION, repos.CONFIGURATION + repos.ROTARY]
    written: list[Path] = []
    for i in range(count):
        body = bodies[i % len(bodies)]
        # Several renamed copies per file: the size of a real modeling module.
        text = "\n".join(body.replace("X", f"X{i}_{k}") for k in range(8))
        path = root / f"pkg{i // 100}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("from .", "from .."), encoding="utf-8")
        written.append(path)
    auto_map = {f"AutoModel{i}": f"pkg0/module_{i}.X{i}_0ForCausalLM" for i in range(0, 30, 3)}
    (root / "config.json").write_text(json.dumps({"auto_map": auto_map}))
    return written


def collector(root: Path) -> Callable[[], int]:
    from modelward.engine.collectors import CollectContext
    from modelward.engine.collectors.code import CodeCollector
    from modelward.engine.refs import ModelRef
    from modelward.engine.resolvers import resolve

    source = resolve(ModelRef.parse(str(root)))

    def run() -> int:
        facts = CodeCollector().collect(source, CollectContext())
        assert facts.complete, [f.message for f in facts.findings if f.id == "code.limit"]
        return len(facts.files)

    return run


def plain_parse(files: list[Path]) -> Callable[[], int]:
    def run() -> int:
        for path in files:
            ast.parse(path.read_bytes(), filename=str(path))
        return len(files)

    return run


def compileall(root: Path) -> Callable[[], int]:
    def run() -> int:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
            argv = [sys.executable, "-m", "compileall", "-q", "-f", "-j", "2", str(root)]
            subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
        return 0

    return run


def median_seconds(run: Callable[[], int], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "model"
        files = make_repository(root, args.files)
        size = sum(p.stat().st_size for p in files)
        ours = median_seconds(collector(root), args.runs)
        parse = median_seconds(plain_parse(files), args.runs)
        compiled = median_seconds(compileall(root), args.runs)
    print(f"{args.files} Python files, {size / 1e6:.1f} MB, {os.cpu_count()} CPUs")
    print(f"code collector        {ours:7.3f} s   (target < {TARGET_SECONDS:.0f} s)")
    print(f"ast.parse (baseline)  {parse:7.3f} s   ratio {ours / parse:5.2f}")
    print(f"compileall -j 2       {compiled:7.3f} s   ratio {ours / compiled:5.2f}")
    if ours >= TARGET_SECONDS:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Large legitimate pickles are scanned whole and allowed; pickles built to exhaust the analysis
are still cut off. Files are written opcode by opcode or by ``pickle.dump`` of plain builtin data
into ``tmp_path``; nothing is ever loaded."""

from __future__ import annotations

import json
import pickle
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.limits import DEFAULT_LIMITS, Limits
from modelward.engine.scan.pickles.files import scan_pickle
from modelward.engine.scan.result import FileScan
from tests.scan import pickle_ops as P

MODELWARD = Path(sys.executable).with_name("modelward")
MIB = 1 << 20
#: Runs ``modelward scan`` as a child and prints its exit code, JSON report and peak RSS (KiB).
_MEASURE = """
import resource, subprocess, sys, time
start = time.monotonic()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.monotonic() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(proc.stderr)
print(proc.returncode, peak, seconds)
print(proc.stdout)
"""


def _scan_measured(path: Path) -> tuple[int, dict[str, Any], float, float]:
    """Exit code, JSON report, peak RSS in MiB and seconds of one ``modelward scan`` process."""
    cmd = [sys.executable, "-c", _MEASURE, str(MODELWARD), "scan", str(path), "--format", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True)
    head, _, report = proc.stdout.partition("\n")
    code, peak_kib, seconds = head.split()
    assert int(code) in (0, 1), proc.stderr
    return int(code), json.loads(report), int(peak_kib) / 1024, float(seconds)


def _assert_allowed_and_complete(code: int, report: dict[str, Any]) -> None:
    scan = report["facts"]["scan"]
    assert scan["complete"] is True, scan
    assert scan["findings"] == [], scan["findings"]
    assert report["decision"]["outcome"] == "allow", report["decision"]
    assert code == 0


def test_a_50_mb_list_pickle_is_scanned_whole_and_allowed(tmp_path: Path) -> None:
    path = tmp_path / "weights.pkl"
    values = list(range(1 << 16, (1 << 16) + 11_000_000))  # 11M opcodes: above the fixed floor
    with path.open("wb") as out:
        pickle.dump(values, out, protocol=4)
    del values
    assert path.stat().st_size > 50_000_000
    code, report, peak_mib, seconds = _scan_measured(path)
    _assert_allowed_and_complete(code, report)
    print(f"50 MB list pickle: {seconds:.1f} s, peak RSS {peak_mib:.0f} MiB")


def _write_big_bytes_pickle(path: Path, size: int) -> None:
    """PROTO 4, BINBYTES8 of ``size`` bytes written in 1 MiB chunks, MEMOIZE, STOP."""
    chunk = bytes(range(256)) * 4096
    assert size % len(chunk) == 0
    with path.open("wb") as out:
        out.write(P.proto(4) + b"\x8e" + struct.pack("<Q", size))
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(P.MEMOIZE + P.STOP)


@pytest.mark.slow
def test_a_1_5_gib_bytes_pickle_is_scanned_whole_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "blob.pkl"
    _write_big_bytes_pickle(path, 1536 * MIB)
    assert path.stat().st_size > 3 << 29
    code, report, peak_mib, seconds = _scan_measured(path)
    _assert_allowed_and_complete(code, report)
    assert peak_mib < 300, f"peak RSS {peak_mib:.0f} MiB"
    print(f"1.5 GiB bytes pickle: {seconds:.1f} s, peak RSS {peak_mib:.0f} MiB")


def _scan_file(path: Path) -> tuple[FileScan, float]:
    start = time.monotonic()
    with path.open("rb") as fp:
        result = scan_pickle(fp, path.stat().st_size, ScanContext.top(path.name))
    return result, time.monotonic() - start


_COUNT = 4_000_000
HOSTILE = {
    "memo growth": (P.NONE + P.MEMOIZE * _COUNT, "memo"),
    "DUP explosion": (P.NONE + P.DUP * _COUNT, "stack"),
    "GET/DUP explosion": (P.NONE + P.MEMOIZE + (P.binget(0) + P.DUP) * (_COUNT // 3), "stack"),
    "deeply nested containers": ((P.MARK + P.EMPTY_LIST) * (_COUNT // 2), "stack"),
    "tiny file, many ops": (P.NONE + P.DUP * 150_000, "stack"),
}


@pytest.mark.parametrize(("body", "kind"), HOSTILE.values(), ids=list(HOSTILE))
def test_pickles_built_to_exhaust_the_analysis_are_cut_off(
    tmp_path: Path, body: bytes, kind: str
) -> None:
    path = tmp_path / "hostile.pkl"
    path.write_bytes(P.pickle(body))
    result, seconds = _scan_file(path)
    assert result.complete is False
    limit = [f for f in result.findings if f.id == f"pickle.limit.{kind}"]
    assert limit, result.findings
    assert limit[0].file == "hostile.pkl" and "analysis stopped" in limit[0].message
    assert seconds < 30, f"cut off after {seconds:.1f} s"
    print(f"{kind} cut off after {seconds:.2f} s")


def test_a_hostile_pickle_is_denied_by_the_default_policies(tmp_path: Path) -> None:
    path = tmp_path / "memo.pkl"
    path.write_bytes(P.pickle(P.NONE + P.MEMOIZE * _COUNT))
    code, report, _peak, _seconds = _scan_measured(path)
    assert code == 1 and report["decision"]["outcome"] == "deny"
    assert [f["id"] for f in report["facts"]["scan"]["findings"]] == ["pickle.limit.memo"]


def test_bounds_grow_with_the_file_from_a_fixed_floor() -> None:
    small, large = DEFAULT_LIMITS.for_pickle(1000), DEFAULT_LIMITS.for_pickle(100_000_000)
    assert small.max_pickle_ops == DEFAULT_LIMITS.max_pickle_ops
    assert small.max_memo_entries == DEFAULT_LIMITS.max_memo_entries
    assert large.max_pickle_ops == 200_000_000
    assert large.max_memo_entries == large.max_stack_depth == 50_000_000
    assert Limits().for_pickle(100_000_000) == Limits()


def test_a_pickle_in_a_large_bytes_constant_is_sampled_and_still_judged(tmp_path: Path) -> None:
    inner = P.pickle(P.call(P.global_("os", "system"), P.text("id")))
    payload = inner + b"\x00" * (20 * MIB)
    path = tmp_path / "outer.pkl"
    path.write_bytes(P.pickle(P.binbytes8(payload)))
    result, _seconds = _scan_file(path)
    ids = {f.id: f for f in result.findings}
    assert ids["pickle.embedded"].severity == "high"
    assert "os.system" in ids["pickle.embedded"].message
    assert "pickle.limit.nested_size" in ids and result.complete is False


def test_code_deep_inside_a_large_text_constant_is_found(tmp_path: Path) -> None:
    text = "a" * (5 * MIB // 2) + " __import__('os').system('id') " + "b" * MIB
    raw = text.encode()
    path = tmp_path / "text.pkl"
    path.write_bytes(P.pickle(b"\x8d" + struct.pack("<Q", len(raw)) + raw))
    result, _seconds = _scan_file(path)
    assert "pickle.string.code" in {f.id for f in result.findings}

"""The pickle analyser on every pickle of the shared corpus (read as bytes, never loaded)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from fickling.analysis import Severity, check_safety
from fickling.fickle import Pickled

from modelward.engine.facts import SEVERITY_RANK
from modelward.engine.scan.pickles.vm import analyse_pickle
from modelward.engine.scan.result import FileScan
from tests.conftest import corpus_manifest

PICKLES = [row for row in corpus_manifest() if row["format"] in ("pickle", "pickle(torch-ext)")]


def worst(result: FileScan) -> int:
    return max((SEVERITY_RANK[f.severity] for f in result.findings), default=-1)


def expected_floor(row: dict[str, str]) -> int | None:
    """Lowest acceptable worst severity for a malicious file (``None`` if not malicious)."""
    if row["label"] != "malicious":
        return None
    return SEVERITY_RANK["medium" if "[dormant]" in row["technique"] else "high"]


def test_corpus_has_the_expected_pickles() -> None:
    assert sum(row["format"] == "pickle" for row in PICKLES) == 101
    assert sum("[dormant]" in row["technique"] for row in PICKLES) == 6  # the 7th is safetensors


@pytest.mark.parametrize("row", PICKLES, ids=lambda r: r["file"])
def test_corpus_pickle(row: dict[str, str], corpus_files: Path) -> None:
    data = (corpus_files / row["file"]).read_bytes()
    result = analyse_pickle(data, file=row["file"])
    assert isinstance(result, FileScan)
    summary = [(f.id, f.severity, f.message) for f in result.findings]
    floor = expected_floor(row)
    if floor is not None:
        assert worst(result) >= floor, summary
    elif row["label"] == "benign":
        assert worst(result) <= SEVERITY_RANK["low"], summary
    for finding in result.findings:
        assert finding.file == row["file"] and finding.technique and finding.message
        assert finding.offset is None or 0 <= finding.offset <= len(data)


def test_corpus_findings_name_the_dangerous_global(corpus_files: Path) -> None:
    data = (corpus_files / "picklescan__malicious2_v4.pkl").read_bytes()
    result = analyse_pickle(data, file="f.pkl", member="archive/data.pkl")
    denied = [f for f in result.findings if f.id == "pickle.global.denied"]
    assert denied and "posix.system" in denied[0].message and denied[0].offset == 28
    assert denied[0].member == "archive/data.pkl" and denied[0].message.startswith("f.pkl:")
    assert {(i.module, i.name, i.verdict) for i in result.imports} == {
        ("posix", "system", "denied")
    }


def test_corpus_mean_time_per_pickle(corpus_files: Path) -> None:
    files = [corpus_files / row["file"] for row in PICKLES if row["format"] == "pickle"]
    blobs = [path.read_bytes() for path in files]
    start = time.perf_counter()
    for blob in blobs:
        analyse_pickle(blob, file="f")
    mean = (time.perf_counter() - start) / len(blobs)
    assert mean < 0.05, f"mean {mean * 1000:.2f} ms per corpus pickle"


def test_fickling_cross_check(corpus_files: Path) -> None:
    """Whatever fickling rates overtly malicious, this analyser rates high or worse."""
    for row in PICKLES:
        data = (corpus_files / row["file"]).read_bytes()
        try:
            rating = check_safety(Pickled.load(io.BytesIO(data), fail_on_decode_error=False))
        except Exception:  # fickling failing on odd input says nothing about our verdict
            continue
        if rating.severity >= Severity.LIKELY_OVERTLY_MALICIOUS:
            assert worst(analyse_pickle(data, file=row["file"])) >= SEVERITY_RANK["high"], row

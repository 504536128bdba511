"""Hostile bytes for the hand-written parsers: zip, safetensors and GGUF never raise and stay fast.

Each parser runs directly (not through the dispatcher's catch-all), so an unexpected exception
fails the test instead of turning into a ``scan.error`` finding.
"""

from __future__ import annotations

import contextlib
import io
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelward.engine.scan.containers.archives import scan_zip
from modelward.engine.scan.containers.zipreader import ZipError, local_entries, read_directory
from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.formats.gguf import GGUFError, parse, scan_gguf
from modelward.engine.scan.formats.safetensors import scan_safetensors
from modelward.engine.scan.limits import Limits
from modelward.engine.scan.pickles import vm as pickle_vm
from modelward.engine.scan.result import FileScan
from tests.scan import builders as b

LIMITS = Limits(max_decompressed_bytes=8 << 20, max_archive_members=512, max_header_bytes=1 << 20)
MAX_SECONDS = 2.0
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ZIPS = [
    b.zip_bytes(
        [b.Member("archive/data.pkl", b.dict_pickle()), b.Member("archive/data/0", b"\0" * 64)]
    ),
    b.zip_bytes(
        [
            b.Member("a.npy", b.npy_bytes("<f4", (2,), b"\0" * 8), method=8),
            b.Member("b.txt", b"hello" * 20, method=8, flags=0x21),
        ]
    ),
    b.zip_bytes([b.Member("inner.zip", b.zip_bytes([b.Member("x.pkl", b.dict_pickle())]))]),
]
SAFETENSORS = [
    b.safetensors_bytes(
        {
            "__metadata__": {"format": "pt"},
            "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        },
        b"\0" * 16,
    ),
    b.safetensors_bytes(
        {
            "a": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]},
            "b": {"dtype": "U8", "shape": [8], "data_offsets": [8, 16]},
        },
        b"\0" * 16,
    ),
]
GGUFS = [
    b.gguf_bytes(
        {
            "general.architecture": "llama",
            "tokenizer.chat_template": "{{ messages[0]['content'] }}",
        },
        [("t", [4, 4], 0, 0), ("u", [32], 8, 64)],
        data=b"\0" * 128,
    ),
    b.gguf_bytes({"general.alignment": 64, "x": "y" * 40}),
]


def _quiet_analyser(data: bytes, **_: object) -> FileScan:
    return FileScan()


@st.composite
def mutated(draw: st.DrawFn, samples: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=64))
    return bytes(data)


def inputs(samples: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=2048), mutated(samples))


def _ctx() -> ScanContext:
    return ScanContext.top("fuzz.bin", LIMITS)


def _timed(run: object) -> FileScan:
    start = time.perf_counter()
    result = run()  # type: ignore[operator]
    assert time.perf_counter() - start < MAX_SECONDS
    assert isinstance(result, FileScan)
    return result


@FUZZ
@given(inputs(ZIPS))
def test_zip_parsing(data: bytes) -> None:
    fp = io.BytesIO(data)
    with contextlib.suppress(ZipError):
        read_directory(fp, len(data), 512)
    local_entries(fp, len(data), 512)
    original = pickle_vm.analyse_pickle
    pickle_vm.analyse_pickle = _quiet_analyser  # type: ignore[assignment]
    try:
        result = _timed(lambda: scan_zip(io.BytesIO(data), len(data), _ctx()))
    finally:
        pickle_vm.analyse_pickle = original
    assert "scan.error" not in {f.id for f in result.findings}


@FUZZ
@given(inputs(SAFETENSORS))
def test_safetensors_parsing(data: bytes) -> None:
    result = _timed(lambda: scan_safetensors(io.BytesIO(data), len(data), _ctx()))
    assert all(f.id.startswith("safetensors.") for f in result.findings)


@FUZZ
@given(inputs(GGUFS))
def test_gguf_parsing(data: bytes) -> None:
    with contextlib.suppress(GGUFError):
        parse(io.BytesIO(data), len(data), LIMITS.max_header_bytes)
    result = _timed(lambda: scan_gguf(io.BytesIO(data), len(data), _ctx()))
    assert all(f.id.startswith("gguf.") for f in result.findings)

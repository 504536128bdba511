"""Random and mutated input never makes the pickle analyser raise, hang or run anything."""

from __future__ import annotations

import base64
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.scan.pickle_ops as P
from modelward.engine.scan.limits import Limits
from modelward.engine.scan.pickles.vm import analyse_pickle
from modelward.engine.scan.result import FileScan

CANARY = Path("/nonexistent-modelward-canary")
LIMITS = Limits(max_pickle_ops=200_000, max_memo_entries=10_000, max_stack_depth=10_000)
PAYLOAD = P.pickle(P.stack_global("os", "system") + P.text(f"touch {CANARY}") + P.TUPLE1 + P.REDUCE)
SEEDS = [
    P.torch_state_dict(3),
    PAYLOAD,
    P.pickle(P.call(P.stack_global("pickle", "loads"), P.binbytes(PAYLOAD))),
    P.pickle(P.dict_of((P.text("b64"), P.text(base64.b64encode(PAYLOAD).decode())))),
    P.global_("os", "system") + P.MARK + P.string0("id") + P.TUPLE + P.REDUCE + P.STOP,
    P.pickle(
        P.call(
            P.stack_global("copyreg", "add_extension"), P.text("os"), P.text("system"), P.integer(9)
        )
        + P.POP
        + P.ext(9)
        + P.EMPTY_TUPLE
        + P.REDUCE
    ),
    P.pickle(
        P.stack_global("torch", "_utils")
        + P.EMPTY_DICT
        + P.text("a")
        + P.text("b")
        + P.SETITEM
        + P.BUILD
    ),
]


def check(data: bytes) -> FileScan:
    start = time.perf_counter()
    result = analyse_pickle(data, file="fuzz.pkl", limits=LIMITS)
    assert time.perf_counter() - start < 2.0
    assert isinstance(result, FileScan)
    assert not CANARY.exists()
    return result


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        if kind == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=9))
        elif kind == "delete":
            del data[where : where + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del data[where:]
        elif kind == "splice":
            data[where:where] = draw(st.sampled_from(SEEDS))
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    check(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_pickles(data: bytes) -> None:
    result = check(data)
    for finding in result.findings:
        assert finding.file == "fuzz.pkl" and finding.message


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"(",
                b"0",
                b"2",
                b"N",
                b"t",
                b"l",
                b"\x94",
                b"h\x00",
                b"R",
                b"b",
                b"s",
                b"u",
                b"a",
                b"e",
                b"\x93",
                b"\x85",
            ]
        ),
        max_size=2000,
    )
)
def test_opcode_soup(ops: list[bytes]) -> None:
    check(P.proto(4) + b"".join(ops) + P.STOP)


def test_opcode_soup_at_scale_is_bounded() -> None:
    head = P.proto(4) + P.stack_global("collections", "OrderedDict") + P.MEMOIZE + P.POP
    repeat = P.binget(0) + P.EMPTY_TUPLE + P.REDUCE + P.EMPTY_TUPLE + P.REDUCE + P.POP
    result = check(head + repeat * 30_000 + P.NONE + P.STOP)
    assert len(result.findings) < 100
    assert "pickle.call.computed.more" in {f.id for f in result.findings}
    deep = P.proto(4) + P.EMPTY_LIST + P.MEMOIZE + (P.binget(0) + P.APPEND) * 100_000 + P.STOP
    check(deep)

"""Every pickle threat class of the design, each with a benign twin that must stay clean.

Samples are written opcode by opcode (``pickle_ops``). Payloads target a canary file; analysing
them must never create it.
"""

from __future__ import annotations

import base64
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tests.scan.pickle_ops as P
from modelward.engine.facts import SEVERITY_RANK
from modelward.engine.scan.limits import Limits
from modelward.engine.scan.pickles.vm import analyse_pickle
from modelward.engine.scan.result import FileScan

Sample = Callable[[str], bytes]


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "analysing a sample executed its payload"


def analyse(data: bytes, canary: Path, limits: Limits | None = None) -> FileScan:
    result = analyse_pickle(data, file="sample.pkl", limits=limits or Limits())
    assert not canary.exists()
    return result


def worst(result: FileScan) -> int:
    return max((SEVERITY_RANK[f.severity] for f in result.findings), default=-1)


def ids(result: FileScan) -> set[str]:
    return {f.id for f in result.findings}


def assert_clean(result: FileScan) -> None:
    assert worst(result) <= SEVERITY_RANK["low"], [(f.id, f.message) for f in result.findings]


def assert_caught(result: FileScan, *expected: str, floor: str = "high") -> None:
    assert worst(result) >= SEVERITY_RANK[floor], [(f.id, f.message) for f in result.findings]
    assert set(expected) <= ids(result), ids(result)


def system(cmd: str, proto: int = 4) -> bytes:
    """``os.system(cmd)`` as a whole stream."""
    return P.pickle(
        P.stack_global("os", "system") + P.text(cmd) + P.TUPLE1 + P.REDUCE, protocol=proto
    )


def ordered_dict_global() -> bytes:
    return P.stack_global("collections", "OrderedDict")


def ordered_dict(proto: int = 4) -> bytes:
    """The harmless twin of ``system``: ``collections.OrderedDict()``."""
    return P.pickle(
        P.stack_global("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE, protocol=proto
    )


def cmd_of(canary: Path) -> str:
    return f"touch {canary}"


def run_pair(bad: bytes, good: bytes, canary: Path, *expected: str, floor: str = "high") -> None:
    assert_caught(analyse(bad, canary), *expected, floor=floor)
    assert_clean(analyse(good, canary))


# -- memo/PUT/GET confusion feeding STACK_GLOBAL ---------------------------------------------


def test_memo_puts_shuffle_stack_global_operands(canary: Path) -> None:
    def sample(first: int, second: int, args: bytes) -> bytes:
        stored = [("os", 2), ("system", 3), ("collections", 0), ("OrderedDict", 1)]
        body = b"".join(P.unicode0(s) + P.put(i) + P.POP for s, i in stored)
        return (
            body
            + P.get(first)
            + P.get(second)
            + P.STACK_GLOBAL
            + P.MARK
            + args
            + P.TUPLE
            + P.REDUCE
            + P.STOP
        )

    bad = sample(2, 3, P.unicode0(cmd_of(canary)))
    run_pair(bad, sample(0, 1, b""), canary, "pickle.global.denied", floor="critical")


def test_memo_slot_overwritten_before_use(canary: Path) -> None:
    def sample(module: str, name: str) -> bytes:
        return P.pickle(
            P.text("collections")
            + P.binput(0)
            + P.POP
            + P.text(module)
            + P.binput(0)
            + P.POP
            + P.text(name)
            + P.binput(1)
            + P.POP
            + P.binget(0)
            + P.binget(1)
            + P.STACK_GLOBAL
            + P.EMPTY_TUPLE
            + P.REDUCE
        )

    run_pair(
        sample("os", "system"), sample("collections", "OrderedDict"), canary, "pickle.global.denied"
    )


def test_memoize_index_follows_memo_size_not_opcode_count(canary: Path) -> None:
    def sample(first: int, second: int) -> bytes:
        return P.pickle(
            P.text("collections")
            + P.binput(0)
            + P.POP
            + P.text("os")
            + P.MEMOIZE
            + P.POP
            + P.text("OrderedDict")
            + P.binput(5)
            + P.POP
            + P.text("system")
            + P.MEMOIZE
            + P.POP
            + P.binget(first)
            + P.binget(second)
            + P.STACK_GLOBAL
            + P.EMPTY_TUPLE
            + P.REDUCE
        )

    run_pair(sample(1, 3), sample(0, 5), canary, "pickle.global.denied")


def test_missing_memo_slot_after_payload(canary: Path) -> None:
    def sample(get: int, lead: bytes) -> bytes:
        return P.pickle(
            lead
            + P.text("OrderedDict")
            + P.MEMOIZE
            + P.POP
            + P.text("collections")
            + P.MEMOIZE
            + P.POP
            + P.binget(get)
            + P.binget(0)
            + P.STACK_GLOBAL
        )

    lead = P.global_("os", "system") + P.text(cmd_of(canary)) + P.TUPLE1 + P.REDUCE + P.POP
    bad = analyse(sample(7, lead), canary)
    assert_caught(
        bad, "pickle.global.denied", "pickle.memo.missing", "pickle.stack_global.computed"
    )
    assert_clean(analyse(sample(1, b""), canary))


# -- STACK_GLOBAL with computed or protocol-0 string operands ----------------------------------


@pytest.mark.parametrize("spell", [P.string0, P.unicode0, P.binstring, P.text])
def test_stack_global_operand_spellings(spell: Callable[[str], bytes], canary: Path) -> None:
    def sample(module: str, name: str, arg: str) -> bytes:
        return (
            spell(module)
            + spell(name)
            + P.STACK_GLOBAL
            + P.MARK
            + spell(arg)
            + P.TUPLE
            + P.REDUCE
            + P.STOP
        )

    bad = sample("os", "system", cmd_of(canary))
    run_pair(bad, sample("collections", "OrderedDict", "a"), canary, "pickle.global.denied")


def test_stack_global_operands_computed_by_calls(canary: Path) -> None:
    str_of = P.stack_global("builtins", "str")
    computed = P.call(str_of, P.text("os")) + P.call(str_of, P.text("system")) + P.STACK_GLOBAL
    bad = P.pickle(computed + P.text(cmd_of(canary)) + P.TUPLE1 + P.REDUCE)
    result = analyse(bad, canary)
    assert_caught(result, "pickle.stack_global.computed", "pickle.call.unknown")
    assert ("<computed>", "<computed>", "unknown") in {
        (i.module, i.name, i.verdict) for i in result.imports
    }
    twin = P.pickle(
        P.EMPTY_LIST
        + P.call(str_of, P.text("os"))
        + P.APPEND
        + P.stack_global("collections", "OrderedDict")
        + P.TUPLE1
        + P.REDUCE
    )
    assert_clean(analyse(twin, canary))


# -- module attribute planting via BUILD, then import -----------------------------------------


def test_build_plants_module_attributes_then_imports_them(canary: Path) -> None:
    module = P.stack_global("torch", "_utils") + P.binput(9)
    plant = [
        P.binget(9)
        + P.EMPTY_DICT
        + P.text("_rebuild_tensor_v2")
        + P.text(value)
        + P.SETITEM
        + P.BUILD
        + P.POP
        + P.stack_global("torch._utils", "_rebuild_tensor_v2")
        + P.binput(10 + i)
        + P.POP
        for i, value in enumerate(("os", "system"))
    ]
    use = P.binget(10) + P.binget(11) + P.STACK_GLOBAL + P.text(cmd_of(canary)) + P.TUPLE1
    bad = analyse(P.pickle(module + P.POP + b"".join(plant) + use + P.REDUCE), canary)
    assert_caught(
        bad,
        "pickle.build.attribute_planting",
        "pickle.build.planted_import",
        "pickle.global.denied",
        floor="critical",
    )
    assert any("os.system" in f.message for f in bad.findings if f.id == "pickle.global.denied")
    instance = P.stack_global("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE
    twin = P.pickle(
        instance
        + P.EMPTY_DICT
        + P.text("_metadata")
        + P.text("os")
        + P.SETITEM
        + P.BUILD
        + P.stack_global("torch._utils", "_rebuild_tensor_v2")
        + P.TUPLE2
    )
    assert_clean(analyse(twin, canary))


@pytest.mark.parametrize("key", ["__setstate__", "__reduce__", "__dict__", "__class__"])
def test_build_sets_dunder_attributes(key: str, canary: Path) -> None:
    def sample(name: str) -> bytes:
        instance = P.stack_global("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE
        return P.pickle(instance + P.EMPTY_DICT + P.text(name) + P.text("x") + P.SETITEM + P.BUILD)

    run_pair(sample(key), sample("_metadata"), canary, "pickle.build.attribute_planting")


@pytest.mark.parametrize("op", ["SETITEM", "APPEND"])
def test_items_written_into_an_imported_object(op: str, canary: Path) -> None:
    write = P.text("k") + P.text("v") + P.SETITEM if op == "SETITEM" else P.text("v") + P.APPEND
    bad = P.pickle(P.stack_global("collections", "OrderedDict") + write)
    instance = P.stack_global("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE
    good = P.pickle(instance + P.text("k") + P.text("v") + P.SETITEM)
    run_pair(bad, good, canary, "pickle.global.mutated")


# -- importlib / getattr / vars / operator chains ----------------------------------------------


def _import_os(via: str = "importlib") -> bytes:
    if via == "importlib":
        return P.call(P.stack_global("importlib", "import_module"), P.text("os"))
    return P.call(P.stack_global("builtins", "__import__"), P.text("os"))


CHAINS: dict[str, Sample] = {
    "getattr": lambda cmd: P.call(
        P.call(P.stack_global("builtins", "getattr"), _import_os(), P.text("system")), P.text(cmd)
    ),
    "attrgetter": lambda cmd: P.call(
        P.call(
            P.call(P.stack_global("operator", "attrgetter"), P.text("system")),
            _import_os("builtins"),
        ),
        P.text(cmd),
    ),
    "methodcaller": lambda cmd: P.call(
        P.call(P.stack_global("_operator", "methodcaller"), P.text("system"), P.text(cmd)),
        _import_os(),
    ),
    "vars": lambda cmd: P.call(
        P.call(
            P.stack_global("operator", "getitem"),
            P.call(P.stack_global("builtins", "vars"), _import_os()),
            P.text("system"),
        ),
        P.text(cmd),
    ),
}


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_resolver_chains(chain: str, canary: Path) -> None:
    bad = analyse(P.pickle(CHAINS[chain](cmd_of(canary))), canary)
    assert_caught(bad, "pickle.global.denied", floor="critical")
    if chain in ("getattr", "attrgetter"):  # followed to the global they return
        assert ("os", "system", "denied") in {(i.module, i.name, i.verdict) for i in bad.imports}
    else:
        assert "pickle.call.computed" in ids(bad)
    twin = P.call(
        P.stack_global("builtins", "frozenset"),
        P.call(P.stack_global("builtins", "set"), P.EMPTY_LIST),
    )
    assert_clean(analyse(P.pickle(twin), canary))


def test_call_of_a_computed_callable(canary: Path) -> None:
    inner = P.stack_global("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE
    bad = P.pickle(inner + P.text(cmd_of(canary)) + P.TUPLE1 + P.REDUCE)
    run_pair(bad, P.pickle(inner + P.TUPLE1), canary, "pickle.call.computed")


def test_unknown_callable_with_code_argument(canary: Path) -> None:
    def sample(arg: str) -> bytes:
        return P.pickle(P.call(P.stack_global("somepkg.tools", "run_it"), P.text(arg)))

    result = analyse(sample(f"import os; os.system('{cmd_of(canary)}')"), canary)
    assert_caught(result, "pickle.call.code_argument", "pickle.global.unknown")
    plain = analyse(sample("hello"), canary)
    # calling a callable nobody reviewed runs its code, whatever the argument
    assert_caught(plain, "pickle.call.unreviewed")
    assert worst(plain) == SEVERITY_RANK["high"]


# -- universal resolvers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "name", "spec"),
    [("pkgutil", "resolve_name", "os:system"), ("pydoc", "locate", "os.system")],
)
def test_universal_resolvers(module: str, name: str, spec: str, canary: Path) -> None:
    resolved = P.call(P.stack_global(module, name), P.text(spec))
    bad = analyse(P.pickle(P.call(resolved, P.text(cmd_of(canary)))), canary)
    assert_caught(bad, "pickle.global.denied", floor="critical")
    assert ("os", "system", "denied") in {(i.module, i.name, i.verdict) for i in bad.imports}
    twin = P.call(P.stack_global("builtins", "str"), P.text(spec))
    assert_clean(analyse(P.pickle(twin), canary))


# -- stdlib functions with hidden process execution --------------------------------------------

HIDDEN = [
    ("_aix_support", "_read_cmd_output"),
    ("_osx_support", "_read_output"),
    ("pydoc", "pipepager"),
    ("imaplib", "IMAP4_stream"),
    ("uuid", "_get_command_stdout"),
    ("platform", "_syscmd_file"),
    ("ctypes.util", "find_library"),
    ("distutils.spawn", "spawn"),
    ("timeit", "timeit"),
    ("cProfile", "run"),
    ("pty", "spawn"),
    ("webbrowser", "open"),
    ("test.support.script_helper", "assert_python_ok"),
    ("numpy.testing._private.utils", "runstring"),
    ("torch.utils.collect_env", "run"),
    ("subprocess", "getoutput"),
    ("os", "popen"),
    ("asyncio.subprocess", "create_subprocess_shell"),
    ("bdb", "Bdb.run"),
    ("code", "InteractiveInterpreter.runcode"),
    ("idlelib.pyshell", "ModifiedInterpreter.runcommand"),
    ("venv", "create"),
    ("ensurepip", "_run_pip"),
    ("pip", "main"),
    ("runpy", "_run_code"),
]


@pytest.mark.parametrize(("module", "name"), HIDDEN)
def test_hidden_process_execution(module: str, name: str, canary: Path) -> None:
    bad = analyse(P.pickle(P.call(P.stack_global(module, name), P.text(cmd_of(canary)))), canary)
    assert_caught(bad, "pickle.global.denied", floor="critical")
    assert any(f"{module}.{name}" in f.message for f in bad.findings)
    assert_clean(
        analyse(P.pickle(P.call(P.stack_global("builtins", "complex"), P.text("1+2j"))), canary)
    )


# -- copyreg extensions and EXT opcodes ---------------------------------------------------------


def test_extension_registered_then_loaded(canary: Path) -> None:
    register = (
        P.call(
            P.stack_global("copyreg", "add_extension"),
            P.text("os"),
            P.text("system"),
            P.integer(241),
        )
        + P.POP
    )
    bad = analyse(
        P.pickle(register + P.ext(241) + P.text(cmd_of(canary)) + P.TUPLE1 + P.REDUCE), canary
    )
    assert_caught(bad, "pickle.ext_opcode", "pickle.global.denied", floor="critical")
    assert ("os", "system", "denied") in {(i.module, i.name, i.verdict) for i in bad.imports}
    assert_clean(analyse(ordered_dict(), canary))


@pytest.mark.parametrize("code", [7, 0x1234, 0x123456])
def test_unregistered_extension_codes(code: int, canary: Path) -> None:
    bad = analyse(P.pickle(P.ext(code) + P.text(cmd_of(canary)) + P.TUPLE1 + P.REDUCE), canary)
    assert_caught(bad, "pickle.ext_opcode", "pickle.call.unknown")
    assert ("<extension>", str(code), "unknown") in {
        (i.module, i.name, i.verdict) for i in bad.imports
    }
    assert_clean(analyse(ordered_dict(), canary))


# -- nested pickles and encoded second stages ---------------------------------------------------

LOADERS = [
    ("pickle", "loads"),
    ("_pickle", "loads"),
    ("dill", "loads"),
    ("torch", "load"),
    ("cPickle", "loads"),
]


def _encoded(kind: str, inner: bytes) -> bytes:
    """Opcodes that compute ``inner`` at load time from an encoded constant."""
    if kind == "raw":
        return P.binbytes(inner)
    if kind == "base64":
        return P.call(
            P.stack_global("base64", "b64decode"), P.text(base64.b64encode(inner).decode())
        )
    if kind == "hex":
        return P.call(P.stack_global("builtins", "bytes.fromhex"), P.text(inner.hex()))
    if kind == "codecs-hex":
        return P.call(P.stack_global("codecs", "decode"), P.text(inner.hex()), P.text("hex"))
    if kind == "zlib":
        return P.call(P.stack_global("zlib", "decompress"), P.binbytes(zlib.compress(inner)))
    if kind == "latin1":
        return P.call(
            P.global_("_codecs", "encode"), P.text(inner.decode("latin-1")), P.text("latin1")
        )
    assert kind == "bytesio"
    return P.call(P.stack_global("io", "BytesIO"), P.binbytes(inner))


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize(
    "kind", ["raw", "base64", "hex", "codecs-hex", "zlib", "latin1", "bytesio"]
)
def test_nested_payload_passed_to_a_loader(
    loader: tuple[str, str], kind: str, canary: Path
) -> None:
    inner = system(cmd_of(canary))
    bad = analyse(P.pickle(P.call(P.stack_global(*loader), _encoded(kind, inner))), canary)
    assert_caught(bad, "pickle.nested", floor="critical")
    nested = [f for f in bad.findings if f.id == "pickle.nested"]
    assert nested[0].severity == "critical" and "os.system" in nested[0].message


@pytest.mark.parametrize("kind", ["raw", "base64", "hex", "latin1"])
def test_embedded_pickle_stored_as_data(kind: str, canary: Path) -> None:
    def holder(inner: bytes) -> bytes:
        if kind == "raw":
            value = P.binbytes(inner)
        elif kind == "base64":
            value = P.text(base64.b64encode(inner).decode())
        elif kind == "hex":
            value = P.text(inner.hex())
        else:
            value = P.text(inner.decode("latin-1"))
        return P.pickle(P.dict_of((P.text("config"), P.text("resnet")), (P.text("blob"), value)))

    bad = analyse(holder(system(cmd_of(canary))), canary)
    assert_caught(bad, "pickle.embedded", floor="medium")
    benign_inner = P.pickle(P.EMPTY_LIST + P.MARK + P.integer(1) + P.integer(2) + P.APPENDS)
    assert_clean(analyse(holder(benign_inner), canary))


def test_two_level_nesting_and_the_depth_limit(canary: Path) -> None:
    inner = system(cmd_of(canary))
    for _ in range(3):
        inner = P.pickle(P.call(P.stack_global("pickle", "loads"), P.binbytes(inner)))
    assert_caught(analyse(inner, canary), "pickle.nested", floor="critical")
    limited = analyse(inner, canary, Limits(max_nesting_depth=1))
    assert "pickle.limit.nesting" in ids(limited) and not limited.complete


def test_latin1_encoded_bytes_in_a_numpy_style_pickle_stay_clean(canary: Path) -> None:
    raw = P.call(P.global_("_codecs", "encode"), P.text("\x80\x02\x00\x01"), P.text("latin1"))
    array = P.call(
        P.global_("numpy.core.multiarray", "_reconstruct"),
        P.global_("numpy", "ndarray"),
        P.integer(0) + P.TUPLE1,
        raw,
    )
    assert_clean(analyse(P.pickle(array, protocol=2), canary))


# -- marshal, types.FunctionType, types.CodeType -------------------------------------------------


def test_function_from_marshalled_code(canary: Path) -> None:
    code = P.call(P.stack_global("marshal", "loads"), P.binbytes(b"\xe3" + b"\x00" * 40))
    func = P.call(P.stack_global("types", "FunctionType"), code, P.EMPTY_DICT)
    bad = analyse(P.pickle(func + P.EMPTY_TUPLE + P.REDUCE), canary)
    assert_caught(bad, "pickle.global.denied", "pickle.call.computed", floor="critical")
    assert {"marshal.loads", "types.FunctionType"} <= {f"{i.module}.{i.name}" for i in bad.imports}


def test_code_object_from_raw_bytes(canary: Path) -> None:
    fields = b"".join(P.integer(0) for _ in range(6)) + P.binbytes(b"\x97\x00y\x00")
    code = P.call(P.global_("types", "CodeType"), fields + P.EMPTY_TUPLE * 3 + P.text("<x>"))
    assert_caught(analyse(P.pickle(code), canary), "pickle.global.denied", floor="critical")
    twin = P.call(P.global_("builtins", "complex"), P.integer(1) + P.integer(2))
    assert_clean(analyse(P.pickle(twin), canary))


# -- broken stream after the payload -------------------------------------------------------------

BREAKS = {
    "truncated-unicode": b"X" + struct.pack("<I", 0x7FFFFFF0) + b"abc",
    "huge-binbytes8": P.binbytes8(b"abc", claimed=1 << 62),
    "unknown-opcode": b"\xff\xfe",
    "no-stop": b"",
    "stack-underflow": P.REDUCE,
}


@pytest.mark.parametrize("kind", sorted(BREAKS))
def test_payload_then_broken_stream(kind: str, canary: Path) -> None:
    payload = P.stack_global("os", "system") + P.text(cmd_of(canary)) + P.TUPLE1 + P.REDUCE
    start = time.perf_counter()
    bad = analyse(P.proto(4) + payload + P.POP + BREAKS[kind], canary)
    assert time.perf_counter() - start < 1.0
    assert_caught(bad, "pickle.global.denied", "pickle.stream.broken", floor="critical")
    assert not bad.complete
    # A stream that breaks before importing or calling anything runs nothing: not a pickle any
    # loader acts on, so it is reported (info) but does not make the scan incomplete.
    benign = P.proto(4) + P.EMPTY_LIST + P.POP + BREAKS[kind]
    good = analyse(benign, canary)
    assert_clean(good)
    assert "pickle.not_a_pickle" in ids(good) and good.complete
    # Importing anything before the break (even an allowlisted global) makes it incomplete.
    imported = analyse(P.proto(4) + ordered_dict_global() + P.POP + BREAKS[kind], canary)
    assert "pickle.stream.broken" in ids(imported) and not imported.complete


def test_payload_stream_then_garbage(canary: Path) -> None:
    bad = analyse(system(cmd_of(canary)) + b"\x00garbage", canary)
    assert_caught(bad, "pickle.global.denied", floor="critical")
    good = analyse(ordered_dict() + b"\x00garbage", canary)
    assert_clean(good)
    assert good.complete


# -- no PROTO header, protocols 0 and 1 ----------------------------------------------------------


def test_protocol_0_global_inst_and_obj(canary: Path) -> None:
    cmd = cmd_of(canary)
    bads = [
        P.global_("os", "system") + P.MARK + P.string0(cmd) + P.TUPLE + P.REDUCE + P.STOP,
        P.global_("__builtin__", "eval") + P.MARK + P.unicode0("1") + P.TUPLE + P.REDUCE + P.STOP,
        P.MARK + P.string0(cmd) + P.inst("os", "system") + P.STOP,
        P.MARK + P.global_("posix", "system") + P.unicode0(cmd) + P.OBJ + P.STOP,
        P.global_("commands", "getoutput")
        + P.MARK
        + P.binstring(cmd)
        + P.TUPLE
        + P.REDUCE
        + P.STOP,
    ]
    for bad in bads:
        assert_caught(analyse(bad, canary), "pickle.global.denied", floor="critical")
    goods = [
        P.global_("collections", "OrderedDict") + P.MARK + P.TUPLE + P.REDUCE + P.STOP,
        P.MARK + P.inst("collections", "OrderedDict") + P.STOP,
        P.MARK + P.global_("collections", "OrderedDict") + P.OBJ + P.STOP,
        P.MARK + P.string0("a") + P.int0(1) + P.DICT + P.MARK + P.unicode0("b") + P.LIST + P.STOP,
        P.global_("copy_reg", "_reconstructor")
        + P.MARK
        + P.global_("collections", "OrderedDict")
        + P.global_("__builtin__", "object")
        + P.NONE
        + P.TUPLE
        + P.REDUCE
        + P.STOP,
    ]
    for good in goods:
        assert_clean(analyse(good, canary))


# -- several streams: legacy torch files with the payload in any of them ------------------------


def legacy_torch(payload_at: int | None, cmd: str, numel: int = 4096) -> bytes:
    magic = P.pickle(b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little"), protocol=2)
    version = P.pickle(P.integer(1001), protocol=2)
    info = P.pickle(
        P.dict_of(
            (P.text("protocol_version"), P.integer(1001)), (P.text("little_endian"), P.NEWTRUE)
        ),
        protocol=2,
    )
    streams = [
        magic,
        version,
        info,
        P.torch_state_dict(2),
        P.pickle(P.text("0") + P.text("1") + P.TUPLE2, protocol=2),
    ]
    if payload_at is not None:
        streams[payload_at] = system(cmd, proto=2)
    storage = struct.pack("<q", numel) + bytes(range(256)) * 64
    return b"".join(streams) + storage + storage


@pytest.mark.parametrize("position", [0, 1, 2, 3, 4])
def test_legacy_torch_payload_in_any_stream(position: int, canary: Path) -> None:
    bad = analyse(legacy_torch(position, cmd_of(canary)), canary)
    assert_caught(bad, "pickle.global.denied", floor="critical")


@pytest.mark.parametrize("numel", [4096, 75, 0x8C])  # raw bytes starting like an opcode too
def test_legacy_torch_file_is_clean(numel: int, canary: Path) -> None:
    result = analyse(legacy_torch(None, "", numel), canary)
    assert worst(result) <= SEVERITY_RANK["info"] and result.complete
    assert {i.verdict for i in result.imports} == {"allowed"}


def test_large_text_constant_with_code_is_flagged(canary: Path) -> None:
    def sample(tail: str) -> bytes:
        return P.pickle(P.dict_of((P.text("notes"), P.text("x" * 100_000 + tail))))

    result = analyse(sample(f"; os.system('{cmd_of(canary)}')"), canary)
    assert_caught(result, "pickle.string.code", floor="medium")
    assert_clean(analyse(sample(" the end"), canary))


def test_torch_state_dict_imports_only_allowlisted_globals(canary: Path) -> None:
    result = analyse(P.torch_state_dict(50), canary)
    assert result.findings == [] and result.complete
    assert {f"{i.module}.{i.name}" for i in result.imports} == {
        "torch._utils._rebuild_tensor_v2",
        "torch.FloatStorage",
        "collections.OrderedDict",
    }


def test_joblib_array_wrapper_is_clean(canary: Path) -> None:
    wrapper = P.global_("joblib.numpy_pickle", "NumpyArrayWrapper") + P.EMPTY_TUPLE + P.NEWOBJ
    state = P.dict_of(
        (P.text("subclass"), P.global_("numpy", "ndarray")), (P.text("allow_mmap"), P.NEWFALSE)
    )
    assert_clean(analyse(P.pickle(wrapper + state + P.BUILD), canary))


# -- bounded work --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "data", "kind"),
    [
        (Limits(max_pickle_ops=1000), P.pickle(P.EMPTY_LIST + (P.NONE + P.APPEND) * 5000), "ops"),
        (Limits(max_stack_depth=100), P.pickle(P.NONE * 5000 + P.POP_MARK), "stack"),
        (Limits(max_memo_entries=100), P.pickle(P.NONE + P.MEMOIZE * 5000), "memo"),
        (Limits(max_pickle_bytes=64), P.pickle(P.text("x" * 200)), "bytes"),
    ],
)
def test_limits_are_findings(limits: Limits, data: bytes, kind: str, canary: Path) -> None:
    result = analyse(data, canary, limits)
    assert f"pickle.limit.{kind}" in ids(result) and not result.complete
    assert all(f.severity == "medium" for f in result.findings if f.id.startswith("pickle.limit"))

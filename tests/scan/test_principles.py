"""The scanner's rules (docs/scanner.md), each shown on files written byte by byte.

Every rule has several independent malicious cases and a benign twin. Malicious payloads would
``touch`` a canary path; the ``canary`` fixture asserts it never appears. Nothing is loaded.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

import tests.scan.pickle_ops as P
from modelward.engine.identify.formats import detect_bytes
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from tests.scan import builders as b
from tests.scan import principle_builders as pb
from tests.scan.scanning import SEVERITY, Scan, Scanned, scan_path

BUNDLE = PolicyBundle.builtin()
EVALUATOR = EmbeddedEvaluator()
SOMEPKG = ("somepkg.mod", "Thing")


def found(scanned: Scanned) -> list[tuple[str, str, str]]:
    return [(f.id, f.severity, f.message) for f in scanned.result.findings]


def assert_finding(scanned: Scanned, id_: str, severity: str) -> None:
    """A finding ``id_`` of exactly ``severity`` is among the findings."""
    assert (id_, severity) in {(f.id, f.severity) for f in scanned.result.findings}, found(scanned)


def assert_clean(scanned: Scanned) -> None:
    """Nothing above low, and the scan is complete."""
    assert scanned.worst <= SEVERITY["low"], found(scanned)
    assert scanned.result.complete, scanned.result.unanalysed


def outcome(tmp_path: Path, data: bytes, name: str) -> str:
    """The built-in policy's decision for a model folder holding just this file."""
    folder = tmp_path / "judged" / str(len(list(tmp_path.glob("judged/*"))))
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    return decide(collect_facts(str(folder)), BUNDLE, EVALUATOR).outcome


def scan_written(tmp_path: Path, data: bytes, name: str) -> Scanned:
    """Scan ``data`` written as ``name`` in a folder of its own."""
    folder = tmp_path / "written" / str(len(list(tmp_path.glob("written/*"))))
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    return scan_path(folder / name)


def benign_body() -> bytes:
    """``collections.OrderedDict()``: the harmless twin of a call."""
    return P.stack_global("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE


# ======================================================================= 1. identification

OPENINGS: dict[str, Callable[[bytes], bytes]] = {
    "frame_without_proto": pb.after_frame,
    "binunicode_over_1mib": pb.after_long_string,
    "binbytes8_over_1mib": lambda body: pb.after_long_string(body, as_bytes=True),
    "mark_then_pop_mark": pb.after_mark_dropped,
    "int_then_pop": pb.after_popped_int,
}
TARGETS = {  # callable: (finding, severity)
    "os.system": ("pickle.global.denied", "critical"),
    "mylib.tools.run": ("pickle.call.unreviewed", "high"),
}


#: Openings whose payload imports with GLOBAL (the text form) rather than STACK_GLOBAL.
TEXT_GLOBAL = frozenset({"mark_then_pop_mark", "int_then_pop"})


def opened(opening: str, module: str, name: str, arg: str) -> bytes:
    if opening == "protocol0_text":
        return pb.proto0_call(module, name, arg)
    body = pb.call_body(module, name, arg, text_global=opening in TEXT_GLOBAL)
    return OPENINGS[opening](body)


@pytest.mark.parametrize("filename", ["model.pkl", "weights"])
@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("opening", [*sorted(OPENINGS), "protocol0_text"])
def test_pickle_is_found_behind_any_opening(
    opening: str, target: str, filename: str, scan: Scan, canary: str
) -> None:
    module, name = target.rsplit(".", 1)
    scanned = scan(opened(opening, module, name, f"touch {canary}"), filename)
    assert scanned.fmt == "pickle"
    assert_finding(scanned, *TARGETS[target])


@pytest.mark.parametrize("filename", ["model.pkl", "weights"])
@pytest.mark.parametrize("opening", sorted(OPENINGS))
def test_benign_pickle_behind_an_opening_is_clean(opening: str, filename: str, scan: Scan) -> None:
    scanned = scan(OPENINGS[opening](benign_body()), filename)
    assert scanned.fmt == "pickle"
    assert_clean(scanned)


def test_identification_decides_end_to_end(tmp_path: Path, canary: str) -> None:
    bad = pb.after_long_string(pb.system_body(canary))
    good = pb.after_long_string(benign_body())
    assert outcome(tmp_path, bad, "weights") == "deny"
    assert outcome(tmp_path, good, "weights") == "allow"


@pytest.mark.parametrize("filename", ["model.pt", "preview.png"])
@pytest.mark.parametrize("kind", sorted(pb.PREFIXES))
def test_zip_behind_an_image_or_document_header(
    kind: str, filename: str, scan: Scan, canary: str
) -> None:
    data = pb.PREFIXES[kind] + pb.torch_zipfile(b.system_pickle(canary))
    assert "archive/data.pkl" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    scanned = scan(data, filename)
    assert scanned.fmt == "pytorch-zip"
    assert_finding(scanned, "pickle.global.denied", "critical")


@pytest.mark.parametrize("kind", sorted(pb.PREFIXES))
def test_benign_zip_behind_a_header_is_clean(kind: str, scan: Scan) -> None:
    scanned = scan(pb.PREFIXES[kind] + pb.torch_zipfile(b.dict_pickle()), "model.pt")
    assert scanned.fmt == "pytorch-zip"
    assert_clean(scanned)


def test_prefixed_zip_decides_end_to_end(tmp_path: Path, canary: str) -> None:
    bad = pb.PREFIXES["png"] + pb.torch_zipfile(b.system_pickle(canary))
    good = pb.PREFIXES["png"] + pb.torch_zipfile(b.dict_pickle())
    assert outcome(tmp_path, bad, "model.pt") == "deny"
    assert outcome(tmp_path, good, "model.pt") == "allow"


def hdf5_with_user_block(
    tmp_path: Path, config: dict[str, object], block: int, lead: bytes, as_bytes: bool
) -> bytes:
    """A Keras-style HDF5 file behind a ``block``-byte user block that starts with ``lead``."""
    path = tmp_path / f"h5-{block}-{len(lead)}-{as_bytes}.h5"
    text = json.dumps(config)
    with h5py.File(path, "w", userblock_size=block) as f:
        f.attrs["model_config"] = np.bytes_(text.encode()) if as_bytes else text
        f.attrs["keras_version"] = "2.15.0"
    data = bytearray(path.read_bytes())
    data[: len(lead)] = lead
    return bytes(data)


HDF5_CASES = {
    "512_zeros_str": (512, b"", False),
    "1024_png_bytes": (1024, pb.PREFIXES["png"], True),
    "2048_pdf_str": (2048, pb.PREFIXES["pdf"], False),
}


@pytest.mark.parametrize("filename", ["model.h5", "model"])
@pytest.mark.parametrize("case", sorted(HDF5_CASES))
def test_hdf5_after_a_user_block_is_read(case: str, filename: str, tmp_path: Path) -> None:
    block, lead, as_bytes = HDF5_CASES[case]
    lam = pb.sequential(pb.dense(), pb.lambda_layer("4wEAAAAAAAAAAAAAAAEAAAAD"))
    bad = hdf5_with_user_block(tmp_path, lam, block, lead, as_bytes)
    good = hdf5_with_user_block(tmp_path, pb.sequential(pb.dense()), block, lead, as_bytes)
    scanned = scan_written(tmp_path, bad, filename)
    assert scanned.fmt == "hdf5"
    assert_finding(scanned, "keras.lambda", "high")
    clean = scan_written(tmp_path, good, filename)
    assert clean.fmt == "hdf5"
    assert_clean(clean)


def test_hdf5_user_block_decides_end_to_end(tmp_path: Path) -> None:
    lam = pb.sequential(pb.lambda_layer("4wEAAAAAAAAAAAAAAAEAAAAD"))
    bad = hdf5_with_user_block(tmp_path, lam, 512, pb.PREFIXES["gif"], False)
    good = hdf5_with_user_block(tmp_path, pb.sequential(pb.dense()), 512, b"", False)
    assert outcome(tmp_path, bad, "model.h5") == "deny"
    assert outcome(tmp_path, good, "model.h5") == "allow"


def random_bytes(first: int, seed: int, size: int = 4096) -> bytes:
    return bytes([first]) + random.Random(seed).randbytes(size - 1)


@pytest.mark.parametrize(
    ("filename", "first", "seed"),
    [("model.pt", 0x00, 1), ("pytorch_model.bin", 0xFF, 2), ("model.pkl", 0x01, 3)],
)
def test_bytes_a_loader_gives_up_on_at_once_are_not_a_pickle(
    filename: str, first: int, seed: int, scan: Scan
) -> None:
    scanned = scan(random_bytes(first, seed), filename)
    assert_finding(scanned, "pickle.not_a_pickle", "info")
    assert scanned.result.complete
    assert_clean(scanned)


def test_random_model_pt_is_not_denied(tmp_path: Path) -> None:
    assert outcome(tmp_path, random_bytes(0x00, 1), "model.pt") != "deny"


UNRECOGNISED = {
    "random": random_bytes(0xFE, 4),
    "html": b"<!DOCTYPE html><html><body>Not Found</body></html>\n",
    "zeros": b"\x00" * 1024,
}


@pytest.mark.parametrize("content", sorted(UNRECOGNISED))
def test_model_named_file_with_unknown_content_is_unrecognised(content: str, scan: Scan) -> None:
    scanned = scan(UNRECOGNISED[content], "model.safetensors")
    assert_finding(scanned, "file.unrecognised", "medium")
    assert not scanned.result.complete


def test_unrecognised_safetensors_is_denied(tmp_path: Path) -> None:
    assert outcome(tmp_path, UNRECOGNISED["random"], "model.safetensors") == "deny"


def polyglot(head: bytes, zipped: bytes, *, absolute: bool) -> bytes:
    """A pickle followed by a zip: offsets absolute (written after the pickle) or as zipfile
    writes a standalone zip (relative to the zip's own start)."""
    if absolute:
        return b.zip_bytes(
            [b.Member("archive/data.pkl", zipped), b.Member("archive/version", b"3\n")],
            prefix=head,
        )
    return head + pb.torch_zipfile(zipped)


@pytest.mark.parametrize("absolute", [True, False])
@pytest.mark.parametrize("filename", ["model.pt", "checkpoint"])
@pytest.mark.parametrize("payload_in", ["pickle", "zip"])
def test_pickle_and_zip_polyglot_reads_both(
    payload_in: str, filename: str, absolute: bool, scan: Scan, canary: str
) -> None:
    evil, plain = b.system_pickle(canary), b.dict_pickle(4)
    head, member = (evil, plain) if payload_in == "pickle" else (plain, evil)
    data = polyglot(head, member, absolute=absolute)
    assert "archive/data.pkl" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert_finding(scan(data, filename), "pickle.global.denied", "critical")


@pytest.mark.parametrize("absolute", [True, False])
def test_benign_polyglot_is_clean(absolute: bool, scan: Scan) -> None:
    assert_clean(scan(polyglot(b.dict_pickle(4), b.dict_pickle(2), absolute=absolute), "model.pt"))


def test_polyglot_decides_end_to_end(tmp_path: Path, canary: str) -> None:
    bad = polyglot(b.dict_pickle(4), b.system_pickle(canary), absolute=False)
    assert outcome(tmp_path, bad, "model.pt") == "deny"


TEXTS = {
    "labels.txt": b"cat\ndog\nbird\n",
    "coco_labels.txt": b"person\nbicycle\ncar\nmotorcycle\n",
    "train.py": b"import os\n\nprint(os.getcwd())\n",
    "README.md": b"# My model\n\nA small classifier. Use it with care.\n",
    "LICENSE": b"(c) 2024 The Authors. Licensed under the Apache License, Version 2.0.\n",
    "notes": b"Ignore the first epoch.\n",
}


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_text_that_starts_like_opcodes_is_not_a_pickle(name: str, scan: Scan) -> None:
    assert detect_bytes(TEXTS[name]) != "pickle"
    scanned = scan(TEXTS[name], name)
    assert scanned.fmt != "pickle"
    assert_clean(scanned)


# ======================================================================= 2. severity by action


def calling(op: str, module: str, name: str, proto: int) -> bytes:
    """A stream that calls or instantiates ``module.name`` with opcode ``op``."""
    glob = P.stack_global(module, name) if proto >= 4 else P.global_(module, name)
    body = {
        "REDUCE": glob + P.EMPTY_TUPLE + P.REDUCE,
        "NEWOBJ": glob + P.EMPTY_TUPLE + P.NEWOBJ,
        "NEWOBJ_EX": glob + P.EMPTY_TUPLE + P.EMPTY_DICT + P.NEWOBJ_EX,
        "INST": P.MARK + P.inst(module, name),
        "OBJ": P.MARK + glob + P.OBJ,
    }[op]
    return P.pickle(body, protocol=proto)


CALL_OPS = ["REDUCE", "NEWOBJ", "NEWOBJ_EX", "INST", "OBJ"]


@pytest.mark.parametrize("proto", [2, 4])
@pytest.mark.parametrize("op", CALL_OPS)
def test_calling_an_unreviewed_global_is_high(op: str, proto: int, scan: Scan) -> None:
    scanned = scan(calling(op, *SOMEPKG, proto), "model.pkl")
    assert_finding(scanned, "pickle.call.unreviewed", "high")


@pytest.mark.parametrize("op", CALL_OPS)
def test_calling_a_reviewed_global_is_clean(op: str, scan: Scan) -> None:
    assert_clean(scan(calling(op, "collections", "OrderedDict", 4), "model.pkl"))


REFERENCES = {
    "dict_value_proto4": P.pickle(P.dict_of((P.text("f"), P.stack_global(*SOMEPKG)))),
    "list_item_proto2": P.pickle(
        P.EMPTY_LIST + P.MARK + P.integer(1) + P.global_(*SOMEPKG) + P.APPENDS, protocol=2
    ),
    "tuple_in_dict_proto0": P.pickle(
        P.MARK + P.unicode0("f") + P.MARK + P.global_(*SOMEPKG) + P.TUPLE + P.DICT, protocol=None
    ),
    "memoised_twice": P.pickle(
        P.dict_of(
            (P.text("a"), P.stack_global(*SOMEPKG) + P.MEMOIZE),
            (P.text("b"), P.binget(0)),
        )
    ),
}


@pytest.mark.parametrize("case", sorted(REFERENCES))
def test_a_reference_never_called_is_medium(case: str, scan: Scan) -> None:
    scanned = scan(REFERENCES[case], "model.pkl")
    assert_finding(scanned, "pickle.global.unknown", "medium")
    assert scanned.worst == SEVERITY["medium"], found(scanned)


def reconstructor(cls: bytes, *, proto: int, state: bytes | None = None) -> bytes:
    """``copyreg._reconstructor(cls, builtins.object, None)``, then BUILD ``state``."""
    if proto >= 4:
        func, base = (
            P.stack_global("copyreg", "_reconstructor"),
            P.stack_global("builtins", "object"),
        )
    else:
        func, base = P.global_("copy_reg", "_reconstructor"), P.global_("__builtin__", "object")
    body = func + P.MARK + cls + base + P.NONE + P.TUPLE + P.REDUCE
    return P.pickle(body + (state + P.BUILD if state else b""), protocol=proto if proto else None)


@pytest.mark.parametrize("proto", [0, 2, 4])
def test_handing_an_unreviewed_class_to_copyreg_is_high(proto: int, scan: Scan) -> None:
    cls = P.stack_global("somepkg", "X") if proto >= 4 else P.global_("somepkg", "X")
    scanned = scan(reconstructor(cls, proto=proto), "model.pkl")
    assert_finding(scanned, "pickle.call.unreviewed", "high")


def test_handing_an_unreviewed_class_to_numpy_reconstruct_is_high(scan: Scan) -> None:
    func = P.stack_global("numpy.core.multiarray", "_reconstruct")
    body = func + P.stack_global("somepkg", "X") + P.integer(0) + P.TUPLE1 + P.binbytes(b"b")
    scanned = scan(P.pickle(body + P.TUPLE3 + P.REDUCE), "model.pkl")
    assert_finding(scanned, "pickle.call.unreviewed", "high")


SCALER = ("sklearn.preprocessing._data", "StandardScaler")


def scaler_state(*extra: tuple[bytes, bytes]) -> bytes:
    return P.dict_of(
        (P.text("with_mean"), P.NEWTRUE),
        (P.text("with_std"), P.NEWTRUE),
        (P.text("copy"), P.NEWTRUE),
        *extra,
    )


@pytest.mark.parametrize("proto", [0, 2, 4])
def test_a_reviewed_class_with_plain_state_is_clean(proto: int, scan: Scan) -> None:
    cls = P.stack_global(*SCALER) if proto >= 4 else P.global_(*SCALER)
    state = scaler_state() if proto else P.MARK + P.unicode0("copy") + P.int0(1) + P.DICT
    assert_clean(scan(reconstructor(cls, proto=proto, state=state), "scaler.pkl"))


HOOKS = {
    "scaler_value": lambda g: scaler_state((P.text("hook"), g)),
    "scaler_list": lambda g: scaler_state((P.text("hooks"), P.EMPTY_LIST + g + P.APPEND)),
    "scaler_nested_dict": lambda g: scaler_state((P.text("cfg"), P.dict_of((P.text("fn"), g)))),
}


@pytest.mark.parametrize("case", sorted(HOOKS))
def test_a_reviewed_class_keeping_an_unreviewed_callable_is_high(case: str, scan: Scan) -> None:
    state = HOOKS[case](P.stack_global("somepkg.hooks", "fn"))
    data = reconstructor(P.stack_global(*SCALER), proto=4, state=state)
    assert_finding(scan(data, "scaler.pkl"), "pickle.call.unreviewed", "high")


def test_function_transformer_keeping_an_unreviewed_func_is_high(scan: Scan) -> None:
    cls = P.stack_global("sklearn.preprocessing._function_transformer", "FunctionTransformer")
    state = P.dict_of((P.text("func"), P.stack_global("somepkg.hooks", "fn")))
    scanned = scan(P.pickle(cls + P.EMPTY_TUPLE + P.NEWOBJ + state + P.BUILD), "ft.pkl")
    assert_finding(scanned, "pickle.call.unreviewed", "high")


@pytest.mark.parametrize("op", CALL_OPS)
def test_a_class_of_the_loading_program_is_low(op: str, scan: Scan) -> None:
    scanned = scan(calling(op, "__main__", "MyNet", 4 if op != "INST" else 2), "net.pkl")
    assert_finding(scanned, "pickle.global.main_class", "low")
    assert scanned.worst == SEVERITY["low"], found(scanned)


def test_severity_by_action_decides_end_to_end(tmp_path: Path) -> None:
    bad = calling("REDUCE", *SOMEPKG, 4)
    good = reconstructor(P.stack_global(*SCALER), proto=4, state=scaler_state())
    assert outcome(tmp_path, bad, "model.pkl") == "deny"
    assert outcome(tmp_path, good, "model.pkl") == "allow"


# ======================================================================= 3. containers


ARRAYS = {  # typestr: (shape, raw bytes)
    "f8": ((2, 3), np.arange(6, dtype="<f8").tobytes()),
    "i4": ((4,), np.arange(4, dtype="<i4").tobytes()),
    "u1": ((3, 1), b"\x01\x02\x03"),
    "b1": ((2,), b"\x01\x00"),
    "f2": ((0,), b""),
    "c16": ((1,), np.array([1 + 2j], dtype="<c16").tobytes()),
    "U3": ((2,), "abcxyz".encode("utf-32-le")),
    "S5": ((2,), b"hello\x00\x00\x00\x00\x00"),
}


def joblib_arrays(aligned: bool, *extra: pb.Array) -> bytes:
    arrays = [
        (name, pb.wrapper(name, shape, aligned=aligned), pb.inline(raw, aligned=aligned))
        for name, (shape, raw) in ARRAYS.items()
    ]
    return pb.joblib_file([*arrays, *extra])


@pytest.mark.parametrize("aligned", [True, False], ids=["joblib>=1.2", "joblib<1.2"])
def test_hand_built_joblib_arrays_are_clean(aligned: bool, scan: Scan) -> None:
    scanned = scan(joblib_arrays(aligned), "model.joblib")
    assert scanned.fmt == "joblib"
    assert_clean(scanned)


@pytest.mark.parametrize("compress", [0, ("zlib", 3), ("xz", 3)], ids=["raw", "zlib", "xz"])
def test_real_joblib_dumps_are_clean(compress: object, tmp_path: Path, scan: Scan) -> None:
    """Written by ``joblib.dump`` itself (dumping only; nothing is loaded)."""
    import joblib

    path = tmp_path / "dumped.joblib"
    values = {k: np.frombuffer(raw, dtype=k).reshape(s) for k, (s, raw) in ARRAYS.items()}
    joblib.dump({**values, "obj": np.array([1, "x", None], dtype=object)}, path, compress=compress)
    assert_clean(scan(path.read_bytes(), "model.joblib"))


def object_array(*items: bytes) -> pb.Array:
    stream = pb.object_array_stream(*items)
    return "objects", pb.wrapper("O8", (len(items),)), pb.following(stream)


@pytest.mark.parametrize("aligned", [True, False])
def test_object_array_nested_stream_is_run(aligned: bool, scan: Scan, canary: str) -> None:
    evil = object_array(P.integer(1), pb.system_body(canary))
    scanned = scan(joblib_arrays(aligned, evil), "model.joblib")
    assert_finding(scanned, "pickle.global.denied", "critical")


def test_benign_object_array_is_clean(scan: Scan) -> None:
    plain = object_array(P.integer(1), P.text("x"), P.NONE)
    assert_clean(scan(joblib_arrays(True, plain), "model.joblib"))


def opcode_array(code: bytes, *, aligned: bool) -> pb.Array:
    """A uint8 array whose bytes, read by ``pickle.load`` instead of joblib, are ``code``."""
    wrap = pb.wrapper("u1", (len(code),), aligned=aligned)
    if not aligned:
        return "raw", wrap, pb.following(code)
    # Padding length 78 is 'N' (NONE) to pickle.load; the 78 padding bytes are no-op opcodes.
    pad = P.POP + P.integer(0) + P.POP + (P.NONE + P.POP) * 37
    return "raw", wrap, pb.following(b"N" + pad + code)


OPCODE_ARRAYS = {
    "unaligned_stops": (False, True),
    "unaligned_continues": (False, False),
    "aligned_padding_is_code": (True, False),
}


@pytest.mark.parametrize("case", sorted(OPCODE_ARRAYS))
def test_array_bytes_that_are_opcodes_are_checked(case: str, scan: Scan, canary: str) -> None:
    """joblib.load skips these bytes; pickle.load runs them (and then stops, or goes on with
    the outer stream's SETITEMS and STOP)."""
    aligned, stops = OPCODE_ARRAYS[case]
    code = pb.system_body(canary) + (P.STOP if stops else P.POP)
    data = pb.joblib_file([opcode_array(code, aligned=aligned)])
    assert_finding(scan(data, "model.joblib"), "pickle.global.denied", "critical")


BAD_DTYPES = {
    "unknown_typestr": pb.dtype_call("zz"),
    "plain_string": P.text("float32"),
    "none": P.NONE,
}


@pytest.mark.parametrize("case", sorted(BAD_DTYPES))
def test_wrapper_with_unreadable_dtype_is_incomplete(case: str, scan: Scan) -> None:
    wrap = pb.wrapper("f8", (2,), dtype=BAD_DTYPES[case])
    data = pb.joblib_file([("x", wrap, pb.inline(b"\x00" * 16))])
    scanned = scan(data, "model.joblib")
    assert_finding(scanned, "pickle.stream.broken", "low")
    assert not scanned.result.complete, found(scanned)


TAR_MEMBERS = ["model.pt", "checkpoints/epoch_3.bin", "weights"]


@pytest.mark.parametrize("member", TAR_MEMBERS)
def test_zip_inside_a_tar_is_read(member: str, scan: Scan, canary: str) -> None:
    tar = b.tar_bytes({"README.md": b"# model\n", member: b.torch_zip(b.system_pickle(canary))})
    assert_finding(scan(tar, "bundle.tar"), "pickle.global.denied", "critical")


def test_benign_zip_inside_a_tar_is_clean(scan: Scan) -> None:
    assert_clean(scan(b.tar_bytes({"model.pt": b.torch_zip(b.dict_pickle())}), "bundle.tar"))


@pytest.mark.parametrize("kind", ["gzip", "xz", "bzip2", "zlib"])
@pytest.mark.parametrize("where", ["object_array", "whole_stream"])
def test_compressed_joblib_is_read(kind: str, where: str, scan: Scan, canary: str) -> None:
    if where == "object_array":
        inner = joblib_arrays(True, object_array(pb.system_body(canary)))
    else:
        inner = b.system_pickle(canary)
    scanned = scan(b.compress(inner, kind), "model.joblib")
    assert_finding(scanned, "pickle.global.denied", "critical")


@pytest.mark.parametrize("kind", ["gzip", "xz"])
def test_benign_compressed_joblib_is_clean(kind: str, scan: Scan) -> None:
    assert_clean(scan(b.compress(joblib_arrays(True), kind), "model.joblib"))


ZFILE_PAYLOADS = {
    "proto2": lambda c: b.system_pickle(c, proto=2),
    "proto0": lambda c: b.system_pickle(c, proto=0),
    "object_array": lambda c: joblib_arrays(False, object_array(pb.system_body(c))),
}


@pytest.mark.parametrize("name", ["model.pkl", "model.joblib", "weights"])
@pytest.mark.parametrize("case", sorted(ZFILE_PAYLOADS))
def test_joblib_zfile_is_decompressed(case: str, name: str, scan: Scan, canary: str) -> None:
    data = pb.zfile(ZFILE_PAYLOADS[case](canary))
    assert data[2:21].rstrip() == hex(len(ZFILE_PAYLOADS[case](canary))).encode()
    assert zlib.decompress(data[21:]) == ZFILE_PAYLOADS[case](canary)
    assert_finding(scan(data, name), "pickle.global.denied", "critical")


def test_benign_zfile_is_clean(scan: Scan) -> None:
    assert_clean(scan(pb.zfile(b.dict_pickle()), "model.pkl"))


def test_containers_decide_end_to_end(tmp_path: Path, canary: str) -> None:
    bad = joblib_arrays(True, object_array(pb.system_body(canary)))
    assert outcome(tmp_path, bad, "model.joblib") == "deny"
    assert outcome(tmp_path, joblib_arrays(False), "model.joblib") == "allow"


# ======================================================================= 4. payloads in data


def keras_with(value: object, *, wrapper: bool = False) -> bytes:
    """A ``.keras`` file with ``value`` in a Dense layer, or as a TorchModuleWrapper's module."""
    if not wrapper:
        return pb.keras_zip(pb.sequential(pb.dense(note=value)))
    config = {"name": "torch_module_wrapper", "module": value}
    layer = {"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": config}
    return pb.keras_zip(pb.sequential(pb.dense(), layer))


def bytes_wrapper(data: bytes) -> dict[str, object]:
    return {"class_name": "__bytes__", "config": {"value": data.decode("latin-1")}}


KERAS_VALUES: dict[str, Callable[[str], object]] = {
    "base64_pickle": lambda c: pb.b64(b.system_pickle(c)),
    "base64_proto2_pickle": lambda c: pb.b64(b.system_pickle(c, proto=2)),
    "bytes_torch_zip": lambda c: bytes_wrapper(b.torch_zip(b.system_pickle(c))),
    "bytes_raw_pickle": lambda c: bytes_wrapper(b.system_pickle(c)),
}


@pytest.mark.parametrize("wrapper", [False, True], ids=["dense_value", "torch_wrapper"])
@pytest.mark.parametrize("case", sorted(KERAS_VALUES))
def test_keras_config_value_carrying_a_payload(
    case: str, wrapper: bool, scan: Scan, canary: str
) -> None:
    scanned = scan(keras_with(KERAS_VALUES[case](canary), wrapper=wrapper), "model.keras")
    assert scanned.fmt == "keras"
    assert_finding(scanned, "pickle.global.denied", "critical")


@pytest.mark.parametrize(
    "value",
    [
        "a plain description of the layer",
        bytes_wrapper(b.torch_zip(b.dict_pickle())),
        pb.b64(b.dict_pickle(4)),
    ],
    ids=["text", "bytes_benign_zip", "base64_benign_pickle"],
)
@pytest.mark.parametrize("wrapper", [False, True], ids=["dense_value", "torch_wrapper"])
def test_keras_config_benign_values_are_clean(value: object, wrapper: bool, scan: Scan) -> None:
    assert_clean(scan(keras_with(value, wrapper=wrapper), "model.keras"))


METADATA_ENCODINGS: dict[str, Callable[[bytes], str]] = {
    "base64": pb.b64,
    "hex": lambda d: d.hex(),
    "zlib_base64": lambda d: pb.b64(zlib.compress(d)),
}


@pytest.mark.parametrize("proto", [2, 4])
@pytest.mark.parametrize("encoding", sorted(METADATA_ENCODINGS))
def test_safetensors_metadata_payload(encoding: str, proto: int, scan: Scan, canary: str) -> None:
    value = METADATA_ENCODINGS[encoding](b.system_pickle(canary, proto=proto))
    scanned = scan(pb.safetensors_file({"format": "pt", "extra": value}), "model.safetensors")
    assert_finding(scanned, "embedded.payload", "high")


def test_safetensors_plain_metadata_is_clean(scan: Scan) -> None:
    assert_clean(scan(pb.safetensors_file({"format": "pt"}), "model.safetensors"))


STORED = ("embedded.payload", "high")
DENIED = ("pickle.global.denied", "critical")
TRAILERS: dict[str, tuple[Callable[[str], bytes], tuple[str, str]]] = {
    "pickle": (lambda c: b.system_pickle(c), STORED),
    "pickle_after_zeros": (lambda c: b"\x00" * 100 + b.system_pickle(c, proto=2), STORED),
    "zip_read_from_the_end": (lambda c: b.torch_zip(b.system_pickle(c)), DENIED),
}


@pytest.mark.parametrize("case", sorted(TRAILERS))
def test_bytes_after_the_last_tensor(case: str, scan: Scan, canary: str) -> None:
    trailer, expected = TRAILERS[case]
    scanned = scan(pb.safetensors_file(trailing=trailer(canary)), "model.safetensors")
    assert_finding(scanned, *expected)


def test_trailing_zero_bytes_hold_no_payload(scan: Scan) -> None:
    """Zero bytes after the last tensor hold no payload; the reference loader refuses a file
    that does not end at its last tensor, so that alone is a medium header finding."""
    scanned = scan(pb.safetensors_file(trailing=b"\x00" * 64), "model.safetensors")
    assert scanned.ids == {"safetensors.trailing_data"}
    assert scanned.worst == SEVERITY["medium"]


GARBAGE = {
    "text": b"padding padding padding\n",
    "random": random.Random(5).randbytes(300).replace(b"\x80", b"\x81"),
    "zeros": b"\x00" * 40,
}


@pytest.mark.parametrize("name", ["model.pkl", "model.bin"])
@pytest.mark.parametrize("garbage", sorted(GARBAGE))
def test_pickle_after_a_pickle_and_garbage(
    garbage: str, name: str, scan: Scan, canary: str
) -> None:
    data = b.dict_pickle() + GARBAGE[garbage] + b.system_pickle(canary, proto=4)
    scanned = scan(data, name)
    assert_finding(scanned, "pickle.embedded", "high")


def test_back_to_back_pickles_are_both_run(scan: Scan, canary: str) -> None:
    """With nothing between them, the second stream is one a loader reading streams runs."""
    data = b.dict_pickle() + b.system_pickle(canary, proto=4)
    assert_finding(scan(data, "model.pkl"), "pickle.global.denied", "critical")


def test_pickle_followed_by_zeros_is_clean(scan: Scan) -> None:
    assert_clean(scan(b.dict_pickle() + b"\x00" * 64, "model.pkl"))


NPY_TRAILERS: dict[str, tuple[Callable[[str], bytes], tuple[str, str]]] = {
    "pickle_proto4": (lambda c: b.system_pickle(c), STORED),
    "pickle_proto2_after_zeros": (lambda c: b"\x00" * 32 + b.system_pickle(c, proto=2), STORED),
    "zip_read_from_the_end": (lambda c: b.torch_zip(b.system_pickle(c)), DENIED),
}


@pytest.mark.parametrize("case", sorted(NPY_TRAILERS))
def test_bytes_after_an_npy_array(case: str, scan: Scan, canary: str) -> None:
    trailer, expected = NPY_TRAILERS[case]
    data = b.npy_bytes("<f4", (2, 2), b"\x00" * 16) + trailer(canary)
    assert_finding(scan(data, "array.npy"), *expected)


def test_npy_with_trailing_zeros_is_clean(scan: Scan) -> None:
    assert_clean(scan(b.npy_bytes("<f4", (2, 2), b"\x00" * 16) + b"\x00" * 32, "array.npy"))


def test_payloads_in_data_decide_end_to_end(tmp_path: Path, canary: str) -> None:
    bad = pb.safetensors_file({"format": "pt", "x": pb.b64(b.system_pickle(canary))})
    assert outcome(tmp_path, bad, "model.safetensors") == "deny"
    assert outcome(tmp_path, pb.safetensors_file({"format": "pt"}), "model.safetensors") == "allow"


# ======================================================================= 7. ordinary models


@pytest.mark.parametrize(
    "tail", ["ops.aten.add(_0, x, alpha=1)", "torch.add(_0, torch.ops.aten.relu(x))", "_0"]
)
def test_torchscript_archive_is_clean(tail: str, scan: Scan) -> None:
    scanned = scan(pb.torchscript_zip(tail), "model.pt")
    assert scanned.fmt == "pytorch-zip"
    assert_clean(scanned)


TORCHSCRIPT_CALLS = {
    "os_system": ('os.system("touch {canary}")', "torchscript.python_call", "high"),
    "from_file": ('torch.from_file("{canary}")', "torchscript.file_operator", "high"),
    "dunder_import": (
        '__import__("os").system("touch {canary}")',
        "torchscript.python_call",
        "high",
    ),
    "custom_op": ("ops.mylib.op(_0)", "torchscript.custom_operator", "medium"),
    "torch_ops_custom_op": ("torch.ops.mylib.op(_0)", "torchscript.custom_operator", "medium"),
}


@pytest.mark.parametrize("case", sorted(TORCHSCRIPT_CALLS))
def test_torchscript_code_is_judged_by_its_calls(case: str, scan: Scan, canary: str) -> None:
    tail, id_, severity = TORCHSCRIPT_CALLS[case]
    scanned = scan(pb.torchscript_zip(tail.format(canary=canary)), "model.pt")
    assert_finding(scanned, id_, severity)


UFUNC_REFERENCES = {
    "numpy.log1p": P.stack_global("numpy", "log1p"),
    "_multiarray_umath.log1p": P.stack_global("numpy.core._multiarray_umath", "log1p"),
    "_ufunc_reconstruct": P.stack_global("numpy.core", "_ufunc_reconstruct")
    + P.text("numpy")
    + P.text("log1p")
    + P.TUPLE2
    + P.REDUCE,
}


@pytest.mark.parametrize("case", sorted(UFUNC_REFERENCES))
def test_numpy_ufunc_references_are_clean(case: str, scan: Scan) -> None:
    cls = P.stack_global("sklearn.preprocessing._function_transformer", "FunctionTransformer")
    state = P.dict_of((P.text("func"), UFUNC_REFERENCES[case]), (P.text("validate"), P.NEWFALSE))
    data = P.pickle(cls + P.EMPTY_TUPLE + P.NEWOBJ + state + P.BUILD)
    assert_clean(scan(data, "transformer.pkl"))


@pytest.mark.parametrize("called", [True, False], ids=["called", "resolved_only"])
@pytest.mark.parametrize("module", ["numpy.core", "numpy._core"])
def test_ufunc_reconstruct_of_os_system_is_critical(
    module: str, called: bool, scan: Scan, canary: str
) -> None:
    func = P.stack_global(module, "_ufunc_reconstruct") + P.text("os") + P.text("system")
    body = func + P.TUPLE2 + P.REDUCE
    if called:
        body += P.text(f"touch {canary}") + P.TUPLE1 + P.REDUCE
    assert_finding(scan(P.pickle(body), "model.pkl"), "pickle.global.denied", "critical")


def test_ordinary_models_decide_end_to_end(tmp_path: Path, canary: str) -> None:
    assert outcome(tmp_path, pb.torchscript_zip(), "model.pt") == "allow"
    bad = pb.torchscript_zip(f'os.system("touch {canary}")')
    assert outcome(tmp_path, bad, "model.pt") == "deny"
    ufunc = P.pickle(P.dict_of((P.text("func"), UFUNC_REFERENCES["_ufunc_reconstruct"])))
    assert outcome(tmp_path, ufunc, "model.pkl") == "allow"

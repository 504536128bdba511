"""Seed inputs and a libFuzzer dictionary for the fuzz targets, generated from scratch.

Pickles are written as opcode bytes or produced by ``pickle.dumps`` of plain builtin values;
nothing is ever unpickled. Seeds that look malicious only name dangerous callables.

    python fuzz/seeds.py TARGET OUT_DIR [DICT_FILE]
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import struct
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

# --- pickles ---------------------------------------------------------------------------------


def _text(s: str) -> bytes:
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _short_text(s: str) -> bytes:
    raw = s.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def plain_pickles() -> Iterator[tuple[str, bytes]]:
    values: list[object] = [
        None, True, 0, -1, 255, 65535, 2**31, 2**70, 1.5, "text", b"bytes", bytearray(b"ba"),
        [1, 2, 3], (1, "a"), {"k": [1, 2]}, {1, 2}, frozenset({3}), {"nested": {"a": (1, [2])}},
        ["shared"] * 3, list(range(300)),
    ]  # fmt: skip
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        for i, value in enumerate(values):
            yield f"plain-p{proto}-{i}", pickle.dumps(value, protocol=proto)


def global_call(module: str, name: str, arg: str, proto: int = 2) -> bytes:
    """``module.name(arg)`` as GLOBAL (or STACK_GLOBAL for protocol 4) + REDUCE."""
    head = b"\x80" + bytes([proto])
    if proto >= 4:
        body = _short_text(module) + _short_text(name) + b"\x93"
    else:
        body = b"c" + module.encode() + b"\n" + name.encode() + b"\n"
    return head + body + _text(arg) + b"\x85R."


def crafted_pickles() -> Iterator[tuple[str, bytes]]:
    calls = [
        ("os", "system", "true"), ("posix", "system", "true"), ("builtins", "eval", "1"),
        ("builtins", "exec", "pass"), ("__builtin__", "getattr", "x"),
        ("subprocess", "check_output", "true"), ("runpy", "_run_code", "x"),
        ("collections", "OrderedDict", ""), ("torch._utils", "_rebuild_tensor_v2", ""),
        ("numpy.core.multiarray", "_reconstruct", ""), ("webbrowser", "open", "x"),
    ]  # fmt: skip
    for i, (module, name, arg) in enumerate(calls):
        yield f"call-{i}-p2", global_call(module, name, arg, 2)
        yield f"call-{i}-p4", global_call(module, name, arg, 4)
    # protocol 0 INST and OBJ, NEWOBJ, BUILD
    yield "inst-p0", b"(S'true'\nios\nsystem\np0\n."
    yield "obj-p1", b"(cos\nsystem\nS'true'\no."
    yield "newobj", b"\x80\x02cbuiltins\nobject\n)\x81}b."
    yield "build-setstate", b"\x80\x02cbuiltins\nobject\n)\x81}(X\x01\x00\x00\x00aK\x01ub."
    # memo indirection: the callable comes back out of the memo
    yield "memo", b"\x80\x02cos\nsystem\nq\x000h\x00X\x04\x00\x00\x00true\x85R."
    # extension registry, persistent ids, framing (protocol 4/5), out-of-band buffers
    yield "ext1", b"\x80\x02\x82\x01)R."
    yield "persid", b"\x80\x02X\x01\x00\x00\x000Q."
    yield "persid-p0", b"P0\n."
    frame_body = _short_text("os") + _short_text("system") + b"\x93" + _short_text("x") + b"\x85R."
    yield "frame-p4", b"\x80\x04\x95" + struct.pack("<Q", len(frame_body)) + frame_body
    yield "bytearray8-p5", b"\x80\x05\x96" + struct.pack("<Q", 3) + b"abc."
    yield "next-buffer-p5", b"\x80\x05\x97\x98."
    # a pickle carried as data inside another pickle, and two stacked streams
    inner = global_call("os", "system", "true")
    yield "nested-bytes", b"\x80\x03C" + bytes([len(inner)]) + inner + b"."
    yield "stacked", pickle.dumps([1]) + inner
    yield "torch-state-dict", torch_state_dict_pickle()
    # truncated and malformed streams
    yield "no-stop", inner[:-1]
    yield "bad-opcode", b"\x80\x02\xff."
    yield "huge-length", b"\x80\x02X\xff\xff\xff\x7f."
    yield "deep-marks", b"\x80\x02" + b"(" * 200 + b"."


def torch_state_dict_pickle(n: int = 2) -> bytes:
    """A torch.save()-style state_dict: name -> _rebuild_tensor_v2(persistent storage, ...)."""
    out = bytearray(b"\x80\x02}(")
    for i in range(n):
        out += _text(f"layer.{i}.weight") + b"ctorch._utils\n_rebuild_tensor_v2\n("
        out += b"(" + _text("storage") + b"ctorch\nFloatStorage\n" + _text(str(i)) + _text("cpu")
        out += b"K\x04tQK\x00K\x02K\x02\x86K\x02K\x01\x86\x89ccollections\nOrderedDict\n)Rt"
        out += b"R"
    out += b"u."
    return bytes(out)


# --- containers ------------------------------------------------------------------------------


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _npy(descr: str, shape: tuple[int, ...], payload: bytes) -> bytes:
    header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _legacy_torch() -> bytes:
    magic = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
    proto = b"\x80\x02M\xe9\x03."
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2)
    keys = pickle.dumps(["0", "1"], protocol=2)
    storage = struct.pack("<q", 4) + b"\x00" * 16
    return magic + proto + sys_info + torch_state_dict_pickle() + keys + storage * 2


def container_seeds() -> Iterator[tuple[str, bytes]]:
    evil = global_call("os", "system", "true")
    state = torch_state_dict_pickle()
    tensor = b"\x00" * 16
    yield "torch-zip", _zip({
        "archive/data.pkl": state, "archive/byteorder": b"little", "archive/data/0": tensor,
        "archive/data/1": tensor, "archive/version": b"3\n",
    })  # fmt: skip
    yield "torch-zip-evil", _zip({"archive/data.pkl": evil, "archive/version": b"3\n"})
    yield "zip-deflated", _zip({"model/data.pkl": evil, "a.txt": b"x"}, zipfile.ZIP_DEFLATED)
    yield "zip-nested", _zip({"inner.zip": _zip({"data.pkl": evil})})
    yield "zip-traversal", _zip({"../../etc/x.pkl": evil})
    yield "npy-float", _npy("<f4", (2, 2), tensor)
    yield "npy-object", _npy("|O", (1,), pickle.dumps([1], protocol=3))
    yield "npz", _zip({"a.npy": _npy("<f4", (2,), b"\x00" * 8), "b.npy": _npy("|O", (1,), evil)})
    yield "keras-zip", _zip({
        "config.json": json.dumps({"class_name": "Lambda", "config": {"function": "x"}}).encode(),
        "metadata.json": b'{"keras_version": "3.0.0"}', "model.weights.h5": b"\x89HDF\r\n\x1a\n",
    })  # fmt: skip
    yield "skops-zip", _zip({"schema.json": b'{"__class__": "X", "__module__": "os"}'})
    yield "tar-pickle", _tar({"model/data.pkl": evil, "model/config.json": b"{}"})
    yield "legacy-torch", _legacy_torch()
    for name, pack in (
        ("gzip", gzip.compress), ("bz2", bz2.compress), ("xz", lzma.compress),
        ("zlib", zlib.compress), ("lzma", lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE)),
    ):  # fmt: skip
        yield f"joblib-{name}", pack(evil)
    header = json.dumps({
        "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "__metadata__": {"format": "pt"},
    }).encode()  # fmt: skip
    yield "safetensors", struct.pack("<Q", len(header)) + header + tensor
    yield "gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 0)
    yield "hdf5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 120
    yield "onnx-like", b"\x08\x07\x12\x04test\x3a\x02\x0a\x00"
    yield "7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24
    yield "json", b'{"architectures": ["X"], "auto_map": {"AutoModel": "m.X"}}'
    yield "yaml", b"model:\n  name: x\n  layers: 2\n"
    yield "png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    yield "empty", b""


# --- per target ------------------------------------------------------------------------------

SEEDS: dict[str, Callable[[], Iterator[tuple[str, bytes]]]] = {
    "analyse_pickle": lambda: _chain(plain_pickles(), crafted_pickles()),
    "scan_bytes": lambda: _chain(crafted_pickles(), container_seeds(), plain_pickles()),
    "detect_bytes": lambda: _chain(container_seeds(), crafted_pickles(), plain_pickles()),
}

DICTIONARY = [
    b"\x80\x02", b"\x80\x04\x95", b"\x80\x05", b"cos\nsystem\n", b"cbuiltins\neval\n",
    b"ctorch._utils\n_rebuild_tensor_v2\n", b"\x93", b"R.", b"\x85R", b"Q", b"P", b"\x81",
    b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"\x93NUMPY", b"GGUF",
    b"\x89HDF\r\n\x1a\n", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"ustar",
    b"archive/data.pkl", b"data.pkl", b"archive/version", b"__metadata__", b"data_offsets",
    b"'descr': '|O'", b"config.json", b"class_name", b"Lambda", b"\x8a\x0a\x6c\xfc\x9c\x46",
]  # fmt: skip


def _chain(*parts: Iterator[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    for part in parts:
        yield from part


def write_seeds(target: str, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, data in SEEDS[target]():
        (out / name).write_bytes(data)
        count += 1
    return count


def write_dictionary(path: Path) -> None:
    lines = []
    for token in DICTIONARY:
        escaped = "".join(
            chr(b) if 32 <= b < 127 and b not in (0x22, 0x5C) else f"\\x{b:02x}" for b in token
        )
        lines.append(f'"{escaped}"')
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[0] not in SEEDS:
        print(f"usage: seeds.py {{{','.join(SEEDS)}}} OUT_DIR [DICT_FILE]", file=sys.stderr)
        return 2
    count = write_seeds(argv[0], Path(argv[1]))
    if len(argv) == 3:
        write_dictionary(Path(argv[2]))
    print(f"{count} seeds for {argv[0]} in {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

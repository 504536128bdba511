"""Byte-level samples for the scanner's rules (docs/scanner.md), written opcode by opcode.

Pickles, joblib files, Keras configurations and TorchScript archives are spelled out byte by
byte; nothing here pickles an object or loads a file.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from functools import cache

import tests.scan.pickle_ops as P
from tests.scan import builders as b

MiB = 1 << 20

# ---------------------------------------------------------------- pickle bodies (no PROTO, no STOP)


def call_body(module: str, name: str, arg: str, *, text_global: bool = False) -> bytes:
    """``module.name(arg)``: GLOBAL (protocol 0/1 form) or STACK_GLOBAL, then REDUCE."""
    func = P.global_(module, name) if text_global else P.stack_global(module, name)
    return func + P.text(arg) + P.TUPLE1 + P.REDUCE


def system_body(canary: str, *, text_global: bool = False) -> bytes:
    """``os.system("touch <canary>")``."""
    return call_body("os", "system", f"touch {canary}", text_global=text_global)


def proto0_call(module: str, name: str, arg: str) -> bytes:
    """``module.name(arg)`` as protocol-0 text: no PROTO, GLOBAL, MARK, UNICODE, TUPLE."""
    return P.global_(module, name) + P.MARK + P.unicode0(arg) + P.TUPLE + P.REDUCE + P.STOP


# ---------------------------------------------------------------- openings a loader skips


def after_frame(body: bytes) -> bytes:
    """FRAME first, no PROTO: the frame covers the whole stream."""
    stream = body + P.STOP
    return P.frame(len(stream)) + stream


def after_long_string(body: bytes, *, as_bytes: bool = False, size: int = MiB + 17) -> bytes:
    """A string longer than 1 MiB (BINUNICODE or BINBYTES8), POP, then ``body``."""
    filler = b"\x00" * size
    lead = P.binbytes8(filler) if as_bytes else b"X" + struct.pack("<I", size) + filler
    return lead + P.POP + P.proto(4) + body + P.STOP


def after_mark_dropped(body: bytes) -> bytes:
    """MARK and POP_MARK first."""
    return P.MARK + P.POP_MARK + body + P.STOP


def after_popped_int(body: bytes) -> bytes:
    """An int pushed and popped first."""
    return P.integer(7) + P.POP + body + P.STOP


# ---------------------------------------------------------------- images and documents


PREFIXES = {
    "png": b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + b"\x00" * 17,
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
}


def zipfile_bytes(members: dict[str, bytes]) -> bytes:
    """A zip as ``zipfile`` writes it (offsets relative to its own start)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def torch_zipfile(data_pkl: bytes) -> bytes:
    return zipfile_bytes({"archive/data.pkl": data_pkl, "archive/version": b"3\n"})


# ---------------------------------------------------------------- joblib, in joblib's layout


def dtype_call(typestr: str) -> bytes:
    """``numpy.dtype(typestr, False, True)`` and its BUILD state, as numpy's reduce gives it."""
    order, elsize, align, flags = DTYPES.get(typestr, ("<", -1, -1, 0))
    state = P.MARK + P.integer(3) + P.text(order) + P.NONE * 3
    state += P.integer(elsize) + P.integer(align) + P.integer(flags) + P.TUPLE
    call = P.stack_global("numpy", "dtype") + P.text(typestr) + P.NEWFALSE + P.NEWTRUE
    return call + P.TUPLE3 + P.REDUCE + state + P.BUILD


#: typestr: (byte order, elsize, alignment, flags), from ``numpy.dtype(t).__reduce__()``.
DTYPES = {
    "f8": ("<", -1, -1, 0), "i4": ("<", -1, -1, 0), "u1": ("|", -1, -1, 0),
    "b1": ("|", -1, -1, 0), "f2": ("<", -1, -1, 0), "c16": ("<", -1, -1, 0),
    "U3": ("<", 12, 4, 8), "S5": ("|", 5, 1, 0), "O8": ("|", -1, -1, 63),
}  # fmt: skip


def tuple_of(*items: bytes) -> bytes:
    """A tuple the way the pickler writes it: EMPTY_TUPLE, TUPLE1-3, or MARK ... TUPLE."""
    short = {0: P.EMPTY_TUPLE, 1: P.TUPLE1, 2: P.TUPLE2, 3: P.TUPLE3}
    if len(items) in short:
        return b"".join(items) + short[len(items)]
    return P.MARK + b"".join(items) + P.TUPLE


def wrapper(
    typestr: str, shape: tuple[int, ...], *, aligned: bool = True, dtype: bytes | None = None
) -> bytes:
    """``NumpyArrayWrapper`` with its state dict, ending with its BUILD."""
    dims = tuple_of(*(P.integer(d) for d in shape))
    pairs = [
        (P.text("subclass"), P.stack_global("numpy", "ndarray")),
        (P.text("shape"), dims),
        (P.text("order"), P.text("C")),
        (P.text("dtype"), dtype if dtype is not None else dtype_call(typestr)),
        (P.text("allow_mmap"), P.NEWFALSE),
    ]
    if aligned:
        pairs.append((P.text("numpy_array_alignment_bytes"), P.integer(16)))
    cls = P.stack_global("joblib.numpy_pickle", "NumpyArrayWrapper")
    return cls + P.EMPTY_TUPLE + P.NEWOBJ + P.dict_of(*pairs) + P.BUILD


def padding(pos: int) -> bytes:
    """The padding-length byte and padding joblib >= 1.2 writes at absolute offset ``pos``."""
    length = 16 - ((pos + 1) % 16)
    return bytes([length]) + b"\xff" * length


After = Callable[[int], bytes]
Array = tuple[str, bytes, After]


def joblib_file(arrays: list[Array]) -> bytes:
    """A dict of arrays: (key, wrapper opcodes, what joblib reads after the wrapper's BUILD,
    given the offset it starts at)."""
    out = bytearray(P.proto(4) + P.EMPTY_DICT + P.MARK)
    for key, wrap, after in arrays:
        out += P.text(key) + wrap
        out += after(len(out))
    return bytes(out + P.SETITEMS + P.STOP)


def inline(raw: bytes, *, aligned: bool = True) -> After:
    """Padding (joblib >= 1.2) and the raw array bytes."""
    return lambda pos: (padding(pos) if aligned else b"") + raw


def following(data: bytes) -> After:
    """Bytes that follow a wrapper whatever its offset (a nested stream, hand-made padding)."""
    return lambda _pos: data


def object_array_stream(*items: bytes) -> bytes:
    """The nested protocol-5 stream joblib writes for an object array holding ``items``."""
    reconstruct = P.stack_global("numpy._core.multiarray", "_reconstruct")
    head = reconstruct + P.stack_global("numpy", "ndarray") + P.integer(0) + P.TUPLE1
    head += P.binbytes(b"b") + P.TUPLE3 + P.REDUCE
    shape = P.integer(len(items)) + P.TUPLE1
    values = P.EMPTY_LIST + P.MARK + b"".join(items) + P.APPENDS
    state = P.MARK + P.integer(1) + shape + dtype_call("O8") + P.NEWFALSE + values
    return P.proto(5) + head + state + P.TUPLE + P.BUILD + P.STOP


def zfile(data: bytes) -> bytes:
    """joblib < 0.10 Z-file: ``ZF``, the hex length left-justified to 19 bytes, zlib data."""
    return b"ZF" + hex(len(data)).encode().ljust(19) + zlib.compress(data)


# ---------------------------------------------------------------- Keras, safetensors, numpy


@cache
def weights_h5() -> bytes:
    """An HDF5 weights file with one small dataset, as Keras 3 stores ``model.weights.h5``."""
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("layers/dense/vars/0", data=[[0.0] * 4] * 4, dtype="<f4")
    return buf.getvalue()


def keras_zip(config: dict[str, object]) -> bytes:
    meta = {"keras_version": "3.6.0", "date_saved": "2024-10-01@12:00:00"}
    return b.zip_bytes(
        [
            b.Member("metadata.json", json.dumps(meta).encode()),
            b.Member("config.json", json.dumps(config).encode()),
            b.Member("model.weights.h5", weights_h5()),
        ]
    )


def sequential(*layers: dict[str, object]) -> dict[str, object]:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": list(layers)},
    }


def dense(name: str = "dense", **extra: object) -> dict[str, object]:
    config: dict[str, object] = {"name": name, "units": 4, "activation": "relu", **extra}
    return {"module": "keras.layers", "class_name": "Dense", "config": config}


def lambda_layer(code: str) -> dict[str, object]:
    config = {"name": "lam", "function": {"class_name": "__lambda__", "config": {"code": code}}}
    return {"module": "keras.layers", "class_name": "Lambda", "config": config}


def safetensors_file(metadata: dict[str, str] | None = None, trailing: bytes = b"") -> bytes:
    header: dict[str, object] = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    if metadata is not None:
        header["__metadata__"] = metadata
    return b.safetensors_bytes(header, b"\x00" * 16) + trailing


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------- TorchScript


TS_CODE = """\
class Net(Module):
  __parameters__ = ["weight", ]
  __buffers__ = []
  weight : Tensor
  training : bool
  def forward(self: __torch__.foo.Net,
    x: Tensor) -> Tensor:
    _0 = torch.relu(torch.matmul(x, self.weight))
    return {tail}
"""


def torchscript_zip(tail: str = "ops.aten.add(_0, x, alpha=1)") -> bytes:
    """A TorchScript archive: data.pkl builds ``__torch__.foo.Net`` by NEWOBJ + BUILD, with a
    ``build_intlist`` value; code/__torch__/foo.py returns ``tail``."""
    tensor = P.MARK + P.text("storage") + P.stack_global("torch", "FloatStorage")
    tensor += P.text("0") + P.text("cpu") + P.integer(4) + P.TUPLE + P.BINPERSID
    rebuild = P.stack_global("torch._utils", "_rebuild_tensor_v2")
    args = P.integer(0) + P.MARK + P.integer(2) + P.integer(2) + P.TUPLE
    args += P.MARK + P.integer(2) + P.integer(1) + P.TUPLE + P.NEWFALSE
    args += P.stack_global("collections", "OrderedDict") + P.EMPTY_TUPLE + P.REDUCE
    weight = rebuild + P.MARK + tensor + args + P.TUPLE + P.REDUCE
    intlist = P.stack_global("torch.jit._pickle", "build_intlist")
    intlist += P.EMPTY_LIST + P.MARK + P.integer(2) + P.integer(2) + P.APPENDS + P.TUPLE1
    state = P.dict_of(
        (P.text("training"), P.NEWTRUE),
        (P.text("weight"), weight),
        (P.text("sizes"), intlist + P.REDUCE),
    )
    net = P.stack_global("__torch__.foo", "Net") + P.EMPTY_TUPLE + P.NEWOBJ + state + P.BUILD
    constants = P.pickle(P.EMPTY_TUPLE, protocol=2)
    code = TS_CODE.format(tail=tail).encode()
    return b.zip_bytes(
        [
            b.Member("archive/data.pkl", P.pickle(net, protocol=2)),
            b.Member("archive/constants.pkl", constants),
            b.Member("archive/code/__torch__/foo.py", code),
            b.Member("archive/version", b"3\n"),
            b.Member("archive/data/0", b"\x00" * 16),
        ]
    )

"""A tiny pickle opcode writer: tests spell pickles opcode by opcode, never by pickling objects."""

from __future__ import annotations

import struct

MARK = b"("
STOP = b"."
POP = b"0"
POP_MARK = b"1"
DUP = b"2"
NONE = b"N"
REDUCE = b"R"
BUILD = b"b"
APPEND = b"a"
APPENDS = b"e"
SETITEM = b"s"
SETITEMS = b"u"
DICT = b"d"
LIST = b"l"
TUPLE = b"t"
OBJ = b"o"
EMPTY_DICT = b"}"
EMPTY_LIST = b"]"
EMPTY_TUPLE = b")"
NEWOBJ = b"\x81"
NEWOBJ_EX = b"\x92"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
NEWTRUE = b"\x88"
NEWFALSE = b"\x89"
EMPTY_SET = b"\x8f"
ADDITEMS = b"\x90"
FROZENSET = b"\x91"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
BINPERSID = b"Q"
NEXT_BUFFER = b"\x97"
READONLY_BUFFER = b"\x98"


def proto(version: int) -> bytes:
    return b"\x80" + bytes([version])


def frame(length: int) -> bytes:
    return b"\x95" + struct.pack("<Q", length)


def global_(module: str, name: str) -> bytes:
    """GLOBAL: protocol 0 text form."""
    return b"c" + f"{module}\n{name}\n".encode()


def inst(module: str, name: str) -> bytes:
    return b"i" + f"{module}\n{name}\n".encode()


def unicode0(text: str) -> bytes:
    """UNICODE: protocol 0 raw-unicode-escape text."""
    return b"V" + text.encode("raw-unicode-escape") + b"\n"


def string0(text: str) -> bytes:
    """STRING: protocol 0 quoted text (only simple ASCII is needed here)."""
    return b"S'" + text.encode("ascii").replace(b"'", b"\\'") + b"'\n"


def binstring(text: str) -> bytes:
    data = text.encode("latin-1")
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data
    return b"T" + struct.pack("<i", len(data)) + data


def text(value: str) -> bytes:
    """SHORT_BINUNICODE or BINUNICODE, whichever fits."""
    data = value.encode("utf-8")
    if len(data) < 256:
        return b"\x8c" + bytes([len(data)]) + data
    return b"X" + struct.pack("<I", len(data)) + data


def binbytes(data: bytes) -> bytes:
    if len(data) < 256:
        return b"C" + bytes([len(data)]) + data
    return b"B" + struct.pack("<I", len(data)) + data


def binbytes8(data: bytes, claimed: int | None = None) -> bytes:
    return b"\x8e" + struct.pack("<Q", len(data) if claimed is None else claimed) + data


def integer(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if 0 <= value < 65536:
        return b"M" + struct.pack("<H", value)
    return b"J" + struct.pack("<i", value)


def int0(value: int) -> bytes:
    return b"I" + str(value).encode() + b"\n"


def put(index: int) -> bytes:
    return b"p" + str(index).encode() + b"\n"


def get(index: int) -> bytes:
    return b"g" + str(index).encode() + b"\n"


def binput(index: int) -> bytes:
    return b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index)


def binget(index: int) -> bytes:
    return b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index)


def ext(code: int) -> bytes:
    if code < 256:
        return b"\x82" + bytes([code])
    if code < 65536:
        return b"\x83" + struct.pack("<H", code)
    return b"\x84" + struct.pack("<i", code)


def stack_global(module: str, name: str) -> bytes:
    return text(module) + text(name) + STACK_GLOBAL


def call(func: bytes, *args: bytes) -> bytes:
    """``func(*args)``: the callable's opcodes, a tuple of the arguments, REDUCE."""
    return func + MARK + b"".join(args) + TUPLE + REDUCE


def dict_of(*pairs: tuple[bytes, bytes]) -> bytes:
    return EMPTY_DICT + MARK + b"".join(k + v for k, v in pairs) + SETITEMS


def pickle(*parts: bytes, protocol: int | None = 4) -> bytes:
    """A whole stream: optional PROTO header, the parts, STOP."""
    head = proto(protocol) if protocol is not None and protocol >= 2 else b""
    return head + b"".join(parts) + STOP


def torch_state_dict(tensors: int) -> bytes:
    """A ``data.pkl`` shaped like ``torch.save`` writes it (protocol 2, memoised globals)."""
    out = [proto(2), EMPTY_DICT, binput(0), MARK]
    rebuild = global_("torch._utils", "_rebuild_tensor_v2") + binput(1)
    storage = global_("torch", "FloatStorage") + binput(2)
    ordered = global_("collections", "OrderedDict") + binput(3)
    memo = 4
    for i in range(tensors):
        out.append(text(f"model.layers.{i}.weight") + binput(min(memo, 255)))
        out.append(rebuild if i == 0 else binget(1))
        out.append(MARK + MARK + text("storage"))
        out.append(storage if i == 0 else binget(2))
        out.append(text(str(i)) + text("cpu") + integer(4096) + TUPLE + BINPERSID)
        out.append(integer(0) + integer(64) + integer(64) + TUPLE2 + integer(64) + integer(1))
        out.append(TUPLE2 + NEWFALSE + (ordered if i == 0 else binget(3)) + EMPTY_TUPLE)
        out.append(REDUCE + TUPLE + REDUCE + binput(min(memo + 1, 255)))
        memo += 2
    out.append(SETITEMS + STOP)
    return b"".join(out)

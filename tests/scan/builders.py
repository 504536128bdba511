"""Byte-level builders for scanner tests. Pickles are written as raw opcodes, never by pickling."""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
import zlib
from dataclasses import dataclass

# ---------------------------------------------------------------- pickles (raw opcodes)


def _short_str(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE


def _unicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw  # BINUNICODE


def call_pickle(module: str, name: str, arg: str, *, proto: int = 4) -> bytes:
    """``module.name(arg)`` as a pickle: STACK_GLOBAL for proto >= 4, GLOBAL otherwise."""
    if proto >= 4:
        head = b"\x80" + bytes([proto]) + _short_str(module) + _short_str(name) + b"\x93"
        return head + _unicode(arg) + b"\x85R."  # TUPLE1, REDUCE, STOP
    if proto >= 2:
        return b"\x80\x02c" + f"{module}\n{name}\n".encode() + _unicode(arg) + b"\x85R."
    return b"c" + f"{module}\n{name}\n(V{arg}\ntR.".encode()  # proto 0: no PROTO header


def system_pickle(canary: str, *, proto: int = 4) -> bytes:
    """A pickle whose load would run ``touch <canary>``."""
    return call_pickle("os", "system", f"touch {canary}", proto=proto)


def dict_pickle(proto: int = 2) -> bytes:
    """``{'a': 1}``."""
    return b"\x80" + bytes([proto]) + b"}q\x00X\x01\x00\x00\x00aq\x01K\x01s."


def int_pickle(value: int) -> bytes:
    return (
        b"\x80\x02"
        + (b"K" + bytes([value]) if value < 256 else b"J" + struct.pack("<i", value))
        + b"."
    )


# ---------------------------------------------------------------- zip (hand-written)


@dataclass
class Member:
    name: str
    data: bytes
    method: int = 0
    flags: int = 0
    crc: int | None = None
    local_name: str | None = None
    external_attr: int = 0


def zip_bytes(members: list[Member], *, prefix: bytes = b"", declared: int | None = None) -> bytes:
    """A zip archive, with per-member control of flags, CRC and local-header names."""
    out = bytearray(prefix)
    central = bytearray()
    for m in members:
        payload = m.data
        if m.method == 8:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = packer.compress(m.data) + packer.flush()
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        name, local = m.name.encode(), (m.local_name or m.name).encode()
        offset = len(out)
        out += struct.pack(
            "<4s5H3L2H",
            b"PK\x03\x04",
            20,
            m.flags,
            m.method,
            0,
            0,
            crc,
            len(payload),
            len(m.data),
            len(local),
            0,
        )
        out += local + payload
        central += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            20,
            20,
            m.flags,
            m.method,
            0,
            0,
            crc,
            len(payload),
            len(m.data),
            len(name),
            0,
            0,
            0,
            0,
            m.external_attr,
            offset,
        )
        central += name
    cd_offset = len(out)
    out += central
    count = len(members) if declared is None else declared
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), cd_offset, 0)
    return bytes(out)


def torch_zip(
    data_pkl: bytes, storages: dict[str, bytes] | None = None, *, root: str = "archive"
) -> bytes:
    """A PyTorch-style checkpoint: data.pkl, version, and stored data/N records."""
    members = [Member(f"{root}/data.pkl", data_pkl), Member(f"{root}/version", b"3\n")]
    members += [Member(f"{root}/data/{k}", v) for k, v in (storages or {}).items()]
    return zip_bytes(members)


# ---------------------------------------------------------------- tar, 7z, compression


def tar_bytes(members: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buf.getvalue()


def sevenzip_bytes(members: dict[str, bytes], *, rename: dict[str, str] | None = None) -> bytes:
    """A 7z archive; ``rename`` then rewrites names in the plain header (same length), fixing CRCs.

    py7zr refuses to write unsafe names, so traversal samples are made by renaming.
    """
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as archive:
        archive.set_encoded_header_mode(False)
        for name, data in members.items():
            archive.writestr(data, name)
    raw = bytearray(buf.getvalue())
    if not rename:
        return bytes(raw)
    offset, size = struct.unpack_from("<QQ", raw, 12)
    start = 32 + offset
    header = bytes(raw[start : start + size])
    for old, new in rename.items():
        assert len(old) == len(new)
        header = header.replace(old.encode("utf-16-le"), new.encode("utf-16-le"))
    raw[start : start + size] = header
    struct.pack_into("<I", raw, 28, zlib.crc32(header))
    struct.pack_into("<I", raw, 8, zlib.crc32(bytes(raw[12:32])))
    return bytes(raw)


def compress(data: bytes, kind: str) -> bytes:
    import bz2
    import lzma

    if kind == "gzip":
        return gzip.compress(data)
    if kind == "bzip2":
        return bz2.compress(data)
    if kind == "xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ)
    if kind == "lzma":
        return lzma.compress(data, format=lzma.FORMAT_ALONE)
    return zlib.compress(data)


# ---------------------------------------------------------------- numpy


def npy_bytes(
    descr: str | list[tuple[str, str]], shape: tuple[int, ...], payload: bytes, *, version: int = 1
) -> bytes:
    header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    pad = 64 - (len(header) + 11) % 64
    text = (header + " " * pad + "\n").encode("latin1")
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text + payload


# ---------------------------------------------------------------- legacy torch

LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
PROTOCOL_1001 = b"\x80\x02M\xe9\x03."
SYS_INFO = b"\x80\x02}q\x00X\x0d\x00\x00\x00little_endianq\x01\x88s."
KEYS = b"\x80\x02]q\x00X\x01\x00\x00\x000q\x01a."


def legacy_sequence(payload_at: int | None, canary: str, storage: bytes = b"\x00" * 64) -> bytes:
    """A legacy ``torch.save`` file; ``payload_at`` (0-4) replaces one of its five pickles."""
    pickles = [LEGACY_MAGIC, PROTOCOL_1001, SYS_INFO, dict_pickle(), KEYS]
    if payload_at is not None:
        pickles[payload_at] = system_pickle(canary, proto=2)
    return b"".join(pickles) + struct.pack("<q", len(storage) // 4) + storage


def _storage_record(key: str) -> bytes:
    """``(key, 'cpu', torch.FloatStorage)``."""
    return b"\x80\x02" + _unicode(key) + _unicode("cpu") + b"ctorch\nFloatStorage\n" + b"\x87q\x00."


def legacy_tar(payload_in: str | None, canary: str) -> bytes:
    """A legacy torch tar; ``payload_in`` names the member whose first pickle is the payload."""
    evil = system_pickle(canary, proto=2)
    storages = int_pickle(1) + _storage_record("0") + struct.pack("<q", 4) + b"\x00" * 16
    storages += b"\x80\x02]q\x00."  # storage views
    tensors = int_pickle(1) + b"\x80\x02" + _unicode("t0") + b"X\x01\x00\x00\x000K\x00\x87q\x00."
    tensors += struct.pack("<i", 1) + b"\x00" * 4 + struct.pack("<qq", 4, 1) + struct.pack("<q", 0)
    members = {
        "sys_info": SYS_INFO,
        "pickle": dict_pickle(),
        "storages": storages,
        "tensors": tensors,
    }
    if payload_in in ("storages", "tensors"):
        members[payload_in] = evil + members[payload_in][len(int_pickle(1)) :]
    elif payload_in is not None:
        members[payload_in] = evil
    return tar_bytes(members)


# ---------------------------------------------------------------- gguf

GGUF_STRING, GGUF_ARRAY, GGUF_U32 = 8, 9, 4


def _gguf_str(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def gguf_bytes(
    metadata: dict[str, str | int],
    tensors: list[tuple[str, list[int], int, int]] | None = None,
    *,
    data: bytes = b"\x00" * 64,
) -> bytes:
    """GGUF v3 with string/u32 metadata and (name, dims, ggml type, offset) tensor infos."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors or []), len(metadata)))
    for key, value in metadata.items():
        out += _gguf_str(key)
        if isinstance(value, int):
            out += struct.pack("<II", GGUF_U32, value)
        else:
            out += struct.pack("<I", GGUF_STRING) + _gguf_str(value)
    for name, dims, kind, offset in tensors or []:
        out += _gguf_str(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", kind, offset)
    out += b"\x00" * (-len(out) % 32)
    return bytes(out + data)


# ---------------------------------------------------------------- safetensors


def safetensors_bytes(
    header: dict[str, object] | str, data: bytes, *, length: int | None = None
) -> bytes:
    raw = (header if isinstance(header, str) else json.dumps(header)).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data

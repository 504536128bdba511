"""Decide what an archive member is from its first bytes, without reading payloads it need not.

Small members are read whole; large ones are judged by a head. Tensor storage records, which
loaders read as raw bytes, count as pickles only on strong evidence, so weights that happen to
start like a pickle are not misread.
"""

from __future__ import annotations

import io
import pickletools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from modelward.engine.identify.formats import detect_bytes
from modelward.engine.scan.context import PICKLE_FORMATS

HEAD_BYTES: Final = 16 << 10
WHOLE_BYTES: Final = 64 << 10
PROBE_BYTES: Final = 1 << 20
STRONG_OPS: Final = 16
#: Formats the dispatcher analyses; anything else in an archive is data to its loaders.
ANALYSABLE: Final = PICKLE_FORMATS | frozenset({
    "pytorch-zip", "zip", "numpy-npz", "keras", "skops", "tar", "pytorch-legacy-tar", "7z",
    "gzip", "bzip2", "xz", "lzma", "zlib", "numpy-npy", "hdf5", "tf-savedmodel", "onnx", "gguf",
    "safetensors", "tf-savedmodel-text", "keras-metadata",
})  # fmt: skip
_PROTO01_FIRST: Final = frozenset(b"(cil}])NSVIFLGJKMUTX")
_CONTROL: Final = bytes(range(9)) + bytes(range(14, 32)) + b"\x7f"
_SHORT: Final = 64
_SAMPLE: Final = 1024
STORAGE_HEAD: Final = 512
#: Magic numbers strong enough to trust inside a tensor storage record.
_STRONG_MAGIC: Final = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"7z\xbc\xaf\x27\x1c",
    b"\x93NUMPY",
    b"GGUF",
    b"\x89HDF\r\n\x1a\n",
    b"\xfd7zXZ\x00",
)
_HDF5_OFFSETS: Final = (512, 1024, 2048, 4096, 8192)
_CALL_OPS: Final = frozenset({
    "GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2",
    "EXT4", "BUILD",
})  # fmt: skip
_DECODE_ERRORS = (ValueError, UnicodeDecodeError, EOFError, OverflowError, IndexError)


@dataclass(frozen=True)
class Sniffed:
    """The member's format, and its whole content when that was small enough to read."""

    fmt: str
    data: bytes | None


def strong_pickle(head: bytes, whole: bool) -> bool:
    """True when ``head`` decodes as a pickle that imports or calls something, and either ends
    or (if cut) runs long without error. Random bytes almost never do both."""
    buf = io.BytesIO(head)
    count, calls = 0, False
    try:
        for opcode, _arg, _pos in pickletools.genops(buf):
            count += 1
            calls = calls or opcode.name in _CALL_OPS
            if opcode.name == "STOP":
                return calls
    except _DECODE_ERRORS:
        return calls and not whole and buf.tell() >= len(head) and count >= STRONG_OPS
    return False


def detect_head(head: bytes) -> str:
    """``detect_bytes`` without its text scan on bytes that cannot be text.

    Over 3% control bytes rules text out, so only the magic, pickle and protobuf checks apply,
    and those need no more than the first bytes (tar and HDF5 with a user block excepted).
    """
    sample = head[:_SAMPLE]
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    far_magic = head[257:262] == b"ustar" or any(
        head[o : o + 8] == b"\x89HDF\r\n\x1a\n" for o in _HDF5_OFFSETS
    )
    if controls * 100 > 3 * len(sample) and not far_magic:
        return detect_bytes(head[:_SHORT])
    return detect_bytes(head)


def sniff_storage(read: Callable[[int], bytes]) -> Sniffed:
    """A tensor storage record: raw bytes to its loader, so only strong evidence counts.

    A pickle must decode to its STOP (or run long without error); other formats need a magic
    number of four bytes or more. Weights that happen to start like something are left alone.
    """
    head = read(STORAGE_HEAD)
    whole = len(head) < STORAGE_HEAD
    if head.startswith(_STRONG_MAGIC):
        return Sniffed(detect_head(read(HEAD_BYTES)), None)
    if head[:1] and (head[0] == 0x80 or head[0] in _PROTO01_FIRST) and strong_pickle(head, whole):
        return Sniffed("pickle", head if whole else None)
    return Sniffed("data", None)


def sniff(read: Callable[[int], bytes], declared: int, *, storage: bool = False) -> Sniffed:
    """Sniff a member of claimed size ``declared``; ``read(n)`` returns its first n bytes."""
    if storage:
        return sniff_storage(read)
    want = WHOLE_BYTES if declared <= WHOLE_BYTES else HEAD_BYTES
    head = read(want)
    whole = len(head) < want
    fmt = detect_head(head)
    if not whole and fmt not in ANALYSABLE and head[:1] and head[0] in _PROTO01_FIRST:
        fmt = detect_bytes(read(PROBE_BYTES))
    return Sniffed(fmt, head if whole else None)

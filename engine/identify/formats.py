"""Detect a file's format from its content, and the format its name claims.

Detection reads a bounded head of the file (and, for zip and tar, their directories). It never
unpickles or loads anything: pickles are recognised by walking their opcodes
(``pickle_probe``), which only parses.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import re
import struct
import zipfile
import zlib
from pathlib import PurePosixPath
from typing import BinaryIO, Final

from modelward.engine.identify import pickle_probe, protowire

HEAD_BYTES: Final = 1 << 16
PICKLE_PROBE_BYTES: Final = 1 << 20
MAX_ZIP_NAMES: Final = 100_000
ZIP_EOCD_SEARCH: Final = 22 + 0xFFFF  # the record plus the longest comment

#: Formats whose loaders can run code from the file itself.
CODE_EXECUTING: Final = frozenset({
    "pickle", "pytorch-zip", "pytorch-legacy", "pytorch-legacy-tar", "joblib", "numpy-npy",
    "numpy-npz", "keras", "hdf5", "tf-savedmodel", "skops",
})  # fmt: skip

#: Formats that hold only data and metadata by design.
DATA_ONLY: Final = frozenset({"safetensors", "gguf", "onnx"})

# Legacy torch.save() starts with a pickled magic number, 0x1950a86a20f9469cfc6c.
TORCH_LEGACY_MAGIC: Final = b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
MAGIC: Final = (
    (b"\x93NUMPY", "numpy-npy"),
    (b"GGUF", "gguf"),
    (b"\x89HDF\r\n\x1a\n", "hdf5"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"%PDF-", "pdf"),
    (b"\x7fELF", "elf"),
    (b"GIF8", "gif"),
)
COMPRESSED: Final = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x5d\x00\x00", "lzma"),
)
HDF5_SUPERBLOCK_OFFSETS: Final = (0, 512, 1024, 2048, 4096, 8192)
#: Signatures of formats that run no code; a loader of another format may still read the file.
PREFIX_ONLY: Final = frozenset({"png", "jpeg", "pdf", "elf", "gif"})
#: joblib's compressed format before 0.10: ``ZF``, the hex length, then zlib data.
JOBLIB_ZFILE: Final = b"ZF0x"
PICKLE_KINDS: Final = frozenset({"pickle", "joblib", "pytorch-legacy"})
ZIP_KINDS: Final = frozenset({"zip", "pytorch-zip", "numpy-npz", "keras", "skops"})

EXTENSION_CLAIMS: Final = {
    ".safetensors": "safetensors", ".gguf": "gguf", ".onnx": "onnx",
    ".pt": "pytorch", ".pth": "pytorch", ".bin": "pytorch", ".ckpt": "pytorch", ".mar": "zip",
    ".pkl": "pickle", ".pickle": "pickle", ".p": "pickle", ".dill": "pickle",
    ".joblib": "joblib", ".jbl": "joblib", ".npy": "numpy-npy", ".npz": "numpy-npz",
    ".keras": "keras", ".h5": "hdf5", ".hdf5": "hdf5", ".pb": "protobuf", ".skops": "skops",
    ".zip": "zip", ".7z": "7z", ".tar": "tar", ".gz": "gzip", ".bz2": "bzip2", ".xz": "xz",
    ".lzma": "lzma", ".z": "zlib", ".json": "json", ".yaml": "yaml", ".yml": "yaml",
    ".txt": "text", ".md": "text", ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg",
}  # fmt: skip

#: What each claimed format may legitimately contain.
CLAIM_ALLOWS: Final = {
    "pytorch": {"pytorch-zip", "pytorch-legacy", "pytorch-legacy-tar", "pickle"},
    "pickle": {"pickle", "joblib", "pytorch-legacy"},
    "joblib": {"joblib", "pickle"},
    "protobuf": {"tf-savedmodel", "onnx", "protobuf"},
    "zip": {"zip", "pytorch-zip", "numpy-npz", "keras", "skops"},
    "hdf5": {"hdf5"},
    "json": {"json"},
    "yaml": {"yaml", "text", "json"},
    "text": {"text", "json", "yaml", "markdown"},
    "gzip": {"gzip", "joblib"}, "bzip2": {"bzip2", "joblib"}, "xz": {"xz", "joblib"},
    "lzma": {"lzma", "joblib"}, "zlib": {"zlib", "joblib"},
}  # fmt: skip


def claimed_format(path: str) -> str | None:
    """The format the file name claims, from its extension (``None`` if it claims none)."""
    return EXTENSION_CLAIMS.get(PurePosixPath(path).suffix.lower())


def is_mismatch(detected: str, claimed: str | None) -> bool:
    """True when the content is not something the extension may legitimately hold."""
    if claimed is None:
        return False
    return detected not in CLAIM_ALLOWS.get(claimed, {claimed})


def detect(fp: BinaryIO, size: int) -> str:
    """Detect the format of a seekable binary stream of ``size`` bytes from its content.

    Where several loaders would accept the file, the one that can run code wins: a zip found
    from the end, or an HDF5 superblock after a user block, outranks an image or PDF signature
    at the start (``alternates`` names the other readings).
    """
    if size == 0:
        return "empty"
    fp.seek(0)
    head = fp.read(HEAD_BYTES)
    for magic, name in MAGIC:
        if head.startswith(magic) and name not in PREFIX_ONLY:
            return name
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(fp)
    if _is_hdf5(fp, size):
        return "hdf5"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return _tar_kind(fp)  # a tar holding a zip: tarfile reads the tar, zipfile the zip
    if _has_zip_directory(fp, size):
        return _zip_kind(fp)  # bytes prepended to a zip: zip readers find it from the end
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    return _unsigned_kind(fp, size, head)


def _unsigned_kind(fp: BinaryIO, size: int, head: bytes) -> str:
    """Formats recognised without a leading signature: wrappers, pickles, text."""
    for magic, name in COMPRESSED:
        if head.startswith(magic):
            return _compressed_kind(head, name)
    if head.startswith(JOBLIB_ZFILE):
        return "joblib"
    if _is_zlib(head):
        return _compressed_kind(head, "zlib")
    if _is_safetensors(head):
        return "safetensors"
    if _looks_like_pickle(fp, size, head):
        return _pickle_kind(head)
    return _protobuf_or_text(head, truncated=size > len(head))


def alternates(fp: BinaryIO, size: int, detected: str) -> list[str]:
    """Other formats whose loaders accept this file: a pickle loader reads from the start
    whatever else the file is, and zip readers find an archive from its end."""
    found: list[str] = []
    if detected not in PICKLE_KINDS:
        fp.seek(0)
        if _looks_like_pickle(fp, size, fp.read(HEAD_BYTES)):
            found.append("pickle")
    if detected not in ZIP_KINDS and detected not in ("empty",) and _has_zip_directory(fp, size):
        found.append(_zip_kind(fp))
    return found


def detect_bytes(data: bytes) -> str:
    """``detect`` for an in-memory buffer."""
    return detect(io.BytesIO(data), len(data))


def _zip_kind(fp: BinaryIO) -> str:
    try:
        fp.seek(0)
        with zipfile.ZipFile(fp) as archive:
            names = archive.namelist()[:MAX_ZIP_NAMES]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return "zip"  # the scanner reads broken zips the way PyTorch does
    base = {PurePosixPath(n).name for n in names}
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "pytorch-zip"
    if {"config.json", "metadata.json"} <= base:
        return "keras"
    if "schema.json" in base:
        return "skops"
    if names and all(n.endswith(".npy") for n in names):
        return "numpy-npz"
    return "zip"


def _has_zip_directory(fp: BinaryIO, size: int) -> bool:
    """True when an end-of-central-directory record sits where zip readers look for it and
    points at a central directory record."""
    tail = min(size, ZIP_EOCD_SEARCH)
    fp.seek(size - tail)
    data = fp.read(tail)
    pos = data.rfind(b"PK\x05\x06")
    while pos >= 0:
        record = data[pos : pos + 22]
        if len(record) == 22 and _points_at_directory(fp, size, size - tail + pos, record):
            return True
        pos = data.rfind(b"PK\x05\x06", 0, pos)
    return False


def _points_at_directory(fp: BinaryIO, size: int, eocd: int, record: bytes) -> bool:
    entries, cd_size, cd_offset = (int(v) for v in struct.unpack_from("<HLL", record, 10))
    if entries == 0:
        return cd_size == 0
    for start in (cd_offset, eocd - cd_size):  # as written, or shifted by prepended bytes
        if 0 <= start < size:
            fp.seek(start)
            if fp.read(4) == b"PK\x01\x02":
                return True
    return False


def _tar_kind(fp: BinaryIO) -> str:
    import tarfile  # only files with a tar header pay for the module

    try:
        fp.seek(0)
        with tarfile.open(fileobj=fp, mode="r:") as archive:
            names = {m.name for m in archive.getmembers()[:64]}
    except (tarfile.TarError, OSError, ValueError, EOFError, NotImplementedError):
        return "tar"
    return "pytorch-legacy-tar" if {"pickle", "storages", "tensors"} <= names else "tar"


def _is_hdf5(fp: BinaryIO, size: int) -> bool:
    for offset in HDF5_SUPERBLOCK_OFFSETS[1:]:
        if offset + 8 > size:
            break
        fp.seek(offset)
        if fp.read(8) == b"\x89HDF\r\n\x1a\n":
            return True
    return False


def _is_zlib(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0


def _decompress_head(head: bytes, kind: str) -> bytes:
    """Up to 64 KiB of decompressed output from the compressed ``head``."""
    decompressor: zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor
    if kind == "gzip":
        decompressor = zlib.decompressobj(wbits=31)
    elif kind == "zlib":
        decompressor = zlib.decompressobj()
    elif kind == "bzip2":
        decompressor = bz2.BZ2Decompressor()
    else:
        decompressor = lzma.LZMADecompressor(lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)
    try:
        return decompressor.decompress(head, HEAD_BYTES)
    except (OSError, ValueError, EOFError, lzma.LZMAError, zlib.error):
        return b""


def _compressed_kind(head: bytes, kind: str) -> str:
    inner = _decompress_head(head, kind)
    if inner and _looks_like_pickle(io.BytesIO(inner), len(inner), inner):
        return "joblib"
    return kind


def _is_safetensors(head: bytes) -> bool:
    """An 8-byte length, then a JSON object whose first key (or end) follows."""
    body = head[8:64].lstrip(b" \t\r\n")
    return len(head) >= 10 and body[:1] == b"{" and body[1:].lstrip(b" \t\r\n")[:1] in b'"}'


def _pickle_kind(head: bytes) -> str:
    if TORCH_LEGACY_MAGIC in head[:16]:
        return "pytorch-legacy"
    if b"joblib.numpy_pickle" in head or b"NumpyArrayWrapper" in head:
        return "joblib"
    return "pickle"


def _looks_like_pickle(fp: BinaryIO, size: int, head: bytes) -> bool:
    """Strong evidence only: a protocol 2+ header, or opcodes that end or import cleanly."""
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    return pickle_probe.probe(fp, size).is_pickle


def _protobuf_or_text(head: bytes, *, truncated: bool) -> str:
    text = _as_text(head)
    if text is not None:
        return _text_kind(text, truncated=truncated)
    try:
        numbers = {n for n, _ in protowire.field_numbers(head)}
    except protowire.WireError:
        return "unknown"
    if numbers & {7, 8} and 1 in numbers:
        return "onnx"  # ModelProto: ir_version plus graph / opset_import
    if numbers == {2} and _is_savedmodel_meta_graph(head):
        return "tf-savedmodel"
    if numbers <= {1, 2} and 2 in numbers and _is_savedmodel_meta_graph(head):
        return "tf-savedmodel"
    return "protobuf"


def _is_savedmodel_meta_graph(buf: bytes) -> bool:
    """SavedModel field 2 is a MetaGraphDef whose field 2 is the GraphDef."""
    try:
        for number, wire, value in protowire.fields(buf):
            if number == 2 and wire == protowire.LEN and isinstance(value, bytes):
                inner = {n for n, _ in protowire.field_numbers(value)}
                return bool(inner) and inner <= {1, 2, 3, 4, 5, 6, 7, 8}
    except protowire.WireError:
        return False
    return False


def _as_text(head: bytes) -> str | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut by the head is fine
            return None
        text = head[: exc.start].decode("utf-8")
    if not text:
        return None
    if text.translate(_LAYOUT).isprintable():  # the usual case, without a loop per character
        return text
    printable = sum(c.isprintable() or c in "\r\n\t" for c in text)
    return text if printable / len(text) > 0.97 else None


#: Line breaks and tabs, which text may hold though ``str.isprintable`` says otherwise.
_LAYOUT: Final = str.maketrans("", "", "\r\n\t")


#: A Git LFS pointer file: what a clone without git-lfs holds in place of the real content.
LFS_POINTER_PREFIX: Final = "version https://git-lfs.github.com/spec/"
_YAML_LINE = re.compile(r"^(?:\s|-\s|-$|#|[\w\"'./-]+:(?:\s|$))")


def _text_kind(text: str, *, truncated: bool) -> str:
    if text.startswith(LFS_POINTER_PREFIX):
        return "lfs-pointer"
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        if truncated:  # only the head was read: judge by how the document starts
            second = stripped[1:].lstrip()[:1]
            return "json" if second and second in '"{[]}-0123456789tfn' else "text"
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            return "text"
        return "json"
    if stripped.startswith("---") and _is_front_matter_document(stripped):
        return "markdown"
    if stripped.startswith("---") or (stripped.split(":", 1)[0].isidentifier() and ":" in text):
        return "yaml"
    return "text"


def _is_front_matter_document(text: str) -> bool:
    """A ``---`` YAML block followed by prose (a model card), not a YAML stream."""
    lines = text.splitlines()
    try:
        close = lines.index("---", 1)
    except ValueError:
        return False
    body = [line for line in lines[close + 1 :] if line.strip() and line.strip() != "---"]
    return any(_YAML_LINE.match(line) is None for line in body)

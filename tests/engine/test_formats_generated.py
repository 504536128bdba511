"""Detection of formats the corpus lacks, from bytes written by the tests."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import struct
import tarfile
import zipfile
import zlib

import pytest

from modelward.engine.identify.formats import TORCH_LEGACY_MAGIC, detect_bytes

PICKLE_P2 = b"\x80\x02]q\x00."  # an empty list, protocol 2
PICKLE_P0 = b"(lp0\nS'a'\np1\na."  # ['a'], protocol 0, no PROTO header
PICKLE_P1 = b"]q\x00(K\x01K\x02e."  # [1, 2], protocol 1, no PROTO header


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _safetensors(header: dict[str, object], data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (PICKLE_P2, "pickle"),
        (PICKLE_P0, "pickle"),
        (PICKLE_P1, "pickle"),
        (b"\x80\x05\x95\x0b\x00\x00\x00\x00\x00\x00\x00]\x94.", "pickle"),
        (b"\x80\x02" + TORCH_LEGACY_MAGIC + b".\x80\x02M\xe9\x03.", "pytorch-legacy"),
        (b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\nq\x00.", "joblib"),
        (gzip.compress(PICKLE_P2), "joblib"),
        (zlib.compress(PICKLE_P2), "joblib"),
        (bz2.compress(PICKLE_P2), "joblib"),
        (lzma.compress(PICKLE_P2), "joblib"),
        (lzma.compress(PICKLE_P2, format=lzma.FORMAT_ALONE), "joblib"),
        (gzip.compress(b"plain text " * 20), "gzip"),
        (
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
            "numpy-npy",
        ),
        (_zip({"archive/data.pkl": PICKLE_P2, "archive/version": b"3"}), "pytorch-zip"),
        (_zip({"a.npy": b"\x93NUMPY", "b.npy": b"\x93NUMPY"}), "numpy-npz"),
        (_zip({"config.json": b"{}", "metadata.json": b"{}", "model.weights.h5": b""}), "keras"),
        (_zip({"notes.txt": b"hi"}), "zip"),
        (
            _tar(
                {
                    "sys_info": PICKLE_P2,
                    "pickle": PICKLE_P2,
                    "storages": PICKLE_P2,
                    "tensors": PICKLE_P2,
                }
            ),
            "pytorch-legacy-tar",
        ),
        (_tar({"readme.txt": b"hello"}), "tar"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24), "7z"),
        (b"GGUF\x03\x00\x00\x00" + bytes(16), "gguf"),
        (b"\x89HDF\r\n\x1a\n" + bytes(32), "hdf5"),
        (bytes(512) + b"\x89HDF\r\n\x1a\n" + bytes(32), "hdf5"),
        (
            _safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
            "safetensors",
        ),
        (struct.pack("<Q", 1 << 40) + b'{"w": 1}', "safetensors"),
        (b'{"a": [1, 2]}', "json"),
        (b"name: x\nlicense: mit\n", "yaml"),
        (b"just some words\n", "text"),
        (bytes(range(256)) * 4, "unknown"),
    ],
)
def test_detect(data: bytes, expected: str) -> None:
    assert detect_bytes(data) == expected


def test_text_that_starts_like_an_opcode_is_text() -> None:
    assert detect_bytes(b"cat dog\nbird\n") == "text"
    assert detect_bytes(b"I like models\n") == "text"


def test_truncated_ascii_pickle_is_still_a_pickle() -> None:
    # The loader runs os.system before it reaches the missing STOP.
    assert detect_bytes(b"cos\nsystem\n(S'ls'\ntR") == "pickle"


def test_large_text_that_starts_with_a_bracket_is_text() -> None:
    assert detect_bytes(b"[PAD]\n[unused0]\n" + b"word\n" * 20_000) == "text"
    assert detect_bytes(b'{"vocab": {' + b'"w": 1, ' * 20_000 + b"}}") == "json"


def test_zip_claiming_an_unsupported_version_is_still_a_zip() -> None:
    # Found by fuzzing: zipfile raises NotImplementedError for "zip file version 23.5".
    data = _zip({"a.npy": b"\x80\x02cos\nsystem\n."})
    central = data.rindex(b"PK\x01\x02")
    data = data[: central + 6] + b"\xeb\x00" + data[central + 8 :]  # version needed: 23.5
    assert detect_bytes(data) in ("zip", "numpy-npz")


def test_zip_with_prepended_bytes_is_detected() -> None:
    polyglot = b"this looks like text\n" * 10 + _zip({"archive/data.pkl": PICKLE_P2})
    assert detect_bytes(polyglot) == "pytorch-zip"


@pytest.mark.parametrize(
    ("text", "is_text"),
    [
        ("line one\r\nline two\tcolumn\n", True),  # layout characters count as text
        ("\n\n\t", True),
        ("a" * 980 + "\x00" * 20, True),  # 2% control characters: still text
        ("a" * 960 + "\x00" * 40, False),  # 4%: not text
        ("word " * 200 + "\u200b" * 10, True),  # a few format characters (Cf) in prose
        ("\x01\x02\x03" * 100, False),
    ],
)
def test_text_is_told_by_the_share_of_printable_characters(text: str, is_text: bool) -> None:
    from modelward.engine.identify.formats import _as_text

    assert (_as_text(text.encode()) is not None) is is_text

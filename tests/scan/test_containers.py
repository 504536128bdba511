"""Containers: zip read as PyTorch reads it, tar, 7z, compression wrappers, numpy, legacy torch.

Most tests replace the pickle analyser with a recorder and assert that the payload stream reached
it from the right member; ``real_analyser`` tests also check the final severity.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from pathlib import Path

import pytest

from modelward.engine.scan import Limits, scan_bytes, scan_stream
from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.pickles import vm as pickle_vm
from tests.scan import builders as b
from tests.scan.scanning import Recorder, Scan, scan_path

real_analyser = pytest.mark.skipif(
    "Placeholder" in (pickle_vm.__doc__ or ""), reason="the pickle analyser is not present yet"
)

ZIP_VARIANTS = {
    "plain": lambda p: [b.Member("archive/data.pkl", p)],
    "flag_0x20": lambda p: [b.Member("model/config.pkl", p, flags=0x20)],
    "encryption_flag_plaintext": lambda p: [b.Member("archive/data.pkl", p, flags=0x1)],
    "bad_crc": lambda p: [b.Member("archive/data.pkl", p, crc=0xDEADBEEF)],
    "name_mismatch": lambda p: [b.Member("archive/data.pkl", p, local_name="archive/datap.kl")],
    "txt_extension": lambda p: [b.Member("data.txt", p)],
    "no_extension": lambda p: [b.Member("weights", p)],
    "png_extension": lambda p: [b.Member("preview.png", p)],
    "control_chars": lambda p: [b.Member("odd\x01name", p)],
    "deflated": lambda p: [b.Member("archive/data.pkl", p, method=8)],
    "deflated_and_flagged": lambda p: [b.Member("x.bin", p, method=8, flags=0x28)],
    "behind_benign_member": lambda p: [b.Member("README", b"hello\n"), b.Member("a/b/c", p)],
}


@pytest.mark.parametrize("variant", sorted(ZIP_VARIANTS))
@pytest.mark.parametrize("proto", [0, 2, 4])
def test_zip_variants_reach_the_analyser(
    variant: str, proto: int, scan: Scan, recorder: Recorder, canary: str
) -> None:
    members = ZIP_VARIANTS[variant](b.system_pickle(canary, proto=proto))
    scan(b.zip_bytes(members), "model.pt")
    assert recorder.saw(b"touch " + canary.encode(), members[-1].name)


@pytest.mark.parametrize("variant", sorted(ZIP_VARIANTS))
def test_zip_benign_twins_stay_clean(variant: str, scan: Scan, recorder: Recorder) -> None:
    members = ZIP_VARIANTS[variant](b.dict_pickle())
    scanned = scan(b.zip_bytes(members), "model.pt")
    assert recorder.saw(b"}q\x00X", members[-1].name)
    assert scanned.worst <= (2 if variant == "name_mismatch" else 1), scanned.result.findings


@real_analyser
@pytest.mark.parametrize("variant", sorted(ZIP_VARIANTS))
def test_zip_variants_with_the_real_analyser(variant: str, scan: Scan, canary: str) -> None:
    bad = scan(b.zip_bytes(ZIP_VARIANTS[variant](b.system_pickle(canary))), "model.pt")
    good = scan(b.zip_bytes(ZIP_VARIANTS[variant](b.dict_pickle())), "model.pt")
    assert bad.worst >= 3
    assert good.worst <= (2 if variant == "name_mismatch" else 1), good.result.findings


def test_zip_structure_findings(scan: Scan, recorder: Recorder) -> None:
    p = b.dict_pickle()
    assert "zip.name_mismatch" in scan(b.zip_bytes([b.Member("d.pkl", p, local_name="e.pkl")])).ids
    assert "zip.bad_crc" in scan(b.zip_bytes([b.Member("d.pkl", p, crc=1)])).ids
    assert "zip.encryption_flag" in scan(b.zip_bytes([b.Member("d.pkl", p, flags=1)])).ids
    dup = scan(b.zip_bytes([b.Member("d.pkl", p), b.Member("d.pkl", p)]))
    assert "zip.duplicate_name" in dup.ids
    assert "zip.entry_count_mismatch" in scan(b.zip_bytes([b.Member("d.pkl", p)], declared=3)).ids
    link = scan(b.zip_bytes([b.Member("l", b"/etc/passwd", external_attr=0o120777 << 16)]))
    assert "zip.symlink" in link.ids


@pytest.mark.parametrize(
    "name", ["../../../etc/evil.txt", "/etc/evil.txt", "a/../../x", "C:\\x", "..\\..\\x"]
)
def test_zip_path_traversal(name: str, scan: Scan, recorder: Recorder) -> None:
    scanned = scan(b.zip_bytes([b.Member(name, b"text"), b.Member("ok.txt", b"text")]), "a.zip")
    high = [f for f in scanned.result.findings if f.id == "zip.path_traversal"]
    assert len(high) == 1 and high[0].severity == "high" and high[0].member == name
    assert scan(b.zip_bytes([b.Member("dir/ok..txt", b"x")]), "a.zip").worst < 3


def test_encrypted_member_is_incomplete_not_alarming(scan: Scan, recorder: Recorder) -> None:
    scanned = scan(
        b.zip_bytes([b.Member("test.txt", os.urandom(12) + b"\x91\x02", flags=1)]), "a.zip"
    )
    assert "zip.encrypted" in scanned.ids and scanned.worst <= 1
    assert not scanned.result.complete


def test_zip_without_central_directory_falls_back_to_local_headers(
    scan: Scan, recorder: Recorder, canary: str
) -> None:
    data = b.zip_bytes([b.Member("archive/data.pkl", b.system_pickle(canary))])
    truncated = data[: data.index(b"PK\x01\x02")]
    scanned = scan(truncated, "model.pt")
    assert "zip.no_central_directory" in scanned.ids and not scanned.result.complete
    assert recorder.saw(b"touch")


def test_zip_with_prepended_bytes(recorder: Recorder, canary: str) -> None:
    data = b.zip_bytes(
        [b.Member("archive/data.pkl", b.system_pickle(canary))], prefix=b"#!/bin/sh\n" * 3
    )
    ctx = ScanContext.top("model.keras")
    scan_stream(io.BytesIO(data), len(data), "zip", ctx)
    assert recorder.saw(b"touch")


def test_nested_archives_and_depth_limit(scan: Scan, recorder: Recorder, canary: str) -> None:
    inner = b.zip_bytes([b.Member("archive/data.pkl", b.system_pickle(canary))])
    for level in range(6):
        inner = b.zip_bytes([b.Member(f"level{level}.zip", inner)])
    shallow = scan(inner, "a.zip", Limits(max_nesting_depth=10))
    assert recorder.saw(b"touch") and shallow.result.complete
    deep = scan(inner, "a.zip", Limits(max_nesting_depth=3))
    assert "archive.limit.depth" in deep.ids and not deep.result.complete


def test_member_count_limit(scan: Scan, recorder: Recorder) -> None:
    data = b.zip_bytes([b.Member(f"f{i}.txt", b"x") for i in range(20)])
    scanned = scan(data, "a.zip", Limits(max_archive_members=5))
    assert "archive.limit.members" in scanned.ids and not scanned.result.complete


def test_decompression_limit(scan: Scan, recorder: Recorder) -> None:
    bomb = b"\x80\x04" + b"\x00" * (8 << 20)
    scanned = scan(
        b.zip_bytes([b.Member("data.pkl", bomb, method=8)]),
        "a.zip",
        Limits(max_decompressed_bytes=1 << 20),
    )
    assert "archive.limit.decompressed" in scanned.ids and not scanned.result.complete
    assert all(len(data) <= 1 << 20 for data, _ in recorder.calls)


def test_tensor_storages_are_not_misread_as_pickles(
    scan: Scan, recorder: Recorder, canary: str
) -> None:
    looks_like_pickle = b"\x80\x02" + bytes(range(256)) * 512  # float data starting 0x80 0x02
    data = b.torch_zip(b.dict_pickle(), {"0": looks_like_pickle, "1": b"\x80\x03\x00\x01" * 8})
    scanned = scan(data, "model.pt")
    assert recorder.members == ["archive/data.pkl"]
    assert scanned.worst <= 1
    real = b.torch_zip(b.dict_pickle(), {"0": b.system_pickle(canary)})
    scan(real, "model.pt")
    assert recorder.saw(b"touch", "archive/data/0")


# ---------------------------------------------------------------- tar, 7z, compression


def test_tar_members_and_traversal(scan: Scan, recorder: Recorder, canary: str) -> None:
    data = b.tar_bytes(
        {"model/weights.pkl": b.system_pickle(canary), "../../evil": b"x", "/abs/path": b"y"},
        links={"link": "/etc/passwd"},
    )
    scanned = scan(data, "model.tar")
    assert recorder.saw(b"touch", "model/weights.pkl")
    assert {"tar.path_traversal", "tar.link_traversal"} <= scanned.ids
    benign = scan(b.tar_bytes({"model/weights.pkl": b.dict_pickle(), "a/b.txt": b"x"}), "model.tar")
    assert benign.worst <= 1 and benign.result.complete


@pytest.mark.parametrize("member", [None, "sys_info", "pickle", "storages", "tensors"])
def test_legacy_torch_tar(member: str | None, scan: Scan, recorder: Recorder, canary: str) -> None:
    scanned = scan(b.legacy_tar(member, canary), "model.pt")
    assert scanned.fmt == "pytorch-legacy-tar"
    if member is None:
        assert not recorder.saw(b"touch") and scanned.result.complete and scanned.worst <= 1
        assert set(recorder.members) == {"sys_info", "pickle", "storages", "tensors"}
        assert sum(m == "storages" for m in recorder.members) == 3
    else:
        assert recorder.saw(b"touch " + canary.encode(), member)


@pytest.mark.parametrize("position", [None, 0, 1, 2, 3, 4])
def test_legacy_torch_sequence(
    position: int | None, scan: Scan, recorder: Recorder, canary: str
) -> None:
    data = b.legacy_sequence(position, canary, storage=b"\xff" * 4096)
    scanned = scan(data, "model.pt")
    assert recorder.saw(b"touch") == (position is not None)
    if position == 0:  # no magic number: a plain pickle to detection, analysed whole
        assert scanned.fmt == "pickle"
        return
    assert scanned.fmt == "pytorch-legacy"
    assert len(recorder.calls) == 1 and b"\xff" * 8 not in recorder.calls[0][0]


def test_sevenzip(scan: Scan, recorder: Recorder, canary: str) -> None:
    scanned = scan(b.sevenzip_bytes({"inner/model.bin": b.system_pickle(canary)}), "m.7z")
    assert scanned.fmt == "7z" and recorder.saw(b"touch", "inner/model.bin")
    benign = scan(b.sevenzip_bytes({"inner/model.bin": b.dict_pickle(), "r.txt": b"x"}), "m.7z")
    assert benign.worst <= 1 and benign.result.complete


def test_sevenzip_path_traversal(scan: Scan, recorder: Recorder, canary: str) -> None:
    members = {"xx/xx/evil.pkl": b.system_pickle(canary), "ok.pkl": b.dict_pickle()}
    scanned = scan(b.sevenzip_bytes(members, rename={"xx/xx/evil.pkl": "../../evil.pkl"}), "m.7z")
    found = [f for f in scanned.result.findings if f.id == "7z.path_traversal"]
    assert found and found[0].severity == "high" and found[0].member == "../../evil.pkl"
    assert not scanned.result.complete


def test_sevenzip_encrypted(tmp_path: Path, scan: Scan, recorder: Recorder) -> None:
    import io

    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password="secret") as archive:
        archive.writestr(b.dict_pickle(), "model.pkl")
    scanned = scan(buf.getvalue(), "m.7z")
    assert "7z.encrypted" in scanned.ids and scanned.worst <= 1 and not scanned.result.complete


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz", "lzma", "zlib"])
def test_compressed_wrappers(kind: str, scan: Scan, recorder: Recorder, canary: str) -> None:
    scan(b.compress(b.system_pickle(canary), kind), "model.joblib")
    assert recorder.saw(b"touch")
    benign = scan(b.compress(b.dict_pickle(), kind), "model.joblib")
    assert benign.worst <= 1 and benign.result.complete


def test_compressed_limits_and_breaks(scan: Scan, recorder: Recorder, canary: str) -> None:
    bomb = b.compress(b"\x80\x04" + b"\x00" * (4 << 20), "gzip")
    limited = scan(bomb, "m.joblib", Limits(max_decompressed_bytes=1 << 20))
    assert "archive.limit.decompressed" in limited.ids and not limited.result.complete
    broken = b.compress(b.system_pickle(canary) + os.urandom(4096), "gzip")[:-2000]
    cut = scan(broken, "m.joblib")
    assert "compressed.corrupt" in cut.ids and not cut.result.complete
    assert recorder.saw(b"touch")


@pytest.mark.parametrize("kind", ["gzip", "xz"])
def test_tar_inside_compression(kind: str, scan: Scan, recorder: Recorder, canary: str) -> None:
    scan(b.compress(b.tar_bytes({"w.pkl": b.system_pickle(canary)}), kind), "m.tar.gz")
    assert recorder.saw(b"touch", "w.pkl")


# ---------------------------------------------------------------- numpy and joblib


def test_npy_object_array(scan: Scan, recorder: Recorder, canary: str) -> None:
    scanned = scan(b.npy_bytes("|O", (1,), b.system_pickle(canary, proto=2)), "a.npy")
    assert scanned.fmt == "numpy-npy" and recorder.saw(b"touch")
    plain = scan(b.npy_bytes("<f4", (2, 3), b"\x00" * 24), "a.npy")
    assert plain.result.findings == [] and plain.result.complete
    v2 = scan(b.npy_bytes("<i8", (4,), b"\x00" * 32, version=2), "a.npy")
    assert v2.result.findings == []
    structured = scan(
        b.npy_bytes([("a", "<i4"), ("b", "|O")], (1,), b.system_pickle(canary, proto=2)), "s.npy"
    )
    assert structured.fmt == "numpy-npy" and len(recorder.calls) == 2


def test_npy_header_problems(scan: Scan, recorder: Recorder) -> None:
    assert "npy.size_mismatch" in scan(b.npy_bytes("<f4", (10,), b"\x00" * 8), "a.npy").ids
    bad = b"\x93NUMPY\x01\x00" + struct.pack("<H", 30) + b"{'descr': __import__('os')}    \n"
    scanned = scan(bad, "a.npy")
    assert "npy.header_invalid" in scanned.ids and not scanned.result.complete


def test_npz_of_object_arrays(scan: Scan, recorder: Recorder, canary: str) -> None:
    evil = b.npy_bytes("|O", (1,), b.system_pickle(canary, proto=2))
    data = b.zip_bytes(
        [
            b.Member("a.npy", b.npy_bytes("<f4", (1,), b"\x00" * 4)),
            b.Member("b.npy", evil, method=8),
        ]
    )
    scanned = scan(data, "arrays.npz")
    assert scanned.fmt == "numpy-npz" and recorder.saw(b"touch", "b.npy")


def test_joblib_pickle(scan: Scan, recorder: Recorder, canary: str) -> None:
    joblib_like = (
        b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x13joblib.numpy_pickle"
        + b.system_pickle(canary)[2:]
    )
    scan(joblib_like, "model.joblib")
    assert recorder.saw(b"touch")


def test_scan_bytes_sniffs_content(recorder: Recorder, canary: str) -> None:
    result = scan_bytes(b.compress(b.system_pickle(canary), "bzip2"), file="f", member="m.txt")
    assert result.complete and recorder.saw(b"touch", "m.txt")


# ---------------------------------------------------------------- speed


def _sparse_checkpoint(path: Path, members: int, member_bytes: int) -> None:
    """A stored torch-style zip of ``members`` tensor records written sparsely."""
    central = bytearray()
    with path.open("wb") as fp:

        def add(name: str, data: bytes | None, size: int) -> None:
            offset, raw = fp.tell(), name.encode()
            crc = zlib.crc32(data) if data is not None else 0
            fp.write(
                struct.pack(
                    "<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, size, size, len(raw), 0
                )
                + raw
            )
            if data is None:
                fp.seek(size, os.SEEK_CUR)
            else:
                fp.write(data)
            central.extend(
                struct.pack(
                    "<4s6H3L5H2L",
                    b"PK\x01\x02",
                    20,
                    20,
                    0,
                    0,
                    0,
                    0,
                    crc,
                    size,
                    size,
                    len(raw),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + raw
            )

        add("archive/data.pkl", b.dict_pickle(), len(b.dict_pickle()))
        add("archive/version", b"3\n", 2)
        for index in range(members):
            add(f"archive/data/{index}", None, member_bytes)
        cd_offset = fp.tell()
        fp.write(central)
        count = members + 2
        fp.write(
            struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), cd_offset, 0)
        )


def test_one_gib_checkpoint_scans_fast(tmp_path: Path) -> None:
    path = tmp_path / "big.pt"
    _sparse_checkpoint(path, 1024, 1 << 20)
    assert path.stat().st_size > 1 << 30
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        scanned = scan_path(path)
        timings.append(time.perf_counter() - start)
    assert scanned.fmt == "pytorch-zip"
    assert min(timings) < 0.2, timings

"""A zip reader that reads archives the way PyTorch's loader does.

It trusts the central directory for names, sizes and offsets, ignores CRCs and general-purpose
flag bits, and decompresses stored/deflate (plus bzip2/lzma) members itself, so archives that
Python's ``zipfile`` refuses are still read. Every size and offset is bounds-checked.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Final

from modelward.engine.scan.containers.compressed import chunk_reader, decode
from modelward.engine.scan.context import read_at

EOCD_SIG: Final = b"PK\x05\x06"
EOCD64_SIG: Final = b"PK\x06\x06"
LOCATOR64_SIG: Final = b"PK\x06\x07"
CENTRAL_SIG: Final = b"PK\x01\x02"
LOCAL_SIG: Final = b"PK\x03\x04"
FLAG_ENCRYPTED: Final = 0x1
FLAG_UTF8: Final = 0x800
METHOD_AES: Final = 99
SUPPORTED_METHODS: Final = frozenset({0, 8, 12, 14})
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")


class ZipError(ValueError):
    """A zip structure that cannot be followed."""


@dataclass(slots=True)
class ZipEntry:
    """One central-directory record, plus what its local header says."""

    name: str
    flags: int
    method: int
    compressed_size: int
    size: int
    header_offset: int
    external_attr: int
    local_name: str | None = None
    data_offset: int = -1
    crc: int = 0

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & FLAG_ENCRYPTED) or self.method == METHOD_AES

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/") and self.size == 0

    @property
    def is_symlink(self) -> bool:
        return (self.external_attr >> 16) & 0o170000 == 0o120000


@dataclass
class Directory:
    entries: list[ZipEntry]
    declared: int
    truncated: bool


def _decode(raw: bytes, flags: int) -> str:
    return raw.decode("utf-8" if flags & FLAG_UTF8 else "cp437", errors="replace")


def _find_eocd(fp: BinaryIO, size: int) -> tuple[int, bytes]:
    tail_start = max(0, size - (_EOCD.size + 0xFFFF))
    tail = read_at(fp, tail_start, size - tail_start)
    pos = tail.rfind(EOCD_SIG)
    while pos >= 0 and pos + _EOCD.size > len(tail):
        pos = tail.rfind(EOCD_SIG, 0, pos)
    if pos < 0:
        raise ZipError("no end-of-central-directory record")
    return tail_start + pos, tail[pos : pos + _EOCD.size]


def _zip64_directory(fp: BinaryIO, eocd_pos: int) -> tuple[int, int, int] | None:
    locator = read_at(fp, eocd_pos - 20, 20) if eocd_pos >= 20 else b""
    if len(locator) < 20 or not locator.startswith(LOCATOR64_SIG):
        return None
    (record_pos,) = struct.unpack_from("<Q", locator, 8)
    record = read_at(fp, record_pos, _EOCD64.size)
    if len(record) < _EOCD64.size or not record.startswith(EOCD64_SIG):
        raise ZipError("zip64 locator points to no zip64 directory record")
    fields = _EOCD64.unpack(record)
    return fields[7], fields[8], fields[9]  # entries, directory size, directory offset


def locate_directory(fp: BinaryIO, size: int) -> tuple[int, int, int, int]:
    """(declared entries, central directory offset, central directory size, prepended).

    ``prepended`` is how many bytes precede the archive: zipfile (and so every loader built on
    it) finds the directory from the end and moves every offset by that much.
    """
    eocd_pos, raw = _find_eocd(fp, size)
    _sig, _disk, _cd_disk, _here, entries, cd_size, cd_offset, _comment = _EOCD.unpack(raw)
    end = eocd_pos
    zip64 = _zip64_directory(fp, eocd_pos)
    if zip64 is not None:
        entries, cd_size, cd_offset = zip64
        end = eocd_pos - 20 - _EOCD64.size
    if cd_size > size or end - cd_size < 0:
        raise ZipError("central directory lies outside the file")
    prepended = end - cd_size - cd_offset
    if prepended > 0 and read_at(fp, cd_offset + prepended, 4) == CENTRAL_SIG:
        return entries, cd_offset + prepended, cd_size, prepended
    if cd_offset + cd_size > size:
        return entries, end - cd_size, cd_size, 0  # a bad offset: the directory ends at the end
    return entries, cd_offset, cd_size, 0


def _zip64_extra(extra: bytes, sizes: list[int]) -> list[int]:
    """Replace 0xFFFFFFFF fields (size, compressed size, offset) from the zip64 extra field."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if tag != 1:
            continue
        values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
        out = list(sizes)
        for index, value in enumerate(sizes):
            if value == 0xFFFFFFFF and values:
                out[index] = values.pop(0)
        return out
    return sizes


def read_directory(
    fp: BinaryIO, size: int, max_entries: int, max_bytes: int = 100 << 20
) -> Directory:
    """Every central-directory record (at most ``max_entries`` in ``max_bytes``), with its local
    header read."""
    declared, cd_offset, cd_size, shift = locate_directory(fp, size)  # shift: prepended bytes
    blob = read_at(fp, cd_offset, min(cd_size, max_bytes))
    entries: list[ZipEntry] = []
    pos = 0
    while pos + _CENTRAL.size <= len(blob) and blob[pos : pos + 4] == CENTRAL_SIG:
        if len(entries) >= max_entries:
            return Directory(entries, declared, truncated=True)
        fields = _CENTRAL.unpack_from(blob, pos)
        flags, method = fields[3], fields[4]
        name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
        start = pos + _CENTRAL.size
        raw_name = blob[start : start + name_len]
        extra = blob[start + name_len : start + name_len + extra_len]
        size_, csize, offset = _zip64_extra(extra, [fields[9], fields[8], fields[16]])
        entry = ZipEntry(
            _decode(raw_name, flags),
            flags,
            method,
            csize,
            size_,
            offset + shift,
            fields[15],
            crc=fields[7],
        )
        _read_local(fp, entry, raw_name, size)
        entries.append(entry)
        pos = start + name_len + extra_len + comment_len
    if not entries and declared:
        raise ZipError("central directory holds no readable record")
    return Directory(entries, declared, truncated=cd_size > max_bytes)


def _read_local(fp: BinaryIO, entry: ZipEntry, central_name: bytes, size: int) -> None:
    """Fill in the local header's name and where the member data starts (if it is readable)."""
    head = read_at(fp, entry.header_offset, _LOCAL.size + len(central_name) + 16)
    if len(head) < _LOCAL.size or not head.startswith(LOCAL_SIG):
        return
    fields = _LOCAL.unpack_from(head)
    name_len, extra_len = fields[9], fields[10]
    raw = head[_LOCAL.size : _LOCAL.size + name_len]
    if len(raw) < name_len:
        raw = read_at(fp, entry.header_offset + _LOCAL.size, name_len)
    data_offset = entry.header_offset + _LOCAL.size + name_len + extra_len
    if data_offset > size:
        return
    entry.local_name = entry.name if raw == central_name else _decode(raw, fields[2])
    entry.data_offset = data_offset


def local_entries(fp: BinaryIO, size: int, max_entries: int) -> list[ZipEntry]:
    """Members found by walking local headers from the start (for archives without a directory)."""
    entries: list[ZipEntry] = []
    pos = 0
    while len(entries) < max_entries and pos + _LOCAL.size <= size:
        head = read_at(fp, pos, _LOCAL.size)
        if not head.startswith(LOCAL_SIG):
            break
        fields = _LOCAL.unpack(head)
        flags, method, csize, size_ = fields[2], fields[3], fields[7], fields[8]
        name_len, extra_len = fields[9], fields[10]
        raw = read_at(fp, pos + _LOCAL.size, name_len)
        data_offset = pos + _LOCAL.size + name_len + extra_len
        name = _decode(raw, flags)
        entries.append(
            ZipEntry(name, flags, method, csize, size_, pos, 0, name, data_offset, fields[6])
        )
        if csize == 0 and flags & 0x8:
            break  # sizes follow the data; the next header cannot be found without them
        pos = data_offset + csize
    return entries


def stored_span(entry: ZipEntry, size: int) -> tuple[int, int]:
    """(offset, length) of the member bytes in the file, clipped to the file."""
    if entry.data_offset < 0:
        raise ZipError("local header is missing or damaged")
    length = min(entry.compressed_size, size - entry.data_offset)
    return entry.data_offset, max(0, length)


def read_member(fp: BinaryIO, entry: ZipEntry, size: int, limit: int) -> bytes:
    """Up to ``limit`` bytes of the member's content, decompressed as the loader would."""
    offset, length = stored_span(entry, size)
    if entry.method == 0:
        return read_at(fp, offset, min(length, limit))
    if entry.method not in SUPPORTED_METHODS:
        raise ZipError(f"compression method {entry.method} is not supported")
    if entry.method == 14:
        props = read_at(fp, offset, 9)
        skip = 4 + int.from_bytes(props[2:4], "little")
        decoded = decode(
            chunk_reader(fp, offset + skip, offset + length), "lzma-raw", limit, props=props[4:9]
        )
    else:
        kind = "deflate-raw" if entry.method == 8 else "bzip2"
        decoded = decode(chunk_reader(fp, offset, offset + length), kind, limit)
    if decoded.error is not None and not decoded.data:
        raise ZipError(f"member data does not decompress: {decoded.error}")
    return decoded.data

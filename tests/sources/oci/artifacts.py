"""Artifacts the OCI tests build: safetensors files, tar layers, manifests."""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

MODELPACK_ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
MODELPACK_CONFIG = "application/vnd.cncf.model.config.v1+json"
MODELPACK_RAW = "application/vnd.cncf.model.weight.v1.raw"
MODELPACK_TAR = "application/vnd.cncf.model.weight.v1.tar"
MODELPACK_CONFIG_TAR = "application/vnd.cncf.model.weight.config.v1.tar"
KIT_CONFIG = "application/vnd.kitops.modelkit.config.v1+json"
KIT_MODEL = "application/vnd.kitops.modelkit.model.v1.tar+gzip"
KIT_DOCS = "application/vnd.kitops.modelkit.docs.v1.tar"
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


def safetensors(n: int = 4, name: str = "w") -> bytes:
    """A small, valid safetensors file with one float32 tensor of ``n`` values."""
    header = json.dumps({name: {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack(f"<{n}f", *range(n))


@dataclass(frozen=True)
class Entry:
    """A tar member: a file (``data``), a folder, a link or a special file."""

    name: str
    data: bytes = b""
    kind: bytes = tarfile.REGTYPE
    link: str = ""


def tar(*entries: Entry) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.kind
            info.linkname = entry.link
            info.mode = 0o755 if entry.kind == tarfile.DIRTYPE else 0o644
            info.size = len(entry.data) if entry.kind == tarfile.REGTYPE else 0
            archive.addfile(info, io.BytesIO(entry.data) if info.size else None)
    return buf.getvalue()


def tgz(*entries: Entry) -> bytes:
    return gzip.compress(tar(*entries), mtime=0)


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    """The same files on local disk, to scan with ``LocalResolver`` for comparison."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root

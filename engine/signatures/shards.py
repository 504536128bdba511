"""Shard manifests (``path:start:end``): the one case where signed ranges are hashed here.

Per-file SHA-256 digests cannot be compared with shard digests, so for a shard-serialized
signature each signed range is hashed from the file, and the shards of a file must tile it
exactly from byte 0 to its end (an appended tail is not signed).
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from modelward.engine.signatures.payload import SignedResource
from modelward.engine.source import open_regular

CHUNK: Final = 4 << 20


@dataclass
class ShardComparison:
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def compare_shards(
    resources: Iterable[SignedResource], files: Mapping[str, Path]
) -> ShardComparison:
    """Hash every signed shard of the files present and compare; group results per file."""
    result = ShardComparison()
    by_path: dict[str, list[SignedResource]] = defaultdict(list)
    for resource in resources:
        by_path[resource.path].append(resource)
    for path, shards in sorted(by_path.items()):
        real = files.get(path)
        if real is None:
            result.missing.append(path)
            continue
        try:
            if not _file_matches(real, sorted(shards, key=lambda s: (s.start or 0, s.end or 0))):
                result.mismatched.append(path)
        except OSError as exc:
            result.problems.append(f"{path}: cannot be read: {exc.strerror or exc}")
    return result


def _file_matches(real: Path, shards: list[SignedResource]) -> bool:
    with open_regular(real) as fp:
        fd = fp.fileno()
        size = os.fstat(fd).st_size
        position = 0
        for shard in shards:
            start, end = shard.start or 0, shard.end or 0
            if start != position or end > size:
                return False
            if _sha256_range(fd, start, end) != shard.digest:
                return False
            position = end
        return position == size


def _sha256_range(fd: int, start: int, end: int) -> str:
    digest = hashlib.sha256()
    offset = start
    while offset < end:
        chunk = os.pread(fd, min(CHUNK, end - offset), offset)
        if not chunk:
            break
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()

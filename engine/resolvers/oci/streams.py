"""A layer blob as a decompressed, size-capped stream."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from modelward.engine.resolvers.oci.layouts import Compression


class LayerTooLarge(Exception):
    """A layer that decompresses to more bytes than its limit (a decompression bomb)."""


class _Capped:
    """A read-only stream that raises ``LayerTooLarge`` past ``cap`` bytes."""

    def __init__(self, inner: Any, cap: int) -> None:
        self._inner = inner
        self._cap = cap
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._inner.read(size if size >= 0 else self._cap + 1)
        except (OSError, EOFError):
            raise
        except Exception as exc:  # zlib.error, zstandard.ZstdError: corrupt compressed data
            raise OSError(f"corrupt compressed data: {exc}") from None
        self._read += len(data)
        if self._read > self._cap:
            raise LayerTooLarge(f"decompresses to more than {self._cap} bytes")
        return data


@contextmanager
def open_layer(blob: Path, compression: Compression, cap: int) -> Iterator[BinaryIO]:
    """``blob`` decompressed, yielding at most ``cap`` bytes (tar padding included)."""
    with ExitStack() as stack:
        raw = stack.enter_context(blob.open("rb"))
        inner: Any
        if compression == "gzip":
            inner = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
        elif compression == "zstd":
            import zstandard  # only zstd layers need it

            inner = stack.enter_context(zstandard.ZstdDecompressor().stream_reader(raw))
        else:
            inner = raw
        yield _Capped(inner, cap)  # type: ignore[misc]

"""Read one root attribute of an HDF5 file with h5py, in a forked child with a time limit.

The HDF5 C library can hang or crash on hostile files. The child reads the attribute (reading
attributes runs nothing from the file) and returns it as JSON over a pipe, so a hang becomes a
timeout and a crash an error, never a stuck or dead scanner. Where ``fork`` is unavailable the
read happens in-process.
"""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, BinaryIO, Final

TIMEOUT_SECONDS: Final = 10.0


@dataclass(frozen=True)
class AttributeRead:
    """The attribute text (``None`` if absent), or why it could not be read."""

    value: str | None = None
    error: str | None = None
    timed_out: bool = False


def _read(fp: BinaryIO, name: str, limit: int) -> AttributeRead:
    import h5py

    fp.seek(0)
    try:
        with h5py.File(fp, "r") as h5:
            if name not in h5.attrs:
                return AttributeRead()
            if h5.attrs.get_id(name).get_storage_size() > limit:
                return AttributeRead(error=f"attribute {name} is larger than {limit} bytes")
            return AttributeRead(value=_text(h5.attrs[name]))
    except Exception as exc:  # h5py raises many types on damaged files
        return AttributeRead(error=f"{type(exc).__name__}: {exc}")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def _child(fp: BinaryIO, name: str, limit: int, conn: Connection) -> None:
    read = _read(fp, name, limit)
    conn.send_bytes(json.dumps([read.value, read.error]).encode())
    conn.close()


def read_root_attribute(
    fp: BinaryIO, name: str, limit: int, timeout: float = TIMEOUT_SECONDS
) -> AttributeRead:
    """The root attribute ``name`` of the HDF5 file in ``fp``, read in isolation."""
    import h5py  # noqa: F401  (imported here once, so each forked child starts with it)

    if "fork" not in multiprocessing.get_all_start_methods():
        return _read(fp, name, limit)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(fp, name, limit, sender), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            return AttributeRead(error=f"reading took over {timeout:g} s", timed_out=True)
        value, error = json.loads(receiver.recv_bytes(limit * 4 + 4096))
        if not all(v is None or isinstance(v, str) for v in (value, error)):
            raise ValueError("malformed answer")
        return AttributeRead(value=value, error=error)
    except (EOFError, OSError, ValueError) as exc:
        return AttributeRead(error=f"the reader ended without an answer ({exc or 'crashed'})")
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()

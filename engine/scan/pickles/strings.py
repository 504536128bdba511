"""Recognising suspicious constants: code-like text, embedded pickles, encoded second stages.

Everything here only looks at bytes; decoding base64/hex is done with the standard decoders.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import Any, Final

#: Text that reads like Python or shell code meant to run (``os.system(``, ``__import__(``...).
_CODE: Final = (
    r"__import__\s*\(|\b(?:os|posix|nt)\s*\.\s*(?:system|popen|exec\w*|spawn\w*|fork|kill|"
    r"remove|unlink|rmdir)\s*\(|\bsubprocess\s*\.\s*\w+|(?<![\w.])(?:exec|eval|execfile|compile|"
    r"getattr|globals|breakpoint)\s*\(|\bimport\s+(?:os|sys|subprocess|socket|pty|shutil|ctypes|"
    r"base64|urllib|requests|marshal|pickle|importlib|builtins|runpy)\b|\bfrom\s+(?:os|"
    r"subprocess|socket|pty|ctypes|importlib|builtins|runpy)\s+import\b|/bin/(?:ba|z|da)?sh\b|"
    r"\b(?:curl|wget)\s+\S*https?://|\bnc\s+-[el]\b|\brm\s+-rf\b|powershell|cmd\.exe\b|"
    r"\bsocket\s*\.\s*socket\s*\("
)
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}")
_HEX: Final = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")
#: One long base64/hex word: worth decoding.
_WORD: Final = re.compile(r"[A-Za-z0-9+/=_-]{16,}")
#: First opcodes of protocol 0/1 pickles that import something.
_PROTO0_FIRST: Final = frozenset(b"c(]})iSVINF")
_MAX_DECODE: Final = 64 << 20
#: Large text is searched in windows this long that overlap by ``_OVERLAP`` bytes.
_WINDOW: Final = 1 << 20
_OVERLAP: Final = 4096


@functools.cache
def _code_pattern(text: bool) -> re.Pattern[Any]:
    """``_CODE`` compiled for text or for bytes, on first use (most scans never need it)."""
    return re.compile(_CODE if text else _CODE.encode())


def is_code_like(value: str | bytes) -> bool:
    """Whether text or bytes read like code meant to run."""
    return _code_pattern(isinstance(value, str)).search(value) is not None


def code_in_view(data: memoryview) -> bool:
    """Whether bytes of any length read like code, searched window by window (no full copy)."""
    step = _WINDOW - _OVERLAP
    for start in range(0, max(1, len(data) - _OVERLAP), step):
        if _code_pattern(False).search(data[start : start + _WINDOW]) is not None:
            return True
    return False


def worth_checking(text: str) -> bool:
    """Cheap filter for text constants: code punctuation, or one long base64/hex word."""
    if "(" in text or " " in text or "/" in text or "\n" in text:
        return True
    return len(text) >= 16 and _WORD.fullmatch(text) is not None


def looks_like_pickle(data: bytes | memoryview) -> bool:
    """Whether bytes start like a pickle that could import something."""
    if len(data) < 4:
        return False
    if data[0] == 0x80:
        return data[1] <= 5
    return data[0] in _PROTO0_FIRST and data[-1] == 0x2E and b"\n" in bytes(data[:4096])


def decode_text(text: str) -> tuple[str, bytes] | None:
    """``(encoding, bytes)`` if the whole text is base64 or hex, else ``None``."""
    if len(text) > _MAX_DECODE:
        return None
    if _HEX.fullmatch(text):
        return "hex", bytes.fromhex(text)
    if not _BASE64.fullmatch(text):
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return "base64", base64.urlsafe_b64decode(padded)
        return "base64", base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None

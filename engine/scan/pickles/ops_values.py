"""Opcode handlers that push constants and use the memo (numbers, text, bytes, GET/PUT).

Text constants are decoded as the loader decodes them; byte strings stay ``memoryview`` slices of
the input, and strings longer than 64 KiB stay undecoded (``BigText``). Constants long enough to
hide code or a second stage are noted for the data pass.
"""

from __future__ import annotations

import codecs
from typing import Final

from modelward.engine.scan.pickles.nested import note_bytes, note_text
from modelward.engine.scan.pickles.state import F64, I32, U16, U32, U64, Broken, Handler, Machine
from modelward.engine.scan.pickles.values import BigText

_BIG_TEXT: Final = 1 << 16
_BIG_INT: Final = 1 << 12
_MISSING: Final = object()


def value_handlers(m: Machine) -> dict[str, Handler]:
    """Handlers for constants and memo opcodes, closed over ``m`` (kept local for speed)."""
    analysis, buf, mv, memo, stack = m.analysis, m.buf, m.mv, m.memo, m.stack
    size, push, line, span = m.size, stack.append, m.line, m.span

    def text(value: str, pos: int) -> None:
        push(value)
        if len(value) >= 8:
            note_text(analysis, value, pos)

    def blob(start: int, end: int, op: int) -> int:
        data = mv[start:end]
        push(data)
        note_bytes(analysis, data, op)
        return end

    def unicode(start: int, end: int, op: int) -> int:
        if end - start > _BIG_TEXT:
            big = BigText(mv[start:end])
            push(big)
            analysis.candidates.append((op, big))
        else:
            text(str(buf[start:end], "utf-8", "surrogatepass"), op)
        return end

    def binstring(start: int, end: int, op: int) -> int:
        text(buf[start:end].decode("latin-1"), op)
        return end

    def get(key: int, op: int) -> None:
        value = memo.get(key, _MISSING)
        push(analysis.memo_missing(key, op) if value is _MISSING else value)

    def put(key: int) -> None:
        if key < 0:
            raise Broken("negative memo index")
        memo[key] = stack[-1]

    def float_text(p: int) -> int:
        raw, p = line(p)
        push(float(raw))
        return p

    def int_text(p: int) -> int:
        raw, p = line(p)
        push(raw == b"01" if raw in (b"00", b"01") else int(raw))
        return p

    def long_text(p: int) -> int:
        raw, p = line(p)
        push(int(raw[:-1] if raw.endswith(b"L") else raw))
        return p

    def binint(p: int) -> int:
        push(I32(buf, p)[0])
        return p + 4

    def binint1(p: int) -> int:
        push(buf[p])
        return p + 1

    def binint2(p: int) -> int:
        push(U16(buf, p)[0])
        return p + 2

    def none(p: int) -> int:
        push(None)
        return p

    def string(p: int) -> int:
        raw, end = line(p)
        if len(raw) < 2 or raw[0] != raw[-1] or raw[:1] not in (b"'", b'"'):
            raise Broken("STRING argument is not quoted")
        text(codecs.escape_decode(raw[1:-1])[0].decode("latin-1"), p - 1)
        return end

    def binstring4(p: int) -> int:
        return binstring(p + 4, span(p + 4, I32(buf, p)[0]), p - 1)

    def binstring1(p: int) -> int:
        return binstring(p + 1, span(p + 1, buf[p]), p - 1)

    def unicode_text(p: int) -> int:
        raw, end = line(p)
        text(str(raw, "raw-unicode-escape"), p - 1)
        return end

    def binunicode4(p: int) -> int:
        return unicode(p + 4, span(p + 4, U32(buf, p)[0]), p - 1)

    def binunicode1(p: int) -> int:
        end = p + 1 + buf[p]
        if end > size:
            raise Broken("SHORT_BINUNICODE runs past the end of the data")
        value = str(buf[p + 1 : end], "utf-8", "surrogatepass")
        push(value)
        if end - p > 8:
            note_text(analysis, value, p - 1)
        return end

    def binunicode8(p: int) -> int:
        return unicode(p + 8, span(p + 8, U64(buf, p)[0]), p - 1)

    def binbytes4(p: int) -> int:
        return blob(p + 4, span(p + 4, U32(buf, p)[0]), p - 1)

    def binbytes1(p: int) -> int:
        return blob(p + 1, span(p + 1, buf[p]), p - 1)

    def binbytes8(p: int) -> int:
        return blob(p + 8, span(p + 8, U64(buf, p)[0]), p - 1)

    def get_text(p: int) -> int:
        raw, end = line(p)
        get(int(raw), p - 1)
        return end

    def binget(p: int) -> int:
        get(buf[p], p - 1)
        return p + 1

    def long_binget(p: int) -> int:
        get(U32(buf, p)[0], p - 1)
        return p + 4

    def put_text(p: int) -> int:
        raw, end = line(p)
        put(int(raw))
        return end

    def binput(p: int) -> int:
        memo[buf[p]] = stack[-1]
        return p + 1

    def long_binput(p: int) -> int:
        memo[U32(buf, p)[0]] = stack[-1]
        return p + 4

    def binfloat(p: int) -> int:
        push(F64(buf, p)[0])
        return p + 8

    def newtrue(p: int) -> int:
        push(True)
        return p

    def newfalse(p: int) -> int:
        push(False)
        return p

    def long1(p: int) -> int:
        end = span(p + 1, buf[p])
        push(int.from_bytes(buf[p + 1 : end], "little", signed=True))
        return end

    def long4(p: int) -> int:
        end = span(p + 4, I32(buf, p)[0])
        small = end - p - 4 <= _BIG_INT
        push(int.from_bytes(buf[p + 4 : end], "little", signed=True) if small else 0)
        return end

    def memoize(p: int) -> int:
        memo[len(memo)] = stack[-1]
        return p

    return {
        "F": float_text, "I": int_text, "J": binint, "K": binint1, "L": long_text, "M": binint2,
        "N": none, "S": string, "T": binstring4, "U": binstring1, "V": unicode_text,
        "X": binunicode4, "g": get_text, "h": binget, "j": long_binget, "p": put_text,
        "q": binput, "r": long_binput, "G": binfloat, "\x88": newtrue, "\x89": newfalse,
        "\x8a": long1, "\x8b": long4, "B": binbytes4, "C": binbytes1, "\x8c": binunicode1,
        "\x8d": binunicode8, "\x8e": binbytes8, "\x94": memoize, "\x96": binbytes8,
    }  # fmt: skip

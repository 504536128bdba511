"""What calling a value means: REDUCE, NEWOBJ, INST and OBJ on symbolic callables.

Nothing is called. A few well-known callables are folded symbolically so chains can be followed:
decoders (base64, hex, zlib, ``codecs.encode``) yield their bytes, resolvers (``getattr``,
``importlib.import_module``, ``pkgutil.resolve_name``, ``pydoc.locate``, ``operator.attrgetter``)
yield the global they would return, loaders (``pickle.loads``...) get their payload analysed and
``copyreg.add_extension`` fills the extension registry the EXT opcodes read.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import lzma
import zlib
from collections.abc import Callable
from typing import Final

from modelward.engine.scan.pickles.allowlist import UFUNC_RESOLVERS
from modelward.engine.scan.pickles.analysis import Analysis
from modelward.engine.scan.pickles.nested import analyse_nested
from modelward.engine.scan.pickles.rules import LOADERS
from modelward.engine.scan.pickles.strings import is_code_like
from modelward.engine.scan.pickles.values import (
    AttrGetter,
    BigText,
    Call,
    Global,
    Opaque,
    as_bytes,
    as_text,
    constants,
    describe,
)

Effect = Callable[[Analysis, Global, object, int], object]
_MAX_INFLATE: Final = 64 << 20
_MAX_ARGUMENT: Final = 1 << 16
_TEXT_CODECS: Final = frozenset({"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "utf-8",
                                 "utf8", "ascii", "us-ascii", "raw_unicode_escape"})  # fmt: skip


#: How each calling opcode runs its callable, for messages.
HOW: Final = {
    "REDUCE": "REDUCE calls", "INST": "INST instantiates", "OBJ": "OBJ instantiates",
    "NEWOBJ": "NEWOBJ instantiates", "NEWOBJ_EX": "NEWOBJ_EX instantiates",
}  # fmt: skip
#: Allowlisted callables that only store their arguments (a defaultdict's factory is called
#: later by the application, not by the load); every other allowlisted callable may call or
#: instantiate a callable it is given.
STORING: Final = frozenset({
    "collections.OrderedDict", "collections.defaultdict", "collections.deque",
    "collections.Counter", "builtins.set", "builtins.frozenset", "builtins.list",
    "builtins.tuple", "builtins.dict",
})  # fmt: skip


def call(analysis: Analysis, func: object, args: object, offset: int, op: str) -> object:
    """The value of ``func(*args)`` as opcode ``op`` computes it (NEWOBJ: ``cls.__new__``)."""
    if type(func) is Global:
        if op not in ("NEWOBJ", "NEWOBJ_EX"):
            effect = _EFFECTS.get(func.path)
            if effect is not None:
                value = effect(analysis, func, args, offset)
                if value is not None:
                    return value
        if func.verdict == "unknown":
            analysis.unreviewed_call(func, offset, HOW[op])
            _code_arguments(analysis, func, args, offset)
        elif func.verdict == "allowed" and func.path not in STORING:
            _callable_arguments(analysis, func, args, offset)
    elif isinstance(func, AttrGetter):
        return _attrgetter_call(analysis, func, args, offset)
    elif isinstance(func, Call):
        analysis.report("pickle.call.computed", "high", offset, "call of a computed callable",
                       f"calls {describe(func)}: a callable computed at load time")  # fmt: skip
    elif isinstance(func, Opaque):
        analysis.report("pickle.call.unknown", "high", offset, "call of an unknown callable",
                       f"calls {describe(func)}, which cannot be resolved statically")  # fmt: skip
    return Call(func, args, offset)


def _code_arguments(analysis: Analysis, func: Global, args: object, offset: int) -> None:
    for value in constants(args):
        if _size(value) > _MAX_ARGUMENT:
            continue
        text = value if isinstance(value, str) else as_bytes(value)
        if text is not None and is_code_like(text):
            analysis.report("pickle.call.code_argument", "high", offset, "code passed to a call",
                           f"calls {func.path}, which is not allowlisted, with code-like "
                           f"argument {describe(value)}")  # fmt: skip
            return


def _callable_arguments(analysis: Analysis, func: Global, args: object, offset: int) -> None:
    """Unreviewed callables handed to a reviewed one, which may call or instantiate them."""
    for value in _positional(args):
        if type(value) is Global and value.verdict == "unknown":
            analysis.unreviewed_call(value, offset, f"{func.path} is given")


def _positional(args: object) -> tuple[object, ...]:
    return args if isinstance(args, tuple) else ()


def _size(value: object) -> int:
    if isinstance(value, str | bytes | memoryview):
        return len(value)
    return len(value.raw) if isinstance(value, BigText) else 0


def _payload(analysis: Analysis, value: object, offset: int, what: str) -> bytes | None:
    """The bytes of a constant argument, if the decoding budget allows copying them."""
    if not _size(value) or not analysis.take_bytes(_size(value), offset, what):
        return None
    return as_bytes(value)


# -- decoders ------------------------------------------------------------------------------


def _decoder(decode: Callable[[bytes], bytes]) -> Effect:
    def effect(analysis: Analysis, func: Global, args: object, offset: int) -> object:
        first = _positional(args)[:1]
        data = _payload(analysis, first[0], offset, func.path) if first else None
        if data is None:
            return None
        try:
            return decode(data)
        except (ValueError, TypeError, binascii.Error, zlib.error, OSError, EOFError,
                lzma.LZMAError):  # fmt: skip
            return None

    return effect


def _inflate(wbits: int) -> Callable[[bytes], bytes]:
    return lambda data: zlib.decompressobj(wbits).decompress(data, _MAX_INFLATE)


def _bz2(data: bytes) -> bytes:
    return bz2.BZ2Decompressor().decompress(data, _MAX_INFLATE)


def _lzma(data: bytes) -> bytes:
    return lzma.LZMADecompressor().decompress(data, _MAX_INFLATE)


def _encode(analysis: Analysis, func: Global, args: object, offset: int) -> object:
    """``codecs.encode(text, "latin1")``: how protocol-2 pickles spell bytes."""
    pos = _positional(args)
    encoding = pos[1] if len(pos) > 1 else "utf-8"
    if not pos or not isinstance(pos[0], str) or not isinstance(encoding, str):
        return None
    if encoding.lower().replace("_", "-") not in _TEXT_CODECS and encoding not in _TEXT_CODECS:
        return None
    if not analysis.take_bytes(len(pos[0]), offset, func.path):
        return None
    try:
        return pos[0].encode(encoding)
    except UnicodeError:  # the loader fails here too
        return None


def _codecs_decode(analysis: Analysis, func: Global, args: object, offset: int) -> object:
    pos = _positional(args)
    codec = pos[1] if len(pos) > 1 else None
    if not isinstance(codec, str):
        return None
    decoder = _BY_CODEC.get(codec.lower().replace("-", "_").removesuffix("_codec"))
    return _decoder(decoder)(analysis, func, args, offset) if decoder else None


_BY_CODEC: Final[dict[str, Callable[[bytes], bytes]]] = {
    "hex": binascii.unhexlify, "base64": base64.b64decode, "zlib": _inflate(zlib.MAX_WBITS),
    "bz2": _bz2,
}  # fmt: skip

# -- resolvers -----------------------------------------------------------------------------


def _import(analysis: Analysis, func: Global, args: object, offset: int) -> object:
    pos = _positional(args)
    name = as_text(pos[0]) if pos else None
    if not name:
        return None
    return analysis.resolve_global(name, "", offset, f"{func.path}({name!r})")


def _resolve_name(analysis: Analysis, func: Global, args: object, offset: int) -> object:
    pos = _positional(args)
    name = as_text(pos[0]) if pos else None
    if not name:
        return None
    module, sep, attr = name.partition(":")
    if not sep:
        module, _, attr = name.rpartition(".")
    return analysis.resolve_global(module or attr, attr if module else "", offset,
                                  f"{func.path}({name!r})")  # fmt: skip


def _ufunc(analysis: Analysis, func: Global, args: object, offset: int) -> object:
    """numpy's ``_ufunc_reconstruct(module, name)``: an import like any other."""
    pos = _positional(args)
    if len(pos) == 2 and isinstance(pos[0], str) and isinstance(pos[1], str):
        return analysis.resolve_global(pos[0], pos[1], offset, f"{func.path}({pos[1]!r})")
    return analysis.computed_global(pos[0] if pos else None, pos[1:2] or None, offset)


def _getattr(analysis: Analysis, func: Global, args: object, offset: int) -> object:
    pos = _positional(args)
    if len(pos) < 2 or not isinstance(pos[0], Global) or not isinstance(pos[1], str):
        return None
    return _attribute(analysis, pos[0], pos[1], offset, f"{func.path}(..., {pos[1]!r})")


def _attribute(analysis: Analysis, owner: Global, attr: str, offset: int, via: str) -> object:
    name = f"{owner.name}.{attr}" if owner.name else attr
    return analysis.resolve_global(owner.module, name, offset, via)


def _attrgetter(analysis: Analysis, func: Global, args: object, offset: int) -> object:
    names = _positional(args)
    if not names or not all(isinstance(n, str) for n in names):
        return None
    return AttrGetter(tuple(str(n) for n in names))


def _attrgetter_call(analysis: Analysis, getter: AttrGetter, args: object, offset: int) -> object:
    pos = _positional(args)
    if len(pos) == 1 and isinstance(pos[0], Global) and len(getter.names) == 1:
        return _attribute(analysis, pos[0], getter.names[0], offset, describe(getter))
    return Call(getter, args, offset)


# -- loaders and registries ----------------------------------------------------------------


def _loader(analysis: Analysis, func: Global, args: object, offset: int) -> object:
    """A deserializer called while loading: its payload is analysed as part of this file."""
    analysis.loader_called(func.path, offset)
    pos = _positional(args)
    payload = pos[0] if pos else None
    if isinstance(payload, Call) and isinstance(payload.func, Global):
        inner = _positional(payload.args)  # io.BytesIO(b"...") and similar wrappers
        payload = inner[0] if inner else None
    if not isinstance(payload, bytes | memoryview | BigText):
        analysis.report("pickle.call.loader", "high", offset, "nested deserialization",
                        f"calls {func.path} on {describe(payload)}, which cannot be analysed "
                        "statically", symbol=func.path)  # fmt: skip
    elif _size(payload) <= analysis.budget.bytes_left:
        data = payload.raw if isinstance(payload, BigText) else payload
        analyse_nested(analysis, data, offset, active=True, via=func.path)
    else:
        analysis.take_bytes(_size(payload), offset, f"the payload of {func.path}")
    return Opaque(f"the object {func.path} returns", offset)


def _add_extension(analysis: Analysis, func: Global, args: object, offset: int) -> object:
    pos = _positional(args)
    if len(pos) == 3 and isinstance(pos[0], str) and isinstance(pos[1], str):
        code = pos[2]
        if isinstance(code, int):
            analysis.extensions[code] = (pos[0], pos[1])
    return None


_B64: Final = _decoder(base64.b64decode)
_EFFECTS: Final[dict[str, Effect]] = {
    "codecs.encode": _encode, "codecs.decode": _codecs_decode,
    "base64.b64decode": _B64, "base64.standard_b64decode": _B64, "base64.decodebytes": _B64,
    "base64.decodestring": _B64, "binascii.a2b_base64": _B64,
    "base64.urlsafe_b64decode": _decoder(base64.urlsafe_b64decode),
    "base64.b32decode": _decoder(base64.b32decode), "base64.b16decode": _decoder(base64.b16decode),
    "base64.a85decode": _decoder(base64.a85decode), "base64.b85decode": _decoder(base64.b85decode),
    "binascii.a2b_hex": _decoder(binascii.unhexlify),
    "binascii.unhexlify": _decoder(binascii.unhexlify),
    "builtins.bytes.fromhex": _decoder(lambda d: bytes.fromhex(d.decode("ascii"))),
    "builtins.bytearray.fromhex": _decoder(lambda d: bytes.fromhex(d.decode("ascii"))),
    "builtins.bytes": _decoder(bytes), "builtins.bytearray": _decoder(bytes),
    "zlib.decompress": _decoder(_inflate(zlib.MAX_WBITS)),
    "gzip.decompress": _decoder(_inflate(zlib.MAX_WBITS | 16)),
    "bz2.decompress": _decoder(_bz2), "lzma.decompress": _decoder(_lzma),
    "builtins.getattr": _getattr, "operator.attrgetter": _attrgetter,
    "builtins.__import__": _import, "importlib.import_module": _import,
    "importlib.__import__": _import, "pkgutil.resolve_name": _resolve_name,
    "pydoc.locate": _resolve_name, "copyreg.add_extension": _add_extension,
    **dict.fromkeys(LOADERS, _loader), **dict.fromkeys(UFUNC_RESOLVERS, _ufunc),
}  # fmt: skip

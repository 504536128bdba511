"""Classification of pickle globals: the reviewed allowlist, the denylist, and their verdicts.

Order of the checks: a dunder name is denied, an exact allowlist entry is allowed, a denylist
prefix is denied, anything else is unknown. docs/pickle-allowlist.md says why each entry is safe.
"""

from __future__ import annotations

import _compat_pickle
from functools import lru_cache
from typing import Final, Literal, NamedTuple

from modelward.engine.facts import Severity
from modelward.engine.scan.pickle_denylist import DANGEROUS_NAMES, DENIED, DUNDER, RESOLVER

Verdict = Literal["allowed", "unknown", "denied"]

_TORCH_STORAGES = (
    "Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
    "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4",
)  # fmt: skip
_TORCH_REBUILDERS = (
    "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
    "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
    "_rebuild_nested_tensor", "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
    "_rebuild_device_tensor_from_cpu_tensor", "_rebuild_device_tensor_from_numpy",
)  # fmt: skip
_TORCH_CONSTANTS = (
    "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int8", "uint8",
    "int16", "short", "int32", "int", "int64", "long", "uint16", "uint32", "uint64", "bool",
    "complex32", "chalf", "complex64", "cfloat", "complex128", "cdouble", "qint8", "quint8",
    "qint32", "quint4x2", "quint2x4", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
    "float8_e5m2fnuz", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr",
    "sparse_bsc", "_mkldnn", "contiguous_format", "channels_last", "channels_last_3d",
    "preserve_format", "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
    "per_channel_symmetric", "per_channel_affine_float_qparams", "Size", "device",
)  # fmt: skip
_BUILTIN_TYPES = (
    "set", "frozenset", "slice", "complex", "bytearray", "bytes", "range", "object", "int",
    "float", "bool", "str", "tuple", "list", "dict",
)  # fmt: skip

#: Exact dotted paths (after normalisation) that real ML checkpoints use and that run no code.
ALLOWED: Final = frozenset({
    *(f"torch.{kind}Storage" for kind in _TORCH_STORAGES),
    *(f"torch._utils.{name}" for name in _TORCH_REBUILDERS),
    *(f"torch.{name}" for name in _TORCH_CONSTANTS),
    "torch.storage.UntypedStorage", "torch.UntypedStorage", "torch.storage.TypedStorage",
    "torch._tensor._rebuild_from_type_v2", "torch.nn.parameter.Parameter",
    "torch.serialization._get_layout",
    "collections.OrderedDict", "collections.defaultdict", "collections.Counter",
    "collections.deque",
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
    "numpy.ndarray", "numpy.dtype", "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray",
    "numpy.ma.MaskedArray",
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "copyreg._reconstructor", "codecs.encode",
    *(f"builtins.{name}" for name in _BUILTIN_TYPES),
})  # fmt: skip

#: Private or renamed modules that stand for a public one.
_ALIASES: Final = {
    "posix": "os", "nt": "os", "_io": "io", "_operator": "operator", "_functools": "functools",
    "_pickle": "pickle", "_codecs": "codecs", "_socket": "socket", "_posixsubprocess": "subprocess",
    "_collections": "collections", "_marshal": "marshal", "_ctypes": "ctypes", "_ssl": "ssl",
    "exceptions": "builtins", "__builtin__": "builtins",
}  # fmt: skip


class Rule(NamedTuple):
    """The verdict on one global, how bad it is, and why."""

    verdict: Verdict
    severity: Severity | None
    finding: str | None
    technique: str
    path: str


def normalise(module: str, name: str) -> str:
    """The dotted path a loader resolves ``module``/``name`` to (Python 2 names mapped)."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        module, name = mapped
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    head, _, rest = module.partition(".")
    head = _ALIASES.get(head, head)
    module = f"{head}.{rest}" if rest else head
    return f"{module}.{name}" if name else module


def _denied(path: str) -> str | None:
    parts = path.split(".")
    for end in range(1, len(parts) + 1):
        technique = DENIED.get(".".join(parts[:end]))
        if technique is not None:
            return technique
    return None


@lru_cache(maxsize=4096)
def classify(module: str, name: str) -> Rule:
    """Verdict on the global ``module``/``name`` as a loader's ``find_class`` would see it."""
    path = normalise(module, name)
    if any(part.startswith("__") and part.endswith("__") for part in name.split(".")):
        return Rule("denied", "critical", "pickle.global.denied", DUNDER, path)
    if path in ALLOWED:
        return Rule("allowed", None, None, "allowlisted", path)
    technique = _denied(path)
    if technique is not None:
        return Rule("denied", "critical", "pickle.global.denied", technique, path)
    if module == "__main__":
        return _main(name, path)
    return Rule("unknown", "medium", "pickle.global.unknown", "non-allowlisted import", path)


def _main(name: str, path: str) -> Rule:
    """``__main__`` names resolve in the loading program, which the file cannot add code to."""
    if name in DANGEROUS_NAMES or name.split(".")[0] in DANGEROUS_NAMES:
        return Rule("denied", "critical", "pickle.global.denied", RESOLVER, path)
    if "." not in name and name[:1].isupper():
        return Rule("unknown", "low", "pickle.global.main_class", "class of the loading program",
                    path)  # fmt: skip
    return Rule("unknown", "medium", "pickle.global.unknown", "non-allowlisted import", path)

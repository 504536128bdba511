"""The reviewed allowlist of pickle globals: exact paths, and reviewed library families.

An exact entry names one object that real checkpoints use and that runs no code beyond building
data. A family admits the classes (and, where stated, the pure functions) of a library's model
modules, minus the modules of that library that reach files, networks, processes or other
loaders. docs/pickle-allowlist.md says why each entry and family is safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from modelward.engine.scan.pickles.denylist import DANGEROUS_NAMES


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


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
    "per_channel_symmetric", "per_channel_affine_float_qparams", "Size", "device", "dtype",
    "Tensor",
)  # fmt: skip
#: TorchScript's own unpickler helpers (``torch.jit._pickle``): they build lists and tensors.
_TORCHSCRIPT_HELPERS = (
    "build_intlist", "build_floatlist", "build_doublelist", "build_boollist",
    "build_tensorlist", "build_complexlist", "build_tensor_from_id", "restore_type_tag",
)  # fmt: skip
_BUILTIN_TYPES = (
    "set", "frozenset", "slice", "complex", "bytearray", "bytes", "range", "object", "int",
    "float", "bool", "str", "tuple", "list", "dict",
)  # fmt: skip
#: numpy's element-wise functions (ufuncs), referenced by estimators such as FunctionTransformer.
_NUMPY_UFUNCS = _words(
    "abs absolute acos acosh add arccos arccosh arcsin arcsinh arctan arctan2 arctanh asin asinh "
    "atan atan2 atanh bitwise_and bitwise_count bitwise_invert bitwise_left_shift bitwise_not "
    "bitwise_or bitwise_right_shift bitwise_xor cbrt ceil conj conjugate copysign cos cosh "
    "deg2rad degrees divide divmod equal exp exp2 expm1 fabs float_power floor floor_divide fmax "
    "fmin fmod frexp gcd greater greater_equal heaviside hypot invert isfinite isinf isnan isnat "
    "lcm ldexp left_shift less less_equal log log10 log1p log2 logaddexp logaddexp2 logical_and "
    "logical_not logical_or logical_xor matmul matvec maximum minimum mod modf multiply negative "
    "nextafter not_equal positive pow power rad2deg radians reciprocal remainder right_shift rint "
    "sign signbit sin sinh spacing sqrt square subtract tan tanh true_divide trunc vecdot vecmat"
)
#: numpy reductions and array builders that only compute on their arguments.
_NUMPY_FUNCTIONS = _words(
    "mean median std var sum prod min max amin amax nanmean nanmedian nanstd nanvar nansum "
    "nanmin nanmax percentile quantile nanpercentile nanquantile average clip round around "
    "argmax argmin cumsum cumprod diff asarray array ravel reshape transpose concatenate hstack "
    "vstack stack where unique sort argsort cov corrcoef dot outer identity eye ones zeros full "
    "empty arange linspace interp digitize histogram bincount searchsorted ptp all any"
)
#: numpy scalar and array types, in the names numpy 1.x and 2.x pickle them under.
_NUMPY_TYPES = _words(
    "ndarray dtype matrix recarray record bool bool_ byte bytes_ cdouble character clongdouble "
    "complex128 complex256 complex64 complexfloating csingle datetime64 double flexible float128 "
    "float16 float32 float64 floating generic half inexact int16 int32 int64 int8 int_ intc "
    "integer intp long longdouble longlong number object_ short signedinteger single str_ "
    "timedelta64 ubyte uint uint16 uint32 uint64 uint8 uintc uintp ulong ulonglong "
    "unsignedinteger ushort void float_ complex_ unicode_ string_ bool8 object0 str0 bytes0"
)
_NUMPY_CORE = ("numpy.core", "numpy._core")
_NUMPY_RANDOM = (
    "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor", "numpy.random.__RandomState_ctor",
    "numpy.random.mtrand.__RandomState_ctor", "numpy.random.mtrand.RandomState",
    "numpy.random._generator.Generator", "numpy.random._mt19937.MT19937",
    "numpy.random._pcg64.PCG64", "numpy.random._pcg64.PCG64DXSM", "numpy.random._philox.Philox",
    "numpy.random._sfc64.SFC64", "numpy.random.bit_generator.SeedSequence",
    "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
)  # fmt: skip
#: joblib's placeholders for arrays: the array bytes follow in the file or a sidecar file.
JOBLIB_WRAPPERS: Final = frozenset({
    f"{package}.{module}.{name}"
    for package in ("joblib", "sklearn.externals.joblib")
    for module in ("numpy_pickle", "numpy_pickle_compat")
    for name in ("NumpyArrayWrapper", "NDArrayWrapper", "ZNDArrayWrapper")
})  # fmt: skip

#: Exact dotted paths (after normalisation) that real ML checkpoints use and that run no code.
ALLOWED: Final = frozenset({
    *(f"torch.{kind}Storage" for kind in _TORCH_STORAGES),
    *(f"torch._utils.{name}" for name in _TORCH_REBUILDERS),
    *(f"torch.{name}" for name in _TORCH_CONSTANTS),
    *(f"torch.jit._pickle.{name}" for name in _TORCHSCRIPT_HELPERS),
    "torch.storage.UntypedStorage", "torch.UntypedStorage", "torch.storage.TypedStorage",
    "torch._tensor._rebuild_from_type_v2", "torch.serialization._get_layout",
    "collections.OrderedDict", "collections.defaultdict", "collections.Counter",
    "collections.deque",
    *(f"{core}.{module}.{name}" for core in _NUMPY_CORE
      for module, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"),
                           ("_multiarray_umath", "_reconstruct"), ("_multiarray_umath", "scalar"),
                           ("numeric", "_frombuffer"), ("_internal", "_reconstruct"),
                           ("records", "recarray"), ("records", "record"))),
    *(f"numpy.{name}" for name in (*_NUMPY_TYPES, *_NUMPY_UFUNCS, *_NUMPY_FUNCTIONS)),
    *(f"{core}.{module}.{name}" for core in _NUMPY_CORE for module in ("_multiarray_umath", "umath")
      for name in _NUMPY_UFUNCS),
    "numpy.matrixlib.defmatrix.matrix", "numpy.rec.recarray",
    "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray", "numpy.ma.MaskedArray",
    "numpy.ma.core.MaskedConstant", "numpy.ma.core.mvoid",
    *_NUMPY_RANDOM, *JOBLIB_WRAPPERS,
    "copyreg._reconstructor", "codecs.encode",
    *(f"builtins.{name}" for name in _BUILTIN_TYPES),
    *(f"{core}.{module}_ufunc_reconstruct" for core in _NUMPY_CORE for module in ("", "umath.")),
})  # fmt: skip
#: numpy's ufunc reconstructor: ``_ufunc_reconstruct(module, name)`` imports ``module.name``,
#: which is judged like any import (the analysis follows the call).
UFUNC_RESOLVERS: Final = frozenset(
    f"{core}.{module}_ufunc_reconstruct" for core in _NUMPY_CORE for module in ("", "umath.")
)

#: Classes from the standard library that model modules import for their own use and that
#: touch files, threads, processes or sockets when created; never admitted through a family.
FOREIGN_CLASSES: Final = frozenset({
    "NamedTemporaryFile", "TemporaryDirectory", "TemporaryFile", "SpooledTemporaryFile", "Path",
    "PosixPath", "WindowsPath", "PurePath", "Thread", "Timer", "ThreadPoolExecutor",
    "ProcessPoolExecutor", "Client", "Listener", "Connection", "Pool", "Process", "Popen",
    "GzipFile", "BZ2File", "LZMAFile", "ZipFile", "TarFile", "Request", "Memory", "FileIO",
    "BufferedReader", "BufferedWriter", "TextIOWrapper", "Queue", "Source", "Parallel",
})  # fmt: skip
_CLASS = re.compile(r"_*[A-Z]\w*\Z")
_FUNCTION = re.compile(r"[a-z_]\w*\Z")
#: scipy's sparse containers are lower-case classes: csr_matrix, coo_array, ...
_SPARSE_CLASS = re.compile(r"(?:[a-z]{3}_(?:matrix|array)|_*[A-Z]\w*)\Z")
#: Cython's generated unpickle helpers and sklearn's binary-tree constructor.
_HELPER = re.compile(r"(?:__pyx_unpickle_\w+|newObj|_new_\w+|_unpickle\w*|_reconstruct\w*)\Z")


@dataclass(frozen=True)
class Family:
    """A library whose model classes are reviewed as a whole, minus the ``excluded`` modules."""

    root: str
    excluded: tuple[str, ...] = ()
    functions: bool = False
    classes: re.Pattern[str] = _CLASS

    def admits(self, module: str, name: str) -> bool:
        """Whether ``module.name`` is a class (or reviewed function) of this family."""
        if module != self.root and not module.startswith(self.root + "."):
            return False
        if any(module == e or module.startswith(e + ".") for e in self.excluded):
            return False
        if "." in name or name in DANGEROUS_NAMES or name in FOREIGN_CLASSES:
            return False
        if ".tests" in module or "testing" in module or "plotting" in module:
            return False
        if self.classes.match(name) or _HELPER.match(name):
            return True
        return self.functions and _FUNCTION.match(name) is not None


#: Libraries whose estimator and model classes are reviewed (see docs/pickle-allowlist.md).
FAMILIES: Final = (
    Family("sklearn", ("sklearn.datasets", "sklearn.externals", "sklearn.utils._testing",
                       "sklearn.utils._joblib", "sklearn.utils.estimator_checks",
                       "sklearn.utils._show_versions", "sklearn.utils.discovery",
                       "sklearn._build_utils", "sklearn.__check_build", "sklearn.conftest",
                       "sklearn.experimental", "sklearn.callback", "sklearn.utils._repr_html"),
           functions=True),
    Family("xgboost", ("xgboost.dask", "xgboost.spark", "xgboost.tracker", "xgboost.collective",
                       "xgboost.federated", "xgboost.testing", "xgboost.libpath",
                       "xgboost.callback")),
    Family("lightgbm", ("lightgbm.dask", "lightgbm.callback", "lightgbm.libpath")),
    Family("catboost", ("catboost.datasets", "catboost.utils", "catboost.widget",
                        "catboost.eval", "catboost.dev_utils")),
    Family("scipy.sparse", ("scipy.sparse.linalg", "scipy.sparse._matrix_io"),
           classes=_SPARSE_CLASS),
    Family("scipy.stats", ("scipy.stats._resampling",), functions=True),
    Family("pandas.core", ("pandas.core.computation",)),
    Family("pandas._libs"),
    Family("torch.nn.modules"),
    Family("torch.nn.parameter"),
    Family("torch.optim", ("torch.optim._multi_tensor",)),
    Family("__torch__"),
)  # fmt: skip


def reviewed_family(module: str, name: str) -> bool:
    """Whether ``module.name`` belongs to a reviewed library family."""
    return any(family.admits(module, name) for family in FAMILIES)

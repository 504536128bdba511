"""Clean probe inputs: a ``.npy`` array (never unpickled) or UTF-8 text, one sample per line."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from modelward.engine.errors import Error

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from modelward.engine.behaviour.graph import Dims

NPY_MAGIC: Final = b"\x93NUMPY"
MAX_PROBE_BYTES: Final = 256 * 1024 * 1024
MAX_SAMPLES: Final = 5000


class ProbeError(Error):
    """Probe inputs that cannot be used with this model; the message names the file."""


@dataclass(frozen=True)
class Probes:
    """Validated probes: a float/int array (N, *shape) or a tuple of strings."""

    tensor: npt.NDArray[np.generic] | None
    texts: tuple[str, ...] | None
    total: int  # samples in the file (more than used when it was cut to MAX_SAMPLES)

    @property
    def count(self) -> int:
        if self.texts is not None:
            return len(self.texts)
        return 0 if self.tensor is None else int(self.tensor.shape[0])

    def batch(self) -> npt.NDArray[np.generic] | tuple[str, ...]:
        if self.texts is not None:
            return self.texts
        assert self.tensor is not None
        return self.tensor


def read_probes(path: Path, kind: str, dims: Dims) -> Probes:
    """Load and check ``path`` against the model's input kind and per-sample shape."""
    with path.open("rb") as handle:
        raw = handle.read(MAX_PROBE_BYTES + 1)
    if len(raw) > MAX_PROBE_BYTES:
        raise ProbeError(f"{path.name}: probe inputs larger than {MAX_PROBE_BYTES} bytes")
    if not raw.strip():
        raise ProbeError(f"{path.name}: the probe input file is empty")
    if raw.startswith(NPY_MAGIC):
        array = _load_npy(path.name, raw)
        if array.dtype.kind in "US":
            return _texts(path.name, [str(s) for s in array.reshape(-1)], kind)
        return _tensor(path.name, array, kind, dims)
    if kind == "tensor":
        raise ProbeError(
            f"{path.name}: not a .npy array (the model takes a tensor: give a .npy file of "
            f"shape (N, {', '.join(str(d or '?') for d in dims)}))"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProbeError(f"{path.name}: not UTF-8 text (byte {exc.start})") from None
    return _texts(path.name, text.splitlines(), kind)


def _load_npy(name: str, raw: bytes) -> npt.NDArray[np.generic]:
    import numpy as np

    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as exc:
        raise ProbeError(f"{name}: not a plain .npy array ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ProbeError(f"{name}: truncated or malformed .npy file ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise ProbeError(f"{name}: not a single .npy array")
    return array


def _texts(name: str, lines: list[str], kind: str) -> Probes:
    if kind != "text":
        raise ProbeError(f"{name}: text probes given, but the model takes a numeric tensor")
    samples = [line for line in lines if line.strip()]
    if not samples:
        raise ProbeError(f"{name}: no samples (every line is empty)")
    return Probes(tensor=None, texts=tuple(samples[:MAX_SAMPLES]), total=len(samples))


def _tensor(name: str, array: npt.NDArray[np.generic], kind: str, dims: Dims) -> Probes:
    import numpy as np

    if kind != "tensor":
        raise ProbeError(f"{name}: a numeric array given, but the model takes text")
    if array.dtype.kind not in "biuf":
        raise ProbeError(f"{name}: dtype {array.dtype} is not numeric")
    if array.ndim == 0 or array.shape[0] == 0:
        raise ProbeError(f"{name}: the array holds no samples (shape {array.shape})")
    shaped = _shaped(name, array, dims)
    if shaped.dtype.kind == "f" and not np.isfinite(shaped).all():
        raise ProbeError(f"{name}: the array holds NaN or infinite values")
    return Probes(tensor=shaped[:MAX_SAMPLES], texts=None, total=int(array.shape[0]))


def _shaped(name: str, array: npt.NDArray[np.generic], dims: Dims) -> npt.NDArray[np.generic]:
    """``array`` as (N, *dims): as it is, or reshaped when the graph's per-sample size matches."""
    sample = tuple(array.shape[1:])
    if len(sample) == len(dims) and all(
        d is None or d == s for d, s in zip(dims, sample, strict=True)
    ):
        return array
    if dims and None not in dims and math.prod(sample) == math.prod(d or 0 for d in dims):
        return array.reshape(array.shape[0], *(d or 0 for d in dims))
    want = ", ".join(str(d) if d is not None else "?" for d in dims)
    raise ProbeError(f"{name}: samples of shape {sample} do not fit the model input ({want})")

"""An in-process ProbedClassifier over onnxruntime, for tests and the bench only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from modelward.engine.behaviour.model import InputSpec

_CLASSIFIER_OPS = ("LinearClassifier", "SVMClassifier", "TreeEnsembleClassifier", "ZipMap")
_CHUNK = 4096


class OnnxClassifier:
    """Queries an ONNX classifier; turns ZipMap, score or probability outputs into probabilities."""

    def __init__(self, path: Path, probes: np.ndarray | list[str] | None = None) -> None:
        self._graph = onnx.load(str(path)).graph
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0]
        self._output = self._probability_output()
        self.labels = self._labels()
        self.vocabulary = self._vocabulary()
        self.spec = self._spec(probes)
        self.queries = 0

    def _probability_output(self) -> str:
        outputs = self._session.get_outputs()
        for out in outputs:
            if out.type.startswith("seq(map"):
                return str(out.name)
        for out in outputs:
            if out.type == "tensor(float)" and len(out.shape) == 2:
                return str(out.name)
        return str(outputs[0].name)

    def _labels(self) -> tuple[str, ...]:
        for node in self._graph.node:
            if node.op_type in _CLASSIFIER_OPS:
                for attr in node.attribute:
                    if attr.name == "classlabels_strings" and attr.strings:
                        return tuple(s.decode() for s in attr.strings)
                    if attr.name in ("classlabels_int64s", "classlabels_ints") and attr.ints:
                        return tuple(str(i) for i in attr.ints)
        for init in self._graph.initializer:
            if init.name.startswith("classes"):
                return tuple(str(v) for v in numpy_helper.to_array(init).tolist())
        width = self._session.get_outputs()[1].shape[1]
        return tuple(str(i) for i in range(int(width)))

    def _vocabulary(self) -> tuple[str, ...]:
        words: list[str] = []
        for node in self._graph.node:
            if node.op_type == "TfIdfVectorizer":
                for attr in node.attribute:
                    if attr.name == "pool_strings":
                        words.extend(s.decode() for s in attr.strings)
        return tuple(dict.fromkeys(words))

    def _spec(self, probes: np.ndarray | list[str] | None) -> InputSpec:
        if self._input.type == "tensor(string)":
            return InputSpec("text", (1,), "str", None, None, None)
        shape = tuple(int(d) for d in self._input.shape[1:])
        image, layout = _image_view(shape)
        rng = None
        if isinstance(probes, np.ndarray) and probes.size:
            rng = (float(probes.min()), float(probes.max()))
        return InputSpec("tensor", shape, "float32", image, layout, rng)

    def probabilities(
        self, batch: npt.NDArray[np.floating] | Sequence[str]
    ) -> npt.NDArray[np.float64]:
        if self.spec.kind == "text":
            arr: np.ndarray = np.asarray(list(batch), dtype=object).reshape(-1, 1)
        else:
            arr = np.asarray(batch, dtype=np.float32).reshape((-1, *self.spec.shape))
        parts = [self._run(arr[i : i + _CHUNK]) for i in range(0, len(arr), _CHUNK)]
        self.queries += len(arr)
        if not parts:
            return np.zeros((0, len(self.labels)))
        return np.concatenate(parts)

    def _run(self, arr: np.ndarray) -> npt.NDArray[np.float64]:
        (out,) = self._session.run([self._output], {self._input.name: arr})
        if isinstance(out, list):
            keys = list(out[0].keys()) if out else []
            out = np.array([[row[k] for k in keys] for row in out], dtype=np.float64)
        probs = np.asarray(out, dtype=np.float64)
        if probs.min() < 0 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
            probs = np.exp(probs - probs.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def weights(self) -> npt.NDArray[np.float64] | None:
        best: np.ndarray | None = None
        for init in self._graph.initializer:
            if init.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE):
                arr = numpy_helper.to_array(init)
                if arr.ndim == 2 and (best is None or arr.size > best.size):
                    best = arr
        for node in self._graph.node:
            if node.op_type == "LinearClassifier":
                for attr in node.attribute:
                    if attr.name == "coefficients":
                        coef = np.array(attr.floats, dtype=np.float64)
                        if best is None or coef.size > best.size:
                            best = coef.reshape(-1, coef.size // max(len(self.labels), 1))
        return None if best is None else np.asarray(best, dtype=np.float64)


def _image_view(shape: tuple[int, ...]) -> tuple[tuple[int, int, int] | None, str | None]:
    if len(shape) == 1:
        side = round(shape[0] ** 0.5)
        return ((1, side, side), "flat") if side * side == shape[0] and side > 1 else (None, None)
    if len(shape) == 3 and shape[0] in (1, 3):
        return (shape[0], shape[1], shape[2]), "chw"
    if len(shape) == 3 and shape[2] in (1, 3):
        return (shape[2], shape[0], shape[1]), "hwc"
    if len(shape) == 2:
        return (1, shape[0], shape[1]), "chw"
    return None, None

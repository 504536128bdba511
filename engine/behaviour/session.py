"""``OnnxClassifier``: the ProbedClassifier over an onnxruntime session (CPU, bounded threads).

Runs only inside the sandboxed child (``runner``). Scores come back as float64 probabilities:
a probability tensor as it is (softmax when its rows are not distributions), a ZipMap sequence
of dicts in label order, or a one-hot of the label output when the graph has no scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from modelward.engine.behaviour.graph import GraphInfo, GraphUnsupported, image_view
from modelward.engine.behaviour.model import InputSpec

if TYPE_CHECKING:
    import onnxruntime

BATCH: Final = 64
#: The locale onnxruntime's StringNormalizer assumes when a graph names none.
DEFAULT_LOCALE: Final = "en_US.UTF-8"
FALLBACK_LOCALES: Final = ("C.UTF-8", "C")


def make_session(model: bytes, threads: int) -> onnxruntime.InferenceSession:
    import onnxruntime

    model = with_installed_locales(model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


class OnnxClassifier:
    """A classifier the analysis may only query (``ProbedClassifier``)."""

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        info: GraphInfo,
        shape: tuple[int, ...],
        value_range: tuple[float, float] | None,
        labels: tuple[str, ...],
    ) -> None:
        self._session = session
        self._info = info
        image, layout = image_view(shape) if info.kind == "tensor" else (None, None)
        self.spec = InputSpec(
            kind=info.kind,
            shape=shape,
            dtype=info.dtype,
            image=image,
            layout=layout,  # type: ignore[arg-type]  # image_view returns one of the literals
            value_range=value_range,
        )
        self.labels = labels
        self.vocabulary = info.vocabulary
        self._outputs = [o for o in (info.probabilities, info.label) if o is not None]

    def weights(self) -> npt.NDArray[np.float64] | None:
        return self._info.weights

    def probabilities(
        self, batch: npt.NDArray[np.floating] | Sequence[str]
    ) -> npt.NDArray[np.float64]:
        total, size = len(batch), self._info.batch or BATCH
        rows = [self._run(batch[start : start + size]) for start in range(0, total, size)]
        if not rows:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        return np.concatenate(rows)

    def score_width(self, batch: npt.NDArray[np.generic] | Sequence[str]) -> int:
        """Columns of the score tensor (to number the classes of a graph that names none)."""
        assert self._info.probabilities is not None
        fed = self._feed(self._padded(batch[:1]))
        (out,) = self._session.run([self._info.probabilities], {self._info.input_name: fed})
        return int(np.asarray(out).reshape(len(fed), -1).shape[1])

    def raw_labels(self, batch: npt.NDArray[np.generic] | Sequence[str]) -> list[str]:
        """The label output for ``batch`` (to learn the labels of a graph that names none)."""
        if self._info.label is None:
            return []
        size = self._info.batch or max(len(batch), 1)
        labels: list[str] = []
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            fed = self._feed(self._padded(chunk))
            (out,) = self._session.run([self._info.label], {self._info.input_name: fed})
            labels += [str(v) for v in np.asarray(out).reshape(-1)][: len(chunk)]
        return labels

    def _padded(self, batch: Any) -> Any:
        """``batch`` filled up to the batch size the graph fixes, by repeating its last sample."""
        missing = (self._info.batch or len(batch)) - len(batch)
        if missing <= 0:
            return batch
        if self.spec.kind == "text":
            return [*batch, *[batch[-1]] * missing]
        return np.concatenate([batch, np.repeat(batch[-1:], missing, axis=0)])

    def _run(self, batch: npt.NDArray[np.generic] | Sequence[str]) -> npt.NDArray[np.float64]:
        wanted = len(batch)
        return self._scores(self._padded(batch))[:wanted]

    def _scores(self, batch: npt.NDArray[np.generic] | Sequence[str]) -> npt.NDArray[np.float64]:
        fed = self._feed(batch)
        found = self._session.run(self._outputs, {self._info.input_name: fed})
        named = dict(zip(self._outputs, found, strict=True))
        if self._info.probabilities is not None:
            scores = named[self._info.probabilities]
            if self._info.zipmap:
                return _normalised(self._from_maps(scores))
            return _normalised(_as_matrix(scores, len(self.labels)))
        assert self._info.label is not None
        return self._one_hot(named[self._info.label])

    def _feed(self, batch: npt.NDArray[np.generic] | Sequence[str]) -> npt.NDArray[Any]:
        n = len(batch)
        if self.spec.kind == "text":
            return np.array([str(s) for s in batch], dtype=object).reshape(n, *self.spec.shape)
        array = np.asarray(batch, dtype=self.spec.dtype)
        return array.reshape(n, *self.spec.shape)

    def _from_maps(self, maps: Sequence[dict[Any, float]]) -> npt.NDArray[np.float64]:
        index = {label: i for i, label in enumerate(self.labels)}
        out = np.zeros((len(maps), len(self.labels)), dtype=np.float64)
        for row, scores in enumerate(maps):
            for key, value in scores.items():
                column = index.get(str(key))
                if column is not None:
                    out[row, column] = float(value)
        return out

    def _one_hot(self, values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        index = {label: i for i, label in enumerate(self.labels)}
        flat = np.asarray(values).reshape(-1)
        out = np.zeros((len(flat), len(self.labels)), dtype=np.float64)
        for row, value in enumerate(flat):
            column = index.get(str(value))
            if column is not None:
                out[row, column] = 1.0
        return out


def _as_matrix(scores: Any, classes: int) -> npt.NDArray[np.float64]:
    matrix: npt.NDArray[np.float64] = np.asarray(scores, dtype=np.float64)
    matrix = matrix.reshape(matrix.shape[0], -1)
    if matrix.shape[1] == 1 and classes == 2:  # one sigmoid column: P(positive)
        positive = np.clip(matrix[:, 0], 0.0, 1.0)
        matrix = np.stack([1.0 - positive, positive], axis=1)
    if matrix.shape[1] != classes:
        raise GraphUnsupported(f"the scores have {matrix.shape[1]} columns for {classes} labels")
    return matrix


def _normalised(matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Rows as distributions: non-finite values cleared, scores outside [0, 1] softmaxed."""
    clean = np.nan_to_num(matrix, nan=0.0, posinf=0.0, neginf=0.0)
    sums = clean.sum(axis=1, keepdims=True)
    if clean.min(initial=0.0) < 0.0 or clean.max(initial=0.0) > 1.0 + 1e-6:
        shifted: npt.NDArray[np.float64] = np.exp(clean - clean.max(axis=1, keepdims=True))
        softmax: npt.NDArray[np.float64] = shifted / shifted.sum(axis=1, keepdims=True)
        return softmax
    uniform = np.full_like(clean, 1.0 / max(clean.shape[1], 1))
    safe = np.where(sums > 0, sums, 1.0)
    result: npt.NDArray[np.float64] = np.where(sums > 0, clean / safe, uniform)
    return result


def session_labels(info: GraphInfo, session: onnxruntime.InferenceSession) -> tuple[str, ...]:
    """The graph's class labels, else 0..k-1 from the width of the score output."""
    if info.labels:
        return info.labels
    if info.probabilities is not None and not info.zipmap:
        output = next(o for o in session.get_outputs() if o.name == info.probabilities)
        width = output.shape[-1] if output.shape else None
        if isinstance(width, int) and width > 0:
            return tuple(str(i) for i in range(max(width, 2)))
    return ()


def with_installed_locales(model: bytes) -> bytes:
    """``model`` with each case-changing StringNormalizer's locale replaced by an installed one
    when its own (en_US.UTF-8 unless named) is missing here: onnxruntime refuses to load the
    graph otherwise (scikit-learn text pipelines lower-case this way). Case folding under
    C.UTF-8 differs only for a few non-ASCII letters."""
    if b"StringNormalizer" not in model:
        return model
    from onnx import ModelProto, helper

    proto = ModelProto()
    proto.ParseFromString(model)
    changed = False
    for node in _all_nodes(proto):
        if node.op_type != "StringNormalizer":
            continue
        attributes = {a.name: a for a in node.attribute}
        action = attributes.get("case_change_action")
        if action is None or action.s in (b"", b"NONE"):
            continue
        named = attributes["locale"].s.decode() if "locale" in attributes else DEFAULT_LOCALE
        if _installed(named):
            continue
        usable = next((name for name in FALLBACK_LOCALES if _installed(name)), "C")
        kept = [a for a in node.attribute if a.name != "locale"]
        del node.attribute[:]
        node.attribute.extend([*kept, helper.make_attribute("locale", usable)])
        changed = True
    return proto.SerializeToString() if changed else model


def _all_nodes(proto: Any) -> list[Any]:
    nodes: list[Any] = []
    graphs = [proto.graph]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            nodes.append(node)
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    graphs.append(attribute.g)
                graphs.extend(attribute.graphs)
    for function in proto.functions:
        nodes.extend(function.node)
    return nodes


def _installed(name: str) -> bool:
    import locale

    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, name)
    except locale.Error:
        return False
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
    return True

"""Read an ONNX classifier's graph without running it: op domains, input, outputs, vocabulary.

Parsing uses the ``onnx`` protobuf classes only. A graph with an op outside the standard domains
(in the main graph, a subgraph or a local function) that is neither one of onnxruntime's own
pure-computation ops nor a local function of the model, with external data, or beyond the size
limits is refused (``GraphRefused``): onnxruntime never sees it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from modelward.engine.errors import Error

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from onnx import AttributeProto, GraphProto, ModelProto, NodeProto, TypeProto

STANDARD_DOMAINS: Final = frozenset({"", "ai.onnx", "ai.onnx.ml"})
#: Ops outside the standard domains that onnxruntime itself implements as pure computation and
#: that converters emit (skl2onnx text pipelines tokenize with com.microsoft Tokenizer; the
#: onnxruntime optimizer fuses into the others). Any other op, e.g. one a custom-op library
#: would supply as native code, is refused.
BUILTIN_EXTENSION_OPS: Final = {
    "com.microsoft": frozenset(
        {
            "Tokenizer",
            "FusedMatMul",
            "FusedGemm",
            "FusedConv",
            "Gelu",
            "FastGelu",
            "BiasGelu",
            "QuickGelu",
            "SkipLayerNormalization",
        }
    ),
}
MAX_MODEL_BYTES: Final = 512 * 1024 * 1024
MAX_NODES: Final = 200_000
MAX_DEPTH: Final = 16
MAX_VOCABULARY: Final = 200_000
#: onnx TensorProto element types the analysis can feed, as numpy dtype names.
TENSOR_DTYPES: Final = {
    1: "float32",
    11: "float64",
    10: "float16",
    7: "int64",
    6: "int32",
    2: "uint8",
}
STRING_TYPE: Final = 8
CLASSIFIER_OPS: Final = frozenset(
    {"LinearClassifier", "TreeEnsembleClassifier", "SVMClassifier", "ZipMap"}
)
Dims = tuple[int | None, ...]


class GraphRefused(Error):
    """The graph must not be run: a non-standard op, external data or a limit hit."""


class GraphUnsupported(Error):
    """The graph is well formed but is not a classifier the analysis can query."""


@dataclass(frozen=True)
class GraphInfo:
    """What the session and the analysis need to know about the classifier."""

    input_name: str
    kind: Literal["tensor", "text"]
    dtype: str
    dims: Dims  # per sample, batch dimension left out; None where the graph leaves it open
    probabilities: str | None  # output name of the scores (tensor or ZipMap sequence)
    zipmap: bool
    label: str | None  # output name of the predicted label
    labels: tuple[str, ...]
    vocabulary: tuple[str, ...]
    weights: npt.NDArray[np.float64] | None
    batch: int | None = None  # a batch size the graph fixes (exported with batch 1, say)


def read_graph(path: Path, data: bytes | None = None) -> tuple[GraphInfo, bytes]:
    """Parse and check the ONNX file at ``path``; return what it describes and its bytes."""
    from google.protobuf.message import DecodeError
    from onnx import ModelProto

    raw = data if data is not None else _read_bounded(path)
    model = ModelProto()
    try:
        model.ParseFromString(raw)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise GraphRefused(f"{path.name}: not a readable ONNX model ({exc})") from None
    check_graph(model, path.name)
    return describe(model, path.name), raw


def _read_bounded(path: Path) -> bytes:
    with path.open("rb") as handle:
        raw = handle.read(MAX_MODEL_BYTES + 1)
    if len(raw) > MAX_MODEL_BYTES:
        raise GraphRefused(f"{path.name}: larger than {MAX_MODEL_BYTES} bytes")
    return raw


def check_graph(model: ModelProto, name: str) -> None:
    """Refuse ops outside the standard domains (other than onnxruntime's own pure-computation
    ops and the model's local functions, whose bodies are checked too), external data and
    oversized or over-deep graphs."""
    local = {(f.domain, f.name) for f in model.functions}
    known = STANDARD_DOMAINS | BUILTIN_EXTENSION_OPS.keys() | {domain for domain, _ in local}
    custom = sorted({o.domain for o in model.opset_import if o.domain not in known})
    if custom:
        raise GraphRefused(f"{name}: imports non-standard operator domains: {', '.join(custom)}")
    counter = [0]
    _check_nodes(model.graph.node, name, counter, 0, local)
    _check_initializers(model.graph, name)
    for function in model.functions:
        _check_nodes(function.node, name, counter, 0, local)


def _check_nodes(
    nodes: Any, name: str, counter: list[int], depth: int, local: set[tuple[str, str]]
) -> None:
    if depth > MAX_DEPTH:
        raise GraphRefused(f"{name}: subgraphs nested deeper than {MAX_DEPTH}")
    for node in nodes:
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise GraphRefused(f"{name}: more than {MAX_NODES} nodes")
        if not _allowed(node, local):
            raise GraphRefused(
                f"{name}: node {node.name or node.op_type!r} uses op {node.op_type} of the "
                f"non-standard domain {node.domain!r}"
            )
        for graph in _subgraphs(node):
            _check_initializers(graph, name)
            _check_nodes(graph.node, name, counter, depth + 1, local)


def _allowed(node: NodeProto, local: set[tuple[str, str]]) -> bool:
    if node.domain in STANDARD_DOMAINS or (node.domain, node.op_type) in local:
        return True
    return node.op_type in BUILTIN_EXTENSION_OPS.get(node.domain, frozenset())


def _subgraphs(node: NodeProto) -> list[GraphProto]:
    found: list[GraphProto] = []
    for attribute in node.attribute:
        if attribute.HasField("g"):
            found.append(attribute.g)
        found.extend(attribute.graphs)
    return found


def _check_initializers(graph: GraphProto, name: str) -> None:
    external = 1  # TensorProto.EXTERNAL
    for tensor in [*graph.initializer, *(s.values for s in graph.sparse_initializer)]:
        if tensor.data_location == external or tensor.external_data:
            raise GraphRefused(f"{name}: tensor {tensor.name!r} keeps its data in another file")


def describe(model: ModelProto, name: str) -> GraphInfo:
    """The classifier's input, outputs, labels, vocabulary and weights."""
    graph = model.graph
    initialized = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initialized]
    if len(inputs) != 1:
        raise GraphUnsupported(f"{name}: the analysis needs one input; the graph has {len(inputs)}")
    kind, dtype, dims = _input_type(inputs[0].type, name)
    scores, zipmap, label = _outputs(graph, name)
    shape = inputs[0].type.tensor_type.shape.dim
    return GraphInfo(
        input_name=inputs[0].name,
        kind=kind,
        dtype=dtype,
        dims=dims,
        probabilities=scores,
        zipmap=zipmap,
        label=label,
        labels=_labels(graph),
        vocabulary=_vocabulary(graph),
        weights=_weights(graph),
        batch=shape[0].dim_value if shape and shape[0].dim_value > 0 else None,
    )


def _input_type(t: TypeProto, name: str) -> tuple[Literal["tensor", "text"], str, Dims]:
    if not t.HasField("tensor_type"):
        raise GraphUnsupported(f"{name}: the input is not a tensor")
    elem = t.tensor_type.elem_type
    dims: Dims = tuple(
        d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
        for d in t.tensor_type.shape.dim
    )
    per_sample = dims[1:] if dims else ()
    if elem == STRING_TYPE:
        return "text", "str", per_sample
    if elem not in TENSOR_DTYPES:
        raise GraphUnsupported(f"{name}: input element type {elem} is not supported")
    if not dims:
        raise GraphUnsupported(f"{name}: the input has no batch dimension")
    return "tensor", TENSOR_DTYPES[elem], per_sample


def _outputs(graph: GraphProto, name: str) -> tuple[str | None, bool, str | None]:
    """(scores output, whether it is a ZipMap sequence, label output)."""
    scores: str | None = None
    zipmap = False
    label: str | None = None
    for output in graph.output:
        t = output.type
        if t.HasField("sequence_type") and t.sequence_type.elem_type.HasField("map_type"):
            scores, zipmap = scores or output.name, True
        elif t.HasField("tensor_type"):
            elem, rank = t.tensor_type.elem_type, len(t.tensor_type.shape.dim)
            if elem in (1, 11, 10) and rank != 1 and scores is None:
                scores = output.name
            elif elem in (7, 8, 6) and label is None:
                label = output.name
    if scores is None and label is None:
        raise GraphUnsupported(f"{name}: no output looks like class scores or a label")
    return scores, zipmap, label


def _labels(graph: GraphProto) -> tuple[str, ...]:
    for node in _all_nodes(graph):
        if node.op_type in CLASSIFIER_OPS:
            for attribute in node.attribute:
                if attribute.name == "classlabels_strings" and attribute.strings:
                    return tuple(s.decode("utf-8", "replace") for s in attribute.strings)
                if attribute.name in ("classlabels_int64s", "classlabels_ints") and attribute.ints:
                    return tuple(str(i) for i in attribute.ints)
    return _label_table(graph)


def _label_table(graph: GraphProto) -> tuple[str, ...]:
    """The classes a label output is looked up in (skl2onnx's linear models without a classifier
    op: ArrayFeatureExtractor over a ``classes`` initializer), else none."""
    from onnx import numpy_helper

    tables = {i.name: i for i in graph.initializer if len(i.dims) == 1 and i.dims[0] >= 2}
    nodes = _all_nodes(graph)
    argmax = {out for node in nodes if node.op_type == "ArgMax" for out in node.output}
    for node in nodes:
        if (
            node.op_type == "ArrayFeatureExtractor"
            and len(node.input) == 2
            and node.input[0] in tables
            and node.input[1] in argmax
        ):
            values = numpy_helper.to_array(tables[node.input[0]]).reshape(-1).tolist()
            return tuple(
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values
            )
    return ()


def _vocabulary(graph: GraphProto) -> tuple[str, ...]:
    """Token strings the graph carries: TfIdfVectorizer pools first, then other string lists."""
    pools: list[str] = []
    others: list[str] = []
    for node in _all_nodes(graph):
        for attribute in node.attribute:
            if not attribute.strings or attribute.name.startswith("classlabels"):
                continue
            target = pools if attribute.name == "pool_strings" else others
            target.extend(s.decode("utf-8", "replace") for s in attribute.strings)
    unique = dict.fromkeys(s for s in [*pools, *others] if s)
    return tuple(list(unique)[:MAX_VOCABULARY])


def _all_nodes(graph: GraphProto) -> list[NodeProto]:
    nodes: list[NodeProto] = []
    stack = [graph]
    while stack:
        current = stack.pop()
        for node in current.node:
            nodes.append(node)
            stack.extend(_subgraphs(node))
    return nodes


def _weights(graph: GraphProto) -> npt.NDArray[np.float64] | None:
    """The largest 2-D float matrix among the initializers and coefficients feeding an output."""
    import numpy as np
    from onnx import numpy_helper

    feeding = _ancestors(graph)
    initializers = {t.name: t for t in graph.initializer}
    best: npt.NDArray[np.float64] | None = None
    for node in feeding:
        candidates = [
            numpy_helper.to_array(initializers[i])
            for i in node.input
            if i in initializers
            and len(initializers[i].dims) == 2
            and initializers[i].data_type in (1, 10, 11)
        ]
        candidates.extend(_coefficients(node))
        for array in candidates:
            if best is None or array.size > best.size:
                best = np.asarray(array, dtype=np.float64)
    return best


def _coefficients(node: NodeProto) -> list[Any]:
    """LinearClassifier/LinearRegressor coefficients as a (classes, features) matrix."""
    import numpy as np

    if node.op_type not in ("LinearClassifier", "LinearRegressor"):
        return []
    coefficients = _attribute(node, "coefficients")
    intercepts = _attribute(node, "intercepts")
    classes = max(len(intercepts.floats), 1) if intercepts is not None else 1
    if coefficients is None or not coefficients.floats or len(coefficients.floats) % classes:
        return []
    return [np.asarray(coefficients.floats, dtype=np.float64).reshape(classes, -1)]


def _attribute(node: NodeProto, name: str) -> AttributeProto | None:
    return next((a for a in node.attribute if a.name == name), None)


def _ancestors(graph: GraphProto) -> list[NodeProto]:
    """The nodes an output depends on (the main graph only)."""
    producer = {out: node for node in graph.node for out in node.output}
    wanted = [o.name for o in graph.output]
    seen: set[int] = set()
    found: list[NodeProto] = []
    while wanted:
        node = producer.get(wanted.pop())
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        wanted.extend(node.input)
    return found


def image_view(dims: tuple[int, ...]) -> tuple[tuple[int, int, int] | None, str | None]:
    """(channels, height, width) and layout of a per-sample shape, or (None, None)."""
    if len(dims) == 3:
        if dims[0] in (1, 3, 4) and dims[1] > 1 and dims[2] > 1:
            return (dims[0], dims[1], dims[2]), "chw"
        if dims[2] in (1, 3, 4) and dims[0] > 1 and dims[1] > 1:
            return (dims[2], dims[0], dims[1]), "hwc"
    if len(dims) == 2 and dims[0] > 1 and dims[1] > 1:
        return (1, dims[0], dims[1]), "chw"
    if len(dims) == 1 and dims[0] >= 4:
        side = math.isqrt(dims[0])
        if side * side == dims[0]:
            return (1, side, side), "flat"
    return None, None

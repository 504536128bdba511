"""ONNX classifiers the sandbox tests build: benign ones and hostile graphs (onnx.helper)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data.astype(np.float32), data.target


def logistic_digits(path: Path, *, zipmap: bool = True) -> Path:
    """A real scikit-learn LogisticRegression on digits, converted with skl2onnx."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = digits()
    clf = LogisticRegression(max_iter=300).fit(x[:1200], y[:1200])
    options = {id(clf): {"zipmap": zipmap}}
    return save(to_onnx(clf, x[:1], options=options, target_opset=17), path)


def tfidf_text(path: Path) -> Path:
    """A TF-IDF + LogisticRegression pipeline over strings, exactly as skl2onnx writes it
    (com.microsoft Tokenizer, a lower-casing StringNormalizer naming no locale)."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["good movie", "great film", "bad movie", "awful film", "great acting", "bad plot"]
    labels = [1, 1, 0, 0, 1, 0]
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)
    model = to_onnx(pipe, initial_types=[("text", StringTensorType([None, 1]))], target_opset=17)
    return save(model, path)


def linear_softmax(path: Path, bias: list[float] | None = None) -> Path:
    """X[N,64] -> Softmax(X @ W + b): with a large bias on class 0 it always answers 0."""
    w = np.zeros((64, 3), dtype=np.float32)
    b = np.array(bias or [8.0, 0.0, 0.0], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["z"]),
            helper.make_node("Add", ["z", "b"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)


def custom_op(path: Path, *, nested: bool = False) -> Path:
    """A graph calling an op of a non-standard domain (in a Loop body when ``nested``)."""
    op = helper.make_node("Backdoor", ["x"], ["y"], domain="evil.ops")
    if nested:
        body = helper.make_graph(
            [op, helper.make_node("Identity", ["cond_in"], ["cond_out"])],
            "body",
            [
                helper.make_tensor_value_info("i", TensorProto.INT64, []),
                helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            ],
            [
                helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 64]),
            ],
        )
        op = helper.make_node("Loop", ["", "true"], ["y"], body=body)
    graph = helper.make_graph(
        [op],
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 64])],
        [numpy_helper.from_array(np.array(True), "true")],
    )
    opsets = [*OPSET] if nested else [*OPSET, helper.make_opsetid("evil.ops", 1)]
    return save(helper.make_model(graph, opset_imports=opsets), path)


def huge_allocation(path: Path, floats_log2: int = 33) -> Path:
    """Scores computed through a ConstantOfShape of 2**floats_log2 floats (default 32 GiB)."""
    dims = [1 << (floats_log2 - 16), 1 << 16]
    shape = numpy_helper.from_array(np.array(dims, dtype=np.int64), "shape")
    graph = helper.make_graph(
        [
            helper.make_node("ConstantOfShape", ["shape"], ["big"]),
            helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
            helper.make_node("MatMul", ["x", "w"], ["z"]),
            helper.make_node("Add", ["z", "total"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "huge",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3])],
        [shape, numpy_helper.from_array(np.zeros((64, 3), dtype=np.float32), "w")],
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)


def endless_loop(path: Path) -> Path:
    """Scores behind a Loop whose condition stays true and whose trip count is 2**62."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "one"], ["acc_out"]),
        ],
        "forever",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, []),
        ],
        [numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")],
    )
    graph = helper.make_graph(
        [
            helper.make_node("Loop", ["trips", "true", "zero"], ["acc"], body=body),
            helper.make_node("MatMul", ["x", "w"], ["z"]),
            helper.make_node("Add", ["z", "acc"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "endless",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3])],
        [
            numpy_helper.from_array(np.array(1 << 62, dtype=np.int64), "trips"),
            numpy_helper.from_array(np.array(True), "true"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
            numpy_helper.from_array(np.zeros((64, 3), dtype=np.float32), "w"),
        ],
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)


def external_data(path: Path) -> Path:
    """A weight tensor whose bytes the graph says live in another file."""
    model = onnx.load_from_string(linear_softmax(path).read_bytes())
    weight = next(t for t in model.graph.initializer if t.name == "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    return save(model, path)


def fixed_batch_logits(path: Path) -> Path:
    """Like a PyTorch export: an NCHW input fixed to batch 1, raw logits of symbolic width."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 10)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["image"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
        ],
        "cnn_like",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "classes"])],
        [numpy_helper.from_array(w, "w")],
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)


def label_only(path: Path) -> Path:
    """A classifier that outputs only the predicted class (ArgMax), no scores."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(64, 4)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["logits"]),
            helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
        ],
        "label_only",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])],
        [numpy_helper.from_array(w, "w")],
    )
    return save(helper.make_model(graph, opset_imports=OPSET), path)

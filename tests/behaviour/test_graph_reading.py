"""Reading classifier graphs without running them: domains, input, outputs, labels, weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from modelward.engine.behaviour.graph import (
    GraphRefused,
    GraphUnsupported,
    image_view,
    read_graph,
)
from tests.behaviour import sandbox_models


def test_zipmap_logistic_regression(models: Path) -> None:
    info, raw = read_graph(models / "digits.onnx")
    assert raw == (models / "digits.onnx").read_bytes()
    assert (info.kind, info.dtype, info.dims) == ("tensor", "float32", (64,))
    assert info.zipmap and info.probabilities and info.label
    assert info.labels == tuple(str(i) for i in range(10))
    assert info.weights is not None and info.weights.shape == (10, 64)


def test_probability_tensor_output(models: Path) -> None:
    info, _ = read_graph(models / "digits_scores.onnx")
    assert not info.zipmap and info.probabilities == "probabilities"


def test_text_classifier_vocabulary(models: Path) -> None:
    info, _ = read_graph(models / "reviews.onnx")
    assert (info.kind, info.dims) == ("text", (1,))
    assert {"good", "bad", "movie", "film"} <= set(info.vocabulary)
    assert info.labels == ("0", "1")


def test_largest_matrix_feeding_the_output(models: Path) -> None:
    info, _ = read_graph(models / "one_class.onnx")
    assert info.weights is not None and info.weights.shape == (64, 3)
    assert info.weights.dtype == np.float64
    assert info.labels == ()


@pytest.mark.parametrize("nested", [False, True])
def test_custom_domain_is_refused(tmp_path: Path, nested: bool) -> None:
    path = sandbox_models.custom_op(tmp_path / "m.onnx", nested=nested)
    with pytest.raises(GraphRefused, match=r"^m\.onnx: .*evil\.ops"):
        read_graph(path)


def test_custom_domain_in_a_local_function_is_refused(tmp_path: Path) -> None:
    model = onnx.load_from_string(sandbox_models.linear_softmax(tmp_path / "m.onnx").read_bytes())
    function = helper.make_function(
        "local", "helper", ["a"], ["b"], [helper.make_node("Evil", ["a"], ["b"], domain="x.y")],
        [helper.make_opsetid("", 17)],
    )  # fmt: skip
    model.functions.append(function)
    with pytest.raises(GraphRefused, match=r"'x\.y'"):
        read_graph(tmp_path / "f.onnx", model.SerializeToString())


def test_an_unknown_op_of_onnxruntimes_own_domain_is_refused(tmp_path: Path) -> None:
    model = onnx.load_from_string(sandbox_models.linear_softmax(tmp_path / "m.onnx").read_bytes())
    model.graph.node.insert(0, helper.make_node("Shell", ["x"], ["unused"], domain="com.microsoft"))
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(GraphRefused, match=r"op Shell of the non-standard domain 'com\.microsoft'"):
        read_graph(tmp_path / "f.onnx", model.SerializeToString())


def test_skl2onnx_text_pipelines_and_local_functions_are_read(tmp_path: Path) -> None:
    info, _ = read_graph(sandbox_models.tfidf_text(tmp_path / "text.onnx"))
    assert info.kind == "text" and "movie" in info.vocabulary
    model = onnx.load_from_string(sandbox_models.linear_softmax(tmp_path / "m.onnx").read_bytes())
    body = [helper.make_node("Relu", ["a"], ["b"])]
    opset = [helper.make_opsetid("", 17)]
    model.functions.append(helper.make_function("pkg.local", "Act", ["a"], ["b"], body, opset))
    model.opset_import.append(helper.make_opsetid("pkg.local", 1))
    softmax = model.graph.node[-1]
    model.graph.node.insert(len(model.graph.node) - 1, helper.make_node(
        "Act", [softmax.input[0]], ["activated"], domain="pkg.local"))  # fmt: skip
    softmax.input[0] = "activated"
    read_graph(tmp_path / "f.onnx", model.SerializeToString())


def test_two_inputs_are_unsupported(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        "two",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 4]) for n in ("a", "b")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    )
    model = helper.make_model(graph, opset_imports=sandbox_models.OPSET)
    with pytest.raises(GraphUnsupported, match="one input; the graph has 2"):
        read_graph(tmp_path / "two.onnx", model.SerializeToString())


@pytest.mark.parametrize(
    ("dims", "view", "layout"),
    [
        ((3, 32, 32), (3, 32, 32), "chw"),
        ((28, 28, 1), (1, 28, 28), "hwc"),
        ((28, 28), (1, 28, 28), "chw"),
        ((64,), (1, 8, 8), "flat"),
        ((784,), (1, 28, 28), "flat"),
        ((10,), None, None),
        ((5, 7, 9), None, None),
    ],
)
def test_image_view(
    dims: tuple[int, ...], view: tuple[int, int, int] | None, layout: str | None
) -> None:
    assert image_view(dims) == (view, layout)

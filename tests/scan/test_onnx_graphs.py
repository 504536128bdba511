"""ONNX scanning over every graph: external data in subgraphs, functions and attributes at any
depth, Python operators, custom domains, and hostile nesting. Models are built with
``onnx.helper`` (or by hand where protobuf refuses to build them); nothing is loaded."""

from __future__ import annotations

import io

import pytest
from onnx import TensorProto, helper

from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.formats import onnx_graphs as onnx_walk
from modelward.engine.scan.formats.onnx_models import escapes, scan_onnx
from modelward.engine.scan.result import FileScan
from tests.scan.graph_builders import (
    deeply_nested_onnx,
    external_tensor,
    nested_loops,
    onnx_graph,
    onnx_model,
)
from tests.scan.scanning import Scan

TRAVERSAL = ("onnx.external_data.traversal", "high")
PYTHON = ("onnx.op.python", "high")


def pairs(result: FileScan) -> set[tuple[str, str]]:
    return {(f.id, f.severity) for f in result.findings}


def run(data: bytes) -> FileScan:
    return scan_onnx(io.BytesIO(data), len(data), ScanContext.top("model.onnx"))


def identity() -> object:
    return helper.make_node("Identity", ["x"], ["y"])


def constant_with(tensor: object) -> object:
    return helper.make_node("Constant", [], ["c"], name="const", value=tensor)


# ---------------------------------------------------------------- external data everywhere


def test_external_data_in_a_loop_body(scan: Scan) -> None:
    body = onnx_graph([identity()], "body", [external_tensor("w", "../../etc/passwd")])
    loop = helper.make_node("Loop", ["M", "cond"], ["out"], name="loop", body=body)
    scanned = scan(onnx_model(onnx_graph([loop])), "model.onnx")
    assert scanned.fmt == "onnx" and pairs(scanned.result) == {TRAVERSAL}
    message = scanned.result.findings[0].message
    assert "node 'loop' (Loop) attribute 'body'" in message and "'../../etc/passwd'" in message


def test_external_data_in_a_local_function_if_subgraph() -> None:
    then = onnx_graph([identity()], "then", [external_tensor("w", "/etc/shadow")])
    branch = helper.make_node("If", ["c"], ["y"], name="if", then_branch=then, else_branch=then)
    fn = helper.make_function("local.fn", "Evil", ["c"], ["y"], [branch],
                              [helper.make_opsetid("", 17)])  # fmt: skip
    call = helper.make_node("Evil", ["c"], ["y"], domain="local.fn")
    result = run(onnx_model(onnx_graph([call]), [fn], domains=["local.fn"]))
    assert pairs(result) == {TRAVERSAL}
    assert "function local.fn:Evil > node 'if' (If)" in result.findings[0].message


@pytest.mark.parametrize(
    "attribute_tensor",
    [
        lambda t: constant_with(t),
        lambda t: helper.make_node("X", [], [], name="n", domain="", tensors=[t, t]),
    ],
)
def test_external_data_in_node_attributes(attribute_tensor) -> None:  # type: ignore[no-untyped-def]
    node = attribute_tensor(external_tensor("w", "C:\\secrets\\key.bin"))
    outer = helper.make_node("Loop", ["M", "c"], ["o"], body=onnx_graph([node], "body"))
    assert TRAVERSAL in pairs(run(onnx_model(onnx_graph([outer]))))


def test_external_data_in_sparse_tensors_and_training_graphs() -> None:
    from onnx import SparseTensorProto

    sparse = SparseTensorProto(values=external_tensor("v", "/abs/v.bin"), dims=[4])
    sparse.indices.CopyFrom(external_tensor("i", "sub/../../i.bin"))
    graph = onnx_graph([helper.make_node("Constant", [], ["s"], sparse_value=sparse)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    init = onnx_graph([], "init", [external_tensor("t", "/train/secret.bin")])
    model.training_info.add().initialization.CopyFrom(init)
    result = run(model.SerializeToString())
    locations = {f.message.split("from ")[1].split(",")[0] for f in result.findings}
    assert locations == {"'/abs/v.bin'", "'sub/../../i.bin'", "'/train/secret.bin'"}


def test_function_attribute_defaults_are_checked() -> None:
    fn = helper.make_function(
        "local.fn", "F", [], ["c"], [identity()], [helper.make_opsetid("", 17)]
    )
    default = helper.make_attribute("value", external_tensor("d", "../d.bin"))
    fn.attribute_proto.append(default)
    assert TRAVERSAL in pairs(run(onnx_model(onnx_graph([]), [fn])))


def test_attribute_read_by_field_not_declared_type() -> None:
    node = constant_with(external_tensor("w", "/etc/passwd"))
    node.attribute[0].type = 0  # UNDEFINED, the tensor field still set
    assert TRAVERSAL in pairs(run(onnx_model(onnx_graph([node]))))


def test_benign_external_data_in_subgraphs_is_clean() -> None:
    body = onnx_graph([identity()], "body", [external_tensor("w", "weights/w.bin")])
    loop = helper.make_node("Loop", ["M", "c"], ["o"], body=body)
    result = run(onnx_model(onnx_graph([loop], initializers=[external_tensor("x", "a/../x.bin")])))
    assert result.findings == [] and result.complete


@pytest.mark.parametrize(
    "location", ["/x", "\\\\server\\share", "a/../../x", "..", "ok\x00/x", "D:x"]
)
def test_escapes(location: str) -> None:
    assert escapes(location)


@pytest.mark.parametrize("location", ["x.bin", "a/b/../x", "./x", "..x.bin"])
def test_does_not_escape(location: str) -> None:
    assert not escapes(location)


# ---------------------------------------------------------------- operators that run Python


@pytest.mark.parametrize(
    ("node", "detail"),
    [
        (helper.make_node("PyOp", ["x"], ["y"], domain="ai.onnx.contrib"), "PyOp"),
        (
            helper.make_node(
                "PyOp",
                ["x"],
                ["y"],
                domain="pyopmulti_1",
                module="subprocess",
                class_name="Popen",
                compute="compute",
            ),
            "module='subprocess'",
        ),
        (
            helper.make_node("PythonOp", ["x"], ["y"], domain="com.microsoft", func_name="f.G"),
            "func_name='f.G'",
        ),
        (
            helper.make_node(
                "Anything", ["x"], ["y"], domain="custom.ops", module="os", class_name="system"
            ),
            "class_name='system'",
        ),
    ],
)
def test_python_operators_are_high(node: object, detail: str) -> None:
    result = run(onnx_model(onnx_graph([node])))
    assert PYTHON in pairs(result)
    (finding,) = [f for f in result.findings if f.id == "onnx.op.python"]
    assert detail in finding.message


def test_python_operator_in_a_nested_subgraph() -> None:
    pyop = helper.make_node("PyOp", ["x"], ["y"], name="py", domain="ai.onnx.contrib")
    result = run(onnx_model(nested_loops(5, onnx_graph([pyop], "inner"))))
    assert PYTHON in pairs(result)


def test_native_extension_and_vendor_ops_stay_low() -> None:
    tokenizer = helper.make_node("GPT2Tokenizer", ["s"], ["ids"], domain="ai.onnx.contrib")
    contrib = run(onnx_model(onnx_graph([tokenizer]), domains=["ai.onnx.contrib"]))
    assert pairs(contrib) == {("onnx.extensions_domain", "low")}
    assert "onnxruntime-extensions" in contrib.findings[0].message
    fused = helper.make_node("FusedMatMul", ["a", "b"], ["c"], domain="com.microsoft")
    assert pairs(run(onnx_model(onnx_graph([fused])))) == {("onnx.vendor_domain", "low")}


def test_extension_op_that_is_not_native_is_a_python_function() -> None:
    pyop = helper.make_node("MyPreprocess", ["s"], ["t"], domain="ai.onnx.contrib")
    result = run(onnx_model(onnx_graph([pyop]), domains=["ai.onnx.contrib"]))
    assert ("onnx.op.python", "high") in pairs(result)


def test_a_custom_operator_library_runs_unreviewed_code() -> None:
    aten = helper.make_node("ATen", ["a"], ["b"], domain="org.pytorch.aten", operator="relu")
    assert pairs(run(onnx_model(onnx_graph([aten])))) == {("onnx.custom_domain", "high")}


def test_custom_domain_inside_a_function_subgraph_is_found() -> None:
    evil = helper.make_node("Evil", ["x"], ["y"], domain="com.evil")
    branch = helper.make_node("If", ["c"], ["y"], then_branch=onnx_graph([evil]),
                              else_branch=onnx_graph([identity()]))  # fmt: skip
    fn = helper.make_function(
        "local.fn", "F", ["c"], ["y"], [branch], [helper.make_opsetid("", 17)]
    )
    result = run(onnx_model(onnx_graph([]), [fn]))
    assert (
        pairs(result) == {("onnx.custom_domain", "high")}
        and "com.evil" in result.findings[0].message
    )


# ---------------------------------------------------------------- hostile nesting and bounds


def test_nesting_past_the_walk_limit_is_incomplete() -> None:
    depth = onnx_walk.MAX_GRAPH_DEPTH + 3
    data = onnx_model(nested_loops(depth, onnx_graph([identity()], "inner")))
    result = run(data)
    assert pairs(result) == {("onnx.limit", "medium")} and not result.complete


def test_nesting_too_deep_to_parse_is_a_finding(scan: Scan) -> None:
    scanned = scan(deeply_nested_onnx(200), "model.onnx")
    assert scanned.fmt == "onnx"
    assert pairs(scanned.result) == {("onnx.parse_error", "medium")}
    assert not scanned.result.complete


def test_graph_and_node_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_walk, "MAX_NODES", 3)
    many = onnx_graph([identity() for _ in range(10)])
    assert ("onnx.limit", "medium") in pairs(run(onnx_model(many)))
    monkeypatch.setattr(onnx_walk, "MAX_NODES", 5_000_000)
    monkeypatch.setattr(onnx_walk, "MAX_GRAPHS", 4)
    assert ("onnx.limit", "medium") in pairs(run(onnx_model(nested_loops(8, onnx_graph([])))))


def test_domain_findings_are_capped() -> None:
    nodes = [helper.make_node("Op", [], [], domain=f"vendor{i}.ops") for i in range(70)]
    result = run(onnx_model(onnx_graph(nodes)))
    assert len(result.findings) == 51 and "20 more operator domains" in result.findings[-1].message


@pytest.mark.parametrize("data", [b"\xff" * 64, b"\x3a\x7f" + b"\x00" * 10])
def test_garbage_is_an_incomplete_finding(data: bytes) -> None:
    result = run(data)
    assert pairs(result) == {("onnx.parse_error", "medium")} and not result.complete


def test_sparse_tensor_attribute_with_external_indices() -> None:
    from onnx import SparseTensorProto

    sparse = SparseTensorProto(dims=[4])
    sparse.values.CopyFrom(helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))
    sparse.indices.CopyFrom(external_tensor("i", "../../i.bin"))
    node = helper.make_node("Custom", [], ["y"], domain="", sp=sparse)
    assert TRAVERSAL in pairs(run(onnx_model(onnx_graph([node]))))

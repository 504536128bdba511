"""Builders for graph-format samples: TensorFlow SavedModels from the real protos (tensorboard's
copy) and ONNX models from ``onnx.helper``. Nothing here needs TensorFlow or runs a model."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from modelward.engine.scan.tensorflow.keras_metadata import saved_metadata_class
from modelward.engine.scan.tensorflow.savedmodel import saved_model_class

DT_STRING = 7

# ---------------------------------------------------------------- TensorFlow


def attr_value(value: object) -> Any:
    from tensorboard.compat.proto import attr_value_pb2

    if isinstance(value, attr_value_pb2.AttrValue):
        return value
    if isinstance(value, str | bytes):
        return attr_value_pb2.AttrValue(s=value.encode() if isinstance(value, str) else value)
    if isinstance(value, list):
        items = [v.encode() if isinstance(v, str) else v for v in value]
        return attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(s=items))
    raise TypeError(value)


def node(name: str, op: str, inputs: Sequence[str] = (), **attrs: object) -> Any:
    from tensorboard.compat.proto import node_def_pb2

    result = node_def_pb2.NodeDef(name=name, op=op, input=list(inputs))
    for key, value in attrs.items():
        result.attr[key].CopyFrom(attr_value(value))
    return result


def string_tensor(*values: str | bytes, content: bytes | None = None, shape: int = 0) -> Any:
    from tensorboard.compat.proto import attr_value_pb2, tensor_pb2, tensor_shape_pb2

    tensor = tensor_pb2.TensorProto(dtype=DT_STRING)
    if content is not None:
        tensor.tensor_content = content
        tensor.tensor_shape.CopyFrom(
            tensor_shape_pb2.TensorShapeProto(
                dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=shape)]
            )
        )
    else:
        tensor.string_val.extend(v.encode() if isinstance(v, str) else v for v in values)
    return attr_value_pb2.AttrValue(tensor=tensor)


def const(name: str, *values: str | bytes) -> Any:
    return node(name, "Const", value=string_tensor(*values))


def function(name: str, nodes: Iterable[Any], args: Sequence[str] = ()) -> Any:
    from tensorboard.compat.proto import function_pb2

    result = function_pb2.FunctionDef()
    result.signature.name = name
    for arg in args:
        result.signature.input_arg.add(name=arg, type=DT_STRING)
    result.node_def.extend(nodes)
    return result


def saved_model(
    nodes: Iterable[Any] = (),
    functions: Iterable[Any] = (),
    *,
    saver_filename: str | None = None,
    assets: Sequence[tuple[str, str]] = (),
    metas: int = 1,
) -> Any:
    """A SavedModel message; the graph goes into the last of ``metas`` meta graphs."""
    model = saved_model_class()()
    model.saved_model_schema_version = 1
    for _ in range(metas - 1):
        model.meta_graphs.add().meta_info_def.tags.append("train")
    meta = model.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    meta.graph_def.node.extend(nodes)
    meta.graph_def.library.function.extend(functions)
    if saver_filename is not None:
        meta.saver_def.filename_tensor_name = saver_filename
    for tensor, filename in assets:
        asset = meta.asset_file_def.add(filename=filename)
        asset.tensor_info.name = tensor
    return model


def tf2_benign_model() -> Any:
    """What ``tf.saved_model.save`` writes for a small Keras model: a saver function joined onto
    the ``file_prefix`` argument, a restore function, and the forward pass."""
    save = function(
        "__inference__traced_save_45",
        [
            node(
                "StaticRegexFullMatch", "StaticRegexFullMatch", ["file_prefix"], pattern="^s3://.*"
            ),
            const("Const", ".part"),
            const("Const_1", "_temp/part"),
            node(
                "Select",
                "Select",
                ["StaticRegexFullMatch:output:0", "Const:output:0", "Const_1:output:0"],
            ),
            node("StringJoin", "StringJoin", ["file_prefix", "Select:output:0"]),
            node("num_shards", "Const"),
            node("ShardedFilename", "ShardedFilename", ["StringJoin:output:0", "num_shards"]),
            const("SaveV2/tensor_names", "dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"),
            node("SaveV2", "SaveV2", ["ShardedFilename:filename:0", "SaveV2/tensor_names"]),
            node("Pack", "Pack", ["ShardedFilename:filename:0", "^SaveV2"]),
            node("MergeV2Checkpoints", "MergeV2Checkpoints", ["Pack:output:0", "file_prefix"]),
            node("Identity", "Identity", ["file_prefix", "^MergeV2Checkpoints"]),
            node("NoOp", "NoOp"),
        ],
        args=["file_prefix"],
    )
    restore = function(
        "__inference__traced_restore_60",
        [
            node("RestoreV2", "RestoreV2", ["file_prefix", "RestoreV2/tensor_names"]),
            node("AssignVariableOp", "AssignVariableOp", ["resource", "RestoreV2:tensors:0"]),
            node("DisableCopyOnRead", "DisableCopyOnRead", ["resource"]),
        ],
        args=["file_prefix"],
    )
    call = function(
        "__inference_call_10",
        [
            node("MatMul", "MatMul", ["x", "kernel"]),
            node("BiasAdd", "BiasAdd", ["MatMul:product:0", "bias"]),
            node("Relu", "Relu", ["BiasAdd:output:0"]),
            node("StringFormat", "StringFormat", ["Relu:activations:0"]),
            node("PrintV2", "PrintV2", ["StringFormat:output:0"], output_stream="stderr"),
            node("fused", "_FusedMatMul", ["x", "kernel"]),
            node("xla", "XlaCallModule", ["x"]),
        ],
        args=["x"],
    )
    graph = [
        node("saver_filename", "Placeholder"),
        node("StatefulPartitionedCall", "StatefulPartitionedCall", ["saver_filename"]),
        node("serving", "__inference_call_10", ["x"]),  # a library function called by name
    ]
    return saved_model(graph, [save, restore, call])


def tf1_benign_model() -> Any:
    """A TF1 ``SavedModelBuilder`` export: the saver's ``save/Const`` and an asset path constant
    with the exporting machine's absolute path, both fed by the loader."""
    graph = [
        const("save/Const", "model"),
        const("save/SaveV2/tensor_names", "w"),
        node("save/SaveV2", "SaveV2", ["save/Const", "save/SaveV2/tensor_names"]),
        node("save/RestoreV2", "RestoreV2", ["save/Const", "save/SaveV2/tensor_names"]),
        const("asset_path", "/home/alice/export/vocab.txt"),
        node("hash_table", "HashTableV2"),
        node("init", "InitializeTableFromTextFileV2", ["hash_table", "asset_path"]),
        node("Print", "Print", ["x", "x"]),
    ]
    return saved_model(graph, saver_filename="save/Const:0", assets=[("asset_path:0", "vocab.txt")])


def keras_metadata(*configs: dict[str, Any] | bytes) -> bytes:
    """A ``keras_metadata.pb`` whose nodes carry ``configs`` as their JSON metadata."""
    import json

    message = saved_metadata_class()()
    for index, config in enumerate(configs):
        item = message.nodes.add(node_id=index, node_path=f"root.layer-{index}".encode())
        item.identifier = b"_tf_keras_layer"
        item.metadata = config if isinstance(config, bytes) else json.dumps(config).encode()
    return bytes(message.SerializeToString())


LAMBDA_LAYER = {
    "name": "lambda",
    "class_name": "Lambda",
    "config": {
        "name": "lambda",
        "function": {
            "class_name": "__lambda__",
            "config": {"code": "4wEAAAAAAAAA", "defaults": None},
        },
        "function_type": "lambda",
    },
}


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# ---------------------------------------------------------------- ONNX


def external_tensor(name: str, location: str) -> Any:
    from onnx import TensorProto, external_data_helper

    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[2], raw_data=b"\0" * 8)
    external_data_helper.set_external_data(tensor, location=location, offset=0, length=8)
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    return tensor


def onnx_graph(nodes: Sequence[Any], name: str = "g", initializers: Sequence[Any] = ()) -> Any:
    from onnx import helper

    return helper.make_graph(list(nodes), name, [], [], list(initializers))


def onnx_model(graph: Any, functions: Sequence[Any] = (), domains: Sequence[str] = ()) -> bytes:
    from onnx import helper

    opsets = [helper.make_opsetid("", 17)] + [helper.make_opsetid(d, 1) for d in domains]
    model = helper.make_model(graph, opset_imports=opsets, functions=list(functions))
    return bytes(model.SerializeToString())


def nested_loops(depth: int, innermost: Any) -> Any:
    """``depth`` Loop nodes, each holding the next graph as its body."""
    from onnx import helper

    graph = innermost
    for level in range(depth):
        loop = helper.make_node("Loop", ["M", "cond"], ["out"], name=f"loop{level}", body=graph)
        graph = onnx_graph([loop], f"g{level}")
    return graph


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field, written by hand for messages too deep to build."""
    length, out = len(payload), bytearray()
    tag = (number << 3) | 2
    out.append(tag)
    while True:
        byte = length & 0x7F
        length >>= 7
        out.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes(out) + payload


def deeply_nested_onnx(depth: int) -> bytes:
    """ModelProto bytes with ``depth`` nested Loop bodies: deeper than protobuf will parse."""
    graph = _field(1, _field(4, b"Identity"))  # GraphProto.node { op_type }
    for _ in range(depth):
        attribute = _field(1, b"body") + b"\xa0\x01\x05" + _field(6, graph)  # name, type=GRAPH, g
        graph = _field(1, _field(4, b"Loop") + _field(5, attribute))  # node { op_type, attribute }
    opset = _field(8, b"\x10\x11")  # opset_import { version: 17 }
    return b"\x08\x08" + opset + _field(7, graph)  # ir_version: 8, graph

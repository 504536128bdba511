"""TensorFlow SavedModel (``saved_model.pb``): ops that reach files or Python, from the real protos.

The graph messages come from the TensorFlow protos maintained in the ``tensorboard`` package;
only the two-field ``SavedModel`` wrapper, which that package does not ship, is declared here
against them (see docs/dependencies.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any, BinaryIO, Final

from modelward.engine.facts import Severity
from modelward.engine.scan.formats_common import ScanContext, parse_protobuf
from modelward.engine.scan.result import FileScan

#: Ops that run Python callbacks or touch the file system outside checkpoint restore.
DANGEROUS_OPS: Final[dict[str, Severity]] = {
    "PyFunc": "high", "PyFuncStateless": "high", "EagerPyFunc": "high",
    "ReadFile": "high", "WriteFile": "high",
    "WholeFileReader": "high", "WholeFileReaderV2": "high",
    "MatchingFiles": "medium", "ImmutableConst": "medium",
    "DistributedSave": "medium", "SaveDataset": "medium", "SaveDatasetV2": "medium",
    "LoadDataset": "medium", "DebugIdentityV2": "medium",
}  # fmt: skip


@cache
def saved_model_class() -> Any:
    """The ``tensorflow.SavedModel`` message class, built on the maintained MetaGraphDef."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from tensorboard.compat.proto import meta_graph_pb2

    pool = descriptor_pool.Default()
    name = "modelward/saved_model.proto"
    try:
        return message_factory.GetMessageClass(
            pool.FindMessageTypeByName("modelward.tf.SavedModel")
        )
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto(
        name=name,
        package="modelward.tf",
        syntax="proto3",
        dependency=[meta_graph_pb2.DESCRIPTOR.name],
    )
    message = proto.message_type.add(name="SavedModel")
    message.field.add(name="saved_model_schema_version", number=1, type=3, label=1)
    message.field.add(
        name="meta_graphs", number=2, type=11, label=3, type_name=".tensorboard.MetaGraphDef"
    )
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("modelward.tf.SavedModel"))


def _ops(model: Any) -> Iterator[tuple[str, str, str]]:
    """(op, node name, where) of every node in every graph and graph function."""
    for index, meta in enumerate(model.meta_graphs):
        graph = meta.graph_def
        for node in graph.node:
            yield node.op, node.name, f"meta_graphs[{index}]"
        for function in graph.library.function:
            for node in function.node_def:
                yield node.op, node.name, f"function {function.signature.name}"


def scan_savedmodel(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Flag dangerous ops in a SavedModel protobuf."""
    result = FileScan()
    model = saved_model_class()()
    if not parse_protobuf(model, fp, size, ctx, result, finding_id="savedmodel.parse_error",
                          subject="saved_model.pb", technique="TensorFlow SavedModel"):  # fmt: skip
        return result
    reported: set[tuple[str, str]] = set()
    for op, name, where in _ops(model):
        severity = DANGEROUS_OPS.get(op)
        if severity is None or (op, where) in reported:
            continue
        reported.add((op, where))
        result.findings.append(
            ctx.finding(
                "savedmodel.op.dangerous",
                severity,
                f"graph op {op} (node {name!r}, {where}) can run Python or touch files "
                "when executed",
                technique="TensorFlow dangerous op",
            )
        )
    return result

"""TensorFlow SavedModel (``saved_model.pb``, ``saved_model.pbtxt``): ops that reach outside.

Every node of every graph and library function, in every meta graph (and graphs carried as
constants for ``DatasetFromGraph``), is judged by what its op does (``effects``); an op
TensorFlow does not register needs a custom library. Asset paths and the Keras metadata kept in
the object graph are checked too. The graph messages come from the TensorFlow protos maintained
in the ``tensorboard`` package; only the two-field ``SavedModel`` wrapper, which that package
does not ship, is declared here against them (see docs/dependencies.md).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import PurePosixPath
from typing import Any, BinaryIO, Final

from modelward.engine.scan.context import ScanContext, parse_protobuf, read_bounded
from modelward.engine.scan.result import FileScan
from modelward.engine.scan.tensorflow.effects import SIDE_EFFECTS, SUSPICIOUS, Verdict, judge
from modelward.engine.scan.tensorflow.keras_metadata import scan_keras_metadata, scan_object_graph
from modelward.engine.scan.tensorflow.op_registry import is_standard
from modelward.engine.scan.tensorflow.paths import (
    Scope,
    const_strings,
    leaves_model,
    node_name,
    text,
)
from modelward.engine.scan.tensorflow.report import OpReport

Handler = Callable[[BinaryIO, int, ScanContext], FileScan]
MAX_NODES: Final = 5_000_000
MAX_EMBEDDED_DEPTH: Final = 3
MAX_EMBEDDED_GRAPHS: Final = 16
MAX_TEXT_BYTES: Final = 64 << 20
TECHNIQUE: Final = "TensorFlow SavedModel"
CUSTOM_OP: Final = Verdict(
    "savedmodel.op.custom",
    "medium",
    "is not a TensorFlow op: loading the graph needs a custom op library",
)


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


def handler_for_name(path: str) -> Handler | None:
    """The scanner for a file TensorFlow reads by its name, whatever its content looks like."""
    return {
        "saved_model.pb": scan_savedmodel,
        "saved_model.pbtxt": scan_savedmodel_text,
        "keras_metadata.pb": scan_keras_metadata,
    }.get(PurePosixPath(path.replace("\\", "/")).name)


def scan_savedmodel(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Judge every op, asset path and Keras object of a binary SavedModel."""
    result = FileScan()
    model = saved_model_class()()
    if parse_protobuf(model, fp, size, ctx, result, finding_id="savedmodel.parse_error",
                      subject="saved_model.pb", technique=TECHNIQUE):  # fmt: skip
        _scan_model(model, ctx, result)
    return result


def scan_savedmodel_text(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """The same for ``saved_model.pbtxt``, which the loader reads when there is no ``.pb``."""
    from google.protobuf import text_format

    result = FileScan()
    data = read_bounded(fp, size, MAX_TEXT_BYTES, ctx, result)
    model = saved_model_class()()
    try:
        text_format.Parse(data.decode("utf-8", errors="replace"), model)
    except (text_format.ParseError, ValueError, RecursionError) as exc:
        return ctx.incomplete(
            result,
            ctx.finding("savedmodel.parse_error", "medium",
                        f"saved_model.pbtxt does not parse: {exc}", technique=TECHNIQUE),
        )  # fmt: skip
    _scan_model(model, ctx, result)
    return result


def _scan_model(model: Any, ctx: ScanContext, result: FileScan) -> None:
    walker = _Walker(ctx, result)
    for meta in model.meta_graphs:
        walker.functions.update(f.signature.name for f in meta.graph_def.library.function)
    for index, meta in enumerate(model.meta_graphs):
        tags = ", ".join(text(t) for t in meta.meta_info_def.tags)
        label = f"meta graph {index}" + (f" [{tags}]" if tags else "")
        walker.graph(meta.graph_def, label, _asset_tensors(meta), depth=0)
        _asset_findings(meta, label, ctx, result)
        result.merge(scan_object_graph(meta.object_graph_def, ctx))
    walker.report.emit(ctx, result)


def _asset_tensors(meta: Any) -> frozenset[str]:
    """Nodes whose value the loader replaces with an asset's path when tables are initialised."""
    names = [asset.tensor_info.name for asset in meta.asset_file_def]
    if "asset_filepaths" in meta.collection_def:
        names += list(meta.collection_def["asset_filepaths"].node_list.value)
    return frozenset(node_name(n) for n in names if n)


def _asset_findings(meta: Any, label: str, ctx: ScanContext, result: FileScan) -> None:
    for asset in meta.asset_file_def:
        filename = text(asset.filename)
        if leaves_model(filename):
            result.findings.append(
                ctx.finding("savedmodel.asset.traversal", "high",
                            f"asset {filename!r} ({label}) is read from outside the model's "
                            "assets directory", technique="TensorFlow asset path traversal")
            )  # fmt: skip


class _Walker:
    """Visits graphs and functions, judging each node once, within the node budget."""

    def __init__(self, ctx: ScanContext, result: FileScan) -> None:
        self.ctx, self.result = ctx, result
        self.functions: set[str] = set()
        self.report = OpReport()
        self.budget = MAX_NODES
        self.limited = False

    def graph(self, graph: Any, label: str, assets: frozenset[str], depth: int) -> None:
        self.scope(Scope(f"{label}, graph", graph.node, assets), depth)
        for function in graph.library.function:
            where = f"{label}, function {text(function.signature.name)!r}"
            self.scope(Scope(where, function.node_def), depth)

    def scope(self, scope: Scope, depth: int) -> None:
        for node in scope.nodes:
            self.budget -= 1
            if self.budget < 0:
                self._limit(f"more than {MAX_NODES} graph nodes; the rest were not analysed")
                return
            self.node(node, scope, depth)

    def node(self, node: Any, scope: Scope, depth: int) -> None:
        for verdict in judge(node, scope):
            self.report.add(verdict, node, scope.where)
        op = node.op
        if op == "DatasetFromGraph":
            self.embedded(node, scope, depth)
        elif not (op in SIDE_EFFECTS or op in SUSPICIOUS or is_standard(op)) and (
            op not in self.functions
        ):
            self.report.add(CUSTOM_OP, node, scope.where)

    def embedded(self, node: Any, scope: Scope, depth: int) -> None:
        """``DatasetFromGraph`` runs a serialized GraphDef: analyse it when it is a constant."""
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import graph_pb2

        inputs = [i for i in node.input if not i.startswith("^")]
        source = scope.index.get(node_name(inputs[0])) if inputs else None
        blobs = const_strings(source) if source is not None and source.op == "Const" else None
        if not blobs:
            self._suspicious(node, scope, "runs a dataset graph computed at run time")
            return
        if depth >= MAX_EMBEDDED_DEPTH:
            self._limit(f"graphs nested more than {MAX_EMBEDDED_DEPTH} deep in {scope.where}")
            return
        if len(blobs) > MAX_EMBEDDED_GRAPHS:
            self._limit(f"more than {MAX_EMBEDDED_GRAPHS} graphs in {scope.where}")
        for blob in blobs[:MAX_EMBEDDED_GRAPHS]:
            inner = graph_pb2.GraphDef()
            try:
                inner.ParseFromString(blob)
            except (DecodeError, RecursionError, ValueError):
                self._suspicious(node, scope, "carries a dataset graph that does not parse")
                continue
            self.functions.update(f.signature.name for f in inner.library.function)
            self.graph(inner, f"{scope.where} > DatasetFromGraph {node.name!r}", frozenset(),
                       depth + 1)  # fmt: skip

    def _suspicious(self, node: Any, scope: Scope, reason: str) -> None:
        self.report.add(Verdict("savedmodel.op.suspicious", "medium", reason), node, scope.where)

    def _limit(self, reason: str) -> None:
        if not self.limited:
            self.limited = True
            self.ctx.incomplete(
                self.result,
                self.ctx.finding("savedmodel.limit", "medium", reason, technique="resource limit"),
            )

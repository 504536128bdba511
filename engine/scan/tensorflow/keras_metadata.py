"""Keras metadata saved with a SavedModel: ``keras_metadata.pb`` and, before it existed, the
``metadata`` of the object graph's user objects. Both carry each Keras object's JSON config,
which Keras reads to rebuild layers: Lambda layers and objects from outside Keras are found by
``keras.scan_config``. The JSON is parsed, never deserialized into objects.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, BinaryIO, Final

from modelward.engine.scan.context import ScanContext, parse_protobuf
from modelward.engine.scan.formats.keras import scan_config
from modelward.engine.scan.result import FileScan
from modelward.engine.scan.tensorflow.paths import text

TECHNIQUE: Final = "Keras SavedModel metadata"


@cache
def saved_metadata_class() -> Any:
    """Keras's ``SavedMetadata`` message; text fields are declared as bytes so that invalid
    UTF-8 reaches the scanner instead of failing the whole parse."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    pool = descriptor_pool.Default()
    full_name = "modelward.keras.SavedMetadata"
    try:
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto(
        name="modelward/keras_saved_metadata.proto", package="modelward.keras", syntax="proto3"
    )
    node = proto.message_type.add(name="SavedObject")
    node.field.add(name="node_id", number=2, type=5, label=1)
    for name, number in (("node_path", 3), ("identifier", 4), ("metadata", 5)):
        node.field.add(name=name, number=number, type=12, label=1)
    root = proto.message_type.add(name="SavedMetadata")
    root.field.add(
        name="nodes", number=1, type=11, label=3, type_name=".modelward.keras.SavedObject"
    )
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))


def scan_keras_metadata(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """``keras_metadata.pb``: the JSON metadata of every Keras object in the SavedModel."""
    result = FileScan()
    message = saved_metadata_class()()
    if not parse_protobuf(message, fp, size, ctx, result, finding_id="savedmodel.parse_error",
                          subject="keras_metadata.pb", technique=TECHNIQUE):  # fmt: skip
        return result
    for node in message.nodes:
        _scan_metadata(node.metadata, text(node.node_path) or f"node {node.node_id}", ctx, result)
    return _deduplicated(result)


def scan_object_graph(object_graph: Any, ctx: ScanContext) -> FileScan:
    """Keras metadata stored on the object graph's user objects (TensorFlow 2.0 to 2.4)."""
    result = FileScan()
    for index, node in enumerate(object_graph.nodes):
        if node.WhichOneof("kind") == "user_object" and node.user_object.metadata:
            where = f"object {index} ({text(node.user_object.identifier)})"
            _scan_metadata(node.user_object.metadata, where, ctx, result)
    return _deduplicated(result)


def _scan_metadata(raw: str | bytes, where: str, ctx: ScanContext, result: FileScan) -> None:
    if not raw:
        return
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        ctx.incomplete(
            result,
            ctx.finding("savedmodel.keras_metadata.invalid", "medium",
                        f"Keras metadata of {where} is not valid JSON: {exc}",
                        technique=TECHNIQUE),
        )  # fmt: skip
        return
    for finding in scan_config(config, ctx).findings:
        message = f"{finding.message} (Keras object {where})"
        result.findings.append(finding.model_copy(update={"message": message}))


def _deduplicated(result: FileScan) -> FileScan:
    """A model's config repeats its layers' configs: report each layer's code once."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for finding in result.findings:
        key = (finding.id, finding.message.split(" (Keras object ")[0])
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    result.findings = kept
    return result

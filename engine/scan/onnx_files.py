"""ONNX models, parsed with the onnx protobuf classes (external data is never loaded).

Findings: external-data locations that are absolute or climb out of the model's directory, and
operator domains that need a custom-op library.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

from modelward.engine.scan.formats_common import ScanContext, parse_protobuf
from modelward.engine.scan.result import FileScan

STANDARD_DOMAINS: Final = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training"})
#: Contrib ops built into ONNX Runtime itself: no library is loaded for them.
VENDOR_DOMAINS: Final = frozenset(
    {"com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental"}
)
EXTERNAL: Final = 1
_DRIVE = re.compile(r"^[A-Za-z]:")
_GRAPH, _TENSOR, _GRAPHS, _TENSORS, _SPARSE, _SPARSES = 5, 4, 10, 9, 11, 12


def _text(value: str | bytes) -> str:
    """A string field (the parser returns bytes when the field is not valid UTF-8)."""
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def _graphs(graph: Any, depth: int = 0) -> Iterator[Any]:
    """``graph`` and every subgraph held in node attributes (bounded depth)."""
    yield graph
    if depth > 64:
        return
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == _GRAPH:
                yield from _graphs(attr.g, depth + 1)
            elif attr.type == _GRAPHS:
                for sub in attr.graphs:
                    yield from _graphs(sub, depth + 1)


def _tensors(model: Any) -> Iterator[Any]:
    """Every tensor proto that can point at external data."""
    nodes = [n for g in _graphs(model.graph) for n in g.node]
    nodes += [n for f in model.functions for n in f.node]
    for graph in _graphs(model.graph):
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
    for node in nodes:
        for attr in node.attribute:
            if attr.type == _TENSOR:
                yield attr.t
            elif attr.type == _TENSORS:
                yield from attr.tensors
            elif attr.type == _SPARSE:
                yield from (attr.sparse_tensor.values, attr.sparse_tensor.indices)
            elif attr.type == _SPARSES:
                for sparse in attr.sparse_tensors:
                    yield from (sparse.values, sparse.indices)


def escapes(location: str) -> bool:
    """True if ``location`` is absolute or leaves the directory it is relative to."""
    path = location.replace("\\", "/")
    if not path or "\x00" in path or path.startswith("/") or _DRIVE.match(path):
        return True
    normal = posixpath.normpath(path)
    return normal == ".." or normal.startswith("../")


def _external_findings(model: Any, ctx: ScanContext, result: FileScan) -> None:
    reported: set[str] = set()
    for tensor in _tensors(model):
        if tensor.data_location != EXTERNAL:
            continue
        entries = {_text(entry.key): _text(entry.value) for entry in tensor.external_data}
        location = entries.get("location", "")
        if escapes(location) and location not in reported:
            reported.add(location)
            result.findings.append(
                ctx.finding(
                    "onnx.external_data.traversal",
                    "high",
                    f"tensor {_text(tensor.name)!r} reads external data from {location!r}, "
                    "outside the "
                    "model's directory",
                    technique="ONNX external data path traversal",
                )
            )


def _domain_findings(model: Any, ctx: ScanContext, result: FileScan) -> None:
    local = {_text(f.domain) for f in model.functions}
    used: dict[str, set[str]] = {}
    nodes = [n for g in _graphs(model.graph) for n in g.node]
    for node in nodes + [n for f in model.functions for n in f.node]:
        used.setdefault(_text(node.domain), set()).add(_text(node.op_type))
    for opset in model.opset_import:
        used.setdefault(_text(opset.domain), set())
    for domain, ops in sorted(used.items()):
        if domain in STANDARD_DOMAINS or domain in local:
            continue
        vendor = domain in VENDOR_DOMAINS
        result.findings.append(
            ctx.finding(
                "onnx.vendor_domain" if vendor else "onnx.custom_domain",
                "low" if vendor else "medium",
                f"operator domain {domain!r} ({', '.join(sorted(ops)) or 'declared only'}) needs "
                + ("ONNX Runtime contrib ops" if vendor else "a custom operator library"),
                technique="ONNX custom operator",
            )
        )


def scan_onnx(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Parse an ONNX model and check external data and operator domains."""
    from onnx import ModelProto

    result = FileScan()
    model = ModelProto()
    if not parse_protobuf(model, fp, size, ctx, result, finding_id="onnx.parse_error",
                          subject="the ONNX model", technique="ONNX model"):  # fmt: skip
        return result
    _external_findings(model, ctx, result)
    _domain_findings(model, ctx, result)
    return result

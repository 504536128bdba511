"""Every node and tensor of an ONNX model: the main graph, training graphs, model-local
functions (and their attribute defaults), and every subgraph held in a node attribute, at any
depth. The walk is iterative and bounded; hitting a bound is reported, never silent.

Attributes are read by which fields are present, not by their declared type: loaders that
resolve external data look at the fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

MAX_GRAPH_DEPTH: Final = 24
MAX_GRAPHS: Final = 100_000
MAX_NODES: Final = 5_000_000


def text(value: str | bytes) -> str:
    """A string field (the parser returns bytes when the field is not valid UTF-8)."""
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


@dataclass
class Walk:
    """What the walk collected: (node, where) and (tensor, where) pairs, and why it stopped."""

    nodes: list[tuple[Any, str]] = field(default_factory=list)
    tensors: list[tuple[Any, str]] = field(default_factory=list)
    limit: str | None = None
    _stopped: bool = False
    _graphs: int = 0
    _stack: list[tuple[Any, str, int]] = field(default_factory=list)

    def graph(self, graph: Any, where: str, depth: int) -> None:
        """Queue a graph (its nodes are visited by ``run``)."""
        if depth > MAX_GRAPH_DEPTH:
            self.limit = self.limit or f"subgraphs nested deeper than {MAX_GRAPH_DEPTH} ({where})"
            return
        self._graphs += 1
        if self._graphs > MAX_GRAPHS:
            self._stop(f"more than {MAX_GRAPHS} graphs")
            return
        self._stack.append((graph, where, depth))

    def run(self) -> None:
        while self._stack and not self._stopped:
            graph, where, depth = self._stack.pop()
            for tensor in graph.initializer:
                self.tensors.append((tensor, f"{where} initializer"))
            for sparse in graph.sparse_initializer:
                self.tensors += [(t, f"{where} sparse initializer") for t in _sparse(sparse)]
            self.nodes_of(graph.node, where, depth)

    def nodes_of(self, nodes: Iterable[Any], where: str, depth: int) -> None:
        for node in nodes:
            if len(self.nodes) >= MAX_NODES:
                self._stop(f"more than {MAX_NODES} nodes")
                return
            self.nodes.append((node, where))
            place = f"{where} > node {text(node.name)!r} ({text(node.op_type)})"
            self.attributes(node.attribute, place, depth)

    def _stop(self, reason: str) -> None:
        self.limit = self.limit or reason
        self._stopped = True

    def attributes(self, attributes: Iterable[Any], where: str, depth: int) -> None:
        for attr in attributes:
            place = f"{where} attribute {text(attr.name)!r}"
            self.tensors += [(t, place) for t in _attribute_tensors(attr)]
            if attr.HasField("g"):
                self.graph(attr.g, place, depth + 1)
            for sub in attr.graphs:
                self.graph(sub, place, depth + 1)


def _sparse(sparse: Any) -> tuple[Any, Any]:
    return sparse.values, sparse.indices


def _attribute_tensors(attr: Any) -> Iterator[Any]:
    if attr.HasField("t"):
        yield attr.t
    yield from attr.tensors
    if attr.HasField("sparse_tensor"):
        yield from _sparse(attr.sparse_tensor)
    for sparse in attr.sparse_tensors:
        yield from _sparse(sparse)


def walk(model: Any) -> Walk:
    """Collect every node and tensor of ``model``."""
    result = Walk()
    result.graph(model.graph, "main graph", 0)
    for index, info in enumerate(model.training_info):
        result.graph(info.initialization, f"training info {index} initialization", 0)
        result.graph(info.algorithm, f"training info {index} algorithm", 0)
    for function in model.functions:
        where = f"function {text(function.domain)}:{text(function.name)}"
        result.nodes_of(function.node, where, 0)
        result.attributes(function.attribute_proto, f"{where} default", 0)
    result.run()
    return result

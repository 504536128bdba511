"""What a TensorFlow op does outside its graph, judged from its name, attributes and path inputs.

Ops are grouped by behaviour class (files, network, Python, process). Checkpoint and vocabulary
ops run in every SavedModel: they are findings only when the path they get is a constant that
leaves the model, or is computed by ops the standard savers never use (see ``paths``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from modelward.engine.facts import Severity
from modelward.engine.scan.tensorflow.paths import Scope, Traced, leaves_model, text, trace


def _group(reason: str, ops: Iterable[str]) -> dict[str, str]:
    return dict.fromkeys(ops, reason)


#: Ops whose every run reaches outside the graph: high whatever their inputs.
SIDE_EFFECTS: Final[dict[str, str]] = {
    **_group("runs a Python callback", ("PyFunc", "PyFuncStateless", "EagerPyFunc")),
    **_group("reads files", (
        "ReadFile", "WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2",
        "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "TFRecordReader",
        "TFRecordReaderV2", "IdentityReader", "IdentityReaderV2", "LMDBReader", "ReaderRead",
        "ReaderReadV2", "ReaderReadUpTo", "ReaderReadUpToV2", "RecordInput", "LoadDataset",
        "SnapshotDatasetReader", "SnapshotNestedDatasetReader", "SnapshotChunkDataset",
        "ListSnapshotChunksDataset",
    )),
    **_group("reads records from files", (
        "TFRecordDataset", "TFRecordDatasetV2", "TextLineDataset", "FixedLengthRecordDataset",
        "FixedLengthRecordDatasetV2", "CSVDataset", "CSVDatasetV2", "ExperimentalCSVDataset",
        "LMDBDataset", "ExperimentalLMDBDataset",
    )),
    **_group("writes files", (
        "WriteFile", "SaveDataset", "SaveDatasetV2", "DatasetToTFRecord",
        "ExperimentalDatasetToTFRecord", "SnapshotDataset", "SnapshotDatasetV2",
    )),
    **_group("lists files", ("MatchingFiles", "MatchingFilesDataset",
                             "ExperimentalMatchingFilesDataset")),
    **_group("memory-maps a file named in the graph", ("ImmutableConst",)),
    **_group("queries a database", ("SqlDataset", "ExperimentalSqlDataset")),
    **_group("writes summary event files", (
        "CreateSummaryFileWriter", "CreateSummaryDbWriter", "SummaryWriter", "WriteSummary",
        "WriteScalarSummary", "WriteHistogramSummary", "WriteImageSummary", "WriteAudioSummary",
        "WriteGraphSummary", "WriteRawProtoSummary", "ImportEvent", "FlushSummaryWriter",
        "CloseSummaryWriter", "StatsAggregatorSetSummaryWriter",
    )),
    **_group("talks to a remote service", (
        "DataServiceDataset", "DataServiceDatasetV2", "DataServiceDatasetV3",
        "DataServiceDatasetV4", "RegisterDataset", "RegisterDatasetV2", "DistributedSave", "Rpc",
        "TryRpc", "RpcServer", "RpcServerStart", "RpcServerRegister", "RpcClient", "RpcCall",
        "RpcCheckStatus", "RpcGetValue", "DeleteRpcFutureResource",
    )),
    **_group("changes the process's file-system configuration", ("FileSystemSetConfiguration",)),
}  # fmt: skip

#: Ops that reach outside the graph only in ways a reviewer should look at.
SUSPICIOUS: Final[dict[str, str]] = {
    "Abort": "terminates the process",
    "RemoteCall": "runs a function on a device or task named at run time",
}

#: Path inputs of ops every SavedModel uses: a finding when the path leaves the model.
PATH_INPUTS: Final[dict[str, tuple[int, ...]]] = {
    **dict.fromkeys(("Save", "SaveSlices", "SaveV2", "Restore", "RestoreSlice", "RestoreV2"), (0,)),
    "MergeV2Checkpoints": (0, 1),
    "InitializeTableFromTextFile": (1,),
    "InitializeTableFromTextFileV2": (1,),
    "LoadAndRemapMatrix": (0,),
    "GenerateVocabRemapping": (0, 1),
}
#: Ops that read vocabulary files, whose TF1 asset-path constants the loader replaces.
VOCABULARY_OPS: Final = frozenset(
    {"InitializeTableFromTextFile", "InitializeTableFromTextFileV2", "GenerateVocabRemapping"}
)
#: Path inputs where any non-empty constant already means a file is written.
CACHE_INPUTS: Final[dict[str, tuple[int, ...]]] = {"CacheDataset": (1,), "CacheDatasetV2": (1,)}
PRINT_STREAMS: Final = frozenset({"stderr", "stdout", "log(info)", "log(warning)", "log(error)"})
DEBUG_OPS: Final = frozenset({
    "DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "DebugNanCount", "DebugNumericSummary",
    "DebugNumericSummaryV2",
})  # fmt: skip
DANGEROUS: Final = "savedmodel.op.dangerous"


@dataclass(frozen=True)
class Verdict:
    """One reason a node is a finding."""

    id: str
    severity: Severity
    reason: str


def _attr(node: Any, key: str) -> Any | None:
    return node.attr.get(key)


def _attr_text(node: Any, key: str) -> str | None:
    value = _attr(node, key)
    return text(value.s) if value is not None and value.WhichOneof("value") == "s" else None


def _attr_list(node: Any, key: str) -> list[str]:
    value = _attr(node, key)
    if value is None or value.WhichOneof("value") != "list":
        return []
    return [text(item) for item in value.list.s]


def _attr_verdicts(node: Any) -> list[Verdict]:
    """Ops harmless by default that an attribute points at files or the network."""
    op = node.op
    found: list[Verdict] = []
    if op == "PrintV2":
        stream = _attr_text(node, "output_stream")
        if stream is not None and stream not in PRINT_STREAMS:
            found.append(Verdict(DANGEROUS, "high", f"prints to {stream!r}"))
    elif op in DEBUG_OPS:
        urls = _attr_list(node, "debug_urls")
        if urls:
            found.append(Verdict(DANGEROUS, "high", f"sends tensors to {', '.join(urls[:3])}"))
    elif op in ("Copy", "CopyHost"):
        specs = [s for s in _attr_list(node, "debug_ops_spec") if "://" in s]
        if specs:
            found.append(Verdict(DANGEROUS, "high", f"sends tensors to {specs[0]!r}"))
    elif op in ("DecodeProtoV2", "EncodeProto"):
        source = _attr_text(node, "descriptor_source") or "local://"
        if source != "local://" and not source.startswith("bytes://"):
            found.append(Verdict(DANGEROUS, "high", f"reads proto descriptors from {source!r}"))
    elif op == "FixedUnigramCandidateSampler" and _attr_text(node, "vocab_file"):
        found.append(Verdict(DANGEROUS, "high", f"reads {_attr_text(node, 'vocab_file')!r}"))
    return found


def _escaping_path(traced: Traced, *, cache: bool) -> str | None:
    """The constant (part of a) path that leaves the model, if any."""
    for value in traced.values or ():
        if leaves_model(value) or (cache and value):
            return value
    for head in traced.heads:
        if leaves_model(head):
            return head + "..."
    for piece in traced.pieces:
        if leaves_model(piece, piece=True):
            return "..." + piece + "..."
    return None


def _path_verdict(traced: Traced, *, cache: bool) -> Verdict | None:
    if traced.computed_by is not None:
        return Verdict(
            "savedmodel.op.unresolved_path",
            "medium",
            f"takes a file path computed by {traced.computed_by}, which standard savers never do",
        )
    bad = _escaping_path(traced, cache=cache)
    if bad is None:
        return None
    use = "as a cache file it writes" if cache else "outside the model's own files"
    return Verdict(DANGEROUS, "high", f"uses the path {bad!r} {use}")


def _path_verdicts(node: Any, scope: Scope) -> list[Verdict]:
    op = node.op
    indices = PATH_INPUTS.get(op) or CACHE_INPUTS.get(op, ())
    inputs = [i for i in node.input if not i.startswith("^")]
    found = []
    for index in indices:
        if index < len(inputs):
            traced = trace(scope, inputs[index], assets_fed=op in VOCABULARY_OPS)
            verdict = _path_verdict(traced, cache=op in CACHE_INPUTS)
            if verdict is not None:
                found.append(verdict)
    return found


def judge(node: Any, scope: Scope) -> list[Verdict]:
    """Every reason ``node`` reaches outside its graph (empty for ordinary ops)."""
    op = node.op
    found: list[Verdict] = []
    if op in SIDE_EFFECTS:
        reason = SIDE_EFFECTS[op]
        region = _attr_text(node, "memory_region_name") if op == "ImmutableConst" else None
        if region:
            reason += f" ({region!r})"
        found.append(Verdict(DANGEROUS, "high", reason))
    elif op in SUSPICIOUS:
        found.append(Verdict("savedmodel.op.suspicious", "medium", SUSPICIOUS[op]))
    found.extend(_attr_verdicts(node))
    found.extend(_path_verdicts(node, scope))
    return found

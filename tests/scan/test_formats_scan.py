"""Non-pickle formats: the shared corpus through the dispatcher, and generated samples per threat.

Keras, SavedModel and ONNX samples are built with their real libraries (h5py, the TensorFlow
protos, the onnx helper API); GGUF and safetensors are written byte by byte.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.scan.tensorflow.savedmodel import saved_model_class
from tests.conftest import corpus_manifest
from tests.scan import builders as b
from tests.scan.scanning import SEVERITY, Scan, scan_path

NON_PICKLE = [e for e in corpus_manifest() if e["format"] != "pickle"]


@pytest.mark.parametrize("entry", NON_PICKLE, ids=[e["file"][:60] for e in NON_PICKLE])
def test_corpus_outcome(entry: dict[str, str], corpus_files: Path) -> None:
    scanned = scan_path(corpus_files / entry["file"])
    worst = scanned.worst
    if entry["label"] == "malicious":
        needed = SEVERITY["medium"] if "[dormant]" in entry["technique"] else SEVERITY["high"]
        assert worst >= needed, (scanned.fmt, scanned.result.findings)
    elif entry["label"] == "benign":
        assert worst <= SEVERITY["low"], (scanned.fmt, scanned.result.findings)


def test_corpus_password_zip_is_incomplete(corpus_files: Path) -> None:
    scanned = scan_path(corpus_files / "protectai__password_protected.zip")
    assert "zip.encrypted" in scanned.ids and not scanned.result.complete


# ---------------------------------------------------------------- Keras


def _keras_config(layer: dict[str, Any]) -> dict[str, Any]:
    dense = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"units": 4},
        "registered_name": None,
    }
    return {
        "module": "keras",
        "class_name": "Sequential",
        "registered_name": None,
        "config": {"name": "m", "layers": [dense, layer]},
    }


def _lambda_layer(canary: str) -> dict[str, Any]:
    code = f"lambda x: __import__('os').system('touch {canary}')"
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "registered_name": None,
        "config": {"function": {"class_name": "__lambda__", "config": {"code": code}}},
    }


CUSTOM = {
    "module": "my_layers",
    "class_name": "Mine",
    "config": {},
    "registered_name": "Custom>Mine",
}
SYSTEM = {"module": "os", "class_name": "function", "config": "system", "registered_name": "system"}
KERAS_CASES = {
    "lambda": (_lambda_layer, "keras.lambda", "high"),
    "custom_object": (lambda c: CUSTOM, "keras.custom_object", "high"),
    "system_module": (lambda c: SYSTEM, "keras.dangerous_module", "high"),
}
BENIGN_LAYER = {
    "module": "keras.layers",
    "class_name": "Dropout",
    "config": {"rate": 0.1},
    "registered_name": None,
}


def _dot_keras(config: dict[str, Any]) -> bytes:
    meta = json.dumps({"keras_version": "3.5.0", "date_saved": "2026-01-01"}).encode()
    return b.zip_bytes(
        [
            b.Member("metadata.json", meta),
            b.Member("config.json", json.dumps(config).encode()),
            b.Member("model.weights.h5", _h5_bytes(None)),
        ]
    )


def _h5_bytes(config: dict[str, Any] | None) -> bytes:
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        if config is not None:
            h5.attrs["model_config"] = json.dumps(config)
        h5.create_dataset("w", data=[1.0, 2.0])
    return buf.getvalue()


@pytest.mark.parametrize("case", sorted(KERAS_CASES))
@pytest.mark.parametrize("container", ["keras", "h5"])
def test_keras(case: str, container: str, scan: Scan, canary: str) -> None:
    make, finding_id, severity = KERAS_CASES[case]
    for layer, expect in ((make(canary), True), (BENIGN_LAYER, False)):
        config = _keras_config(layer)
        data = _dot_keras(config) if container == "keras" else _h5_bytes(config)
        scanned = scan(data, f"model.{container}")
        assert scanned.fmt == ("keras" if container == "keras" else "hdf5")
        found = [f for f in scanned.result.findings if f.id == finding_id]
        assert bool(found) == expect, scanned.result.findings
        assert all(f.severity == severity for f in found)
        if not expect:
            assert scanned.worst <= SEVERITY["low"] and scanned.result.complete


# ---------------------------------------------------------------- TensorFlow SavedModel


def _saved_model(ops: list[str], function_ops: list[str] = ()) -> bytes:  # type: ignore[assignment]
    model = saved_model_class()()
    model.saved_model_schema_version = 1
    meta = model.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    for index, op in enumerate(["Const", *ops]):
        meta.graph_def.node.add(name=f"n{index}", op=op)
    if function_ops:
        function = meta.graph_def.library.function.add()
        function.signature.name = "inner_fn"
        for index, op in enumerate(function_ops):
            function.node_def.add(name=f"f{index}", op=op)
    return model.SerializeToString()


@pytest.mark.parametrize(
    ("ops", "function_ops"),
    [
        (["PyFunc"], []),
        (["ReadFile"], []),
        (["WriteFile"], []),
        (["EagerPyFunc"], []),
        ([], ["PyFuncStateless"]),
        (["MatMul"], ["WriteFile"]),
    ],
)
def test_savedmodel_dangerous_ops(ops: list[str], function_ops: list[str], scan: Scan) -> None:
    scanned = scan(_saved_model(ops, function_ops), "saved_model.pb")
    assert scanned.fmt == "tf-savedmodel"
    assert "savedmodel.op.dangerous" in scanned.ids and scanned.worst >= SEVERITY["high"]


def test_savedmodel_benign_and_broken(scan: Scan) -> None:
    benign = scan(_saved_model(["MatMul", "SaveV2", "RestoreV2", "Identity"]), "saved_model.pb")
    assert benign.result.findings == [] and benign.result.complete
    broken = scan(_saved_model(["PyFunc"])[:-3] + b"\x12\xff", "saved_model.pb")
    assert not broken.result.complete or broken.worst >= SEVERITY["high"]


# ---------------------------------------------------------------- ONNX


def _onnx(location: str | None = None, domain: str = "", local_function: bool = False) -> bytes:
    from onnx import TensorProto, external_data_helper, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
    if location is not None:
        weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2], raw_data=b"\0" * 8)
        external_data_helper.set_external_data(weight, location=location, offset=0, length=8)
        weight.data_location = TensorProto.EXTERNAL
        weight.ClearField("raw_data")
    node = helper.make_node("Add" if not domain else "Evil", ["x", "w"], ["y"], domain=domain)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        [weight],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    functions = []
    if local_function:
        inner = helper.make_node("Add", ["a", "b"], ["c"])
        functions = [
            helper.make_function(
                domain, "Evil", ["a", "b"], ["c"], [inner], [helper.make_opsetid("", 17)]
            )
        ]
    model = helper.make_model(graph, opset_imports=opsets, functions=functions)
    return model.SerializeToString()


@pytest.mark.parametrize(
    "location", ["../../../etc/passwd", "/etc/passwd", "sub/../../x.bin", "C:\\w.bin"]
)
def test_onnx_external_data_traversal(location: str, scan: Scan) -> None:
    scanned = scan(_onnx(location), "model.onnx")
    assert scanned.fmt == "onnx" and "onnx.external_data.traversal" in scanned.ids
    assert scanned.worst >= SEVERITY["high"]


def test_onnx_external_data_canary_and_benign(scan: Scan, canary: str) -> None:
    assert "onnx.external_data.traversal" in scan(_onnx(canary), "model.onnx").ids
    for location in ("weights.bin", "data/w.bin", "a/../w.bin"):
        benign = scan(_onnx(location), "model.onnx")
        assert benign.result.findings == [] and benign.result.complete


def test_onnx_domains(scan: Scan) -> None:
    custom = scan(_onnx(domain="com.evil.ops"), "model.onnx")
    assert [(f.id, f.severity) for f in custom.result.findings] == [("onnx.custom_domain", "high")]
    vendor = scan(_onnx(domain="com.microsoft"), "model.onnx")
    assert vendor.worst <= SEVERITY["low"] and "onnx.vendor_domain" in vendor.ids
    local = scan(_onnx(domain="local.fn", local_function=True), "model.onnx")
    assert local.result.findings == []
    assert scan(_onnx(), "model.onnx").result.findings == []


# ---------------------------------------------------------------- GGUF chat templates

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{% endif %}{% if messages[0]['role'] == 'system' %}{% set ns = namespace(x=1) %}{% endif %}"
)


def _ssti_templates(canary: str) -> dict[str, tuple[str, str]]:
    cmd = f"touch {canary}"
    return {
        "globals": (f"{{{{ cycler.__init__.__globals__.os.popen('{cmd}').read() }}}}", "high"),
        "subclasses": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "high"),
        "attr_filter": (f"{{{{ (lipsum|attr('__globals__'))['os'].popen('{cmd}') }}}}", "high"),
        "getitem": ("{{ joiner['__init__']['__globals__'] }}", "high"),
        "escaped": ("{{ self['\\x5f\\x5fdict\\x5f\\x5f'] }}", "high"),
        "computed": ("{{ x[('__cla' ~ 'ss__')] }}", "high"),
        "attr_variable": ("{% set n = '_' * 2 %}{{ x|attr(n ~ 'class' ~ n) }}", "high"),
    }


@pytest.mark.parametrize(
    "case",
    ["globals", "subclasses", "attr_filter", "getitem", "escaped", "computed", "attr_variable"],
)
def test_gguf_chat_template_ssti(case: str, scan: Scan, canary: str) -> None:
    template, severity = _ssti_templates(canary)[case]
    scanned = scan(
        b.gguf_bytes({"general.architecture": "llama", "tokenizer.chat_template": template}),
        "m.gguf",
    )
    assert scanned.fmt == "gguf"
    assert scanned.worst == SEVERITY[severity], scanned.result.findings


def test_gguf_benign_and_named_templates(scan: Scan) -> None:
    meta: dict[str, str | int] = {
        "general.architecture": "llama",
        "general.alignment": 32,
        "tokenizer.chat_template": CHATML,
    }
    benign = scan(b.gguf_bytes(meta, [("t", [4, 4], 0, 0)]), "m.gguf")
    assert benign.result.findings == [] and benign.result.complete
    named = {**meta, "tokenizer.chat_template.tool_use": "{{ x.__class__ }}"}
    assert "gguf.chat_template.ssti" in scan(b.gguf_bytes(named), "m.gguf").ids
    broken = scan(b.gguf_bytes({"tokenizer.chat_template": "{% for %}"}), "m.gguf")
    assert "gguf.chat_template.unparsable" in broken.ids and not broken.result.complete


def test_gguf_tensor_table(scan: Scan) -> None:
    outside = scan(b.gguf_bytes({"a": 1}, [("t", [1 << 40], 0, 0)]), "m.gguf")
    assert "gguf.tensor_bounds" in outside.ids and outside.worst >= SEVERITY["high"]
    overlap = scan(b.gguf_bytes({"a": 1}, [("t", [8], 0, 0), ("u", [8], 0, 16)]), "m.gguf")
    assert "gguf.tensor_overlap" in overlap.ids
    truncated = scan(b.gguf_bytes({"tokenizer.chat_template": CHATML})[:40], "m.gguf")
    assert "gguf.malformed" in truncated.ids and not truncated.result.complete


# ---------------------------------------------------------------- safetensors

GOOD = {
    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "b": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]},
}


def _tensor(dtype: str, shape: list[int], start: int, end: int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [start, end]}


SAFETENSORS_CASES = {
    "overlap": (
        {"a": _tensor("F32", [2], 0, 8), "b": _tensor("F32", [2], 4, 12)},
        16,
        "safetensors.overlap",
    ),
    "out_of_range": ({"a": _tensor("F32", [4], 0, 16)}, 8, "safetensors.offsets"),
    "size_mismatch": ({"a": _tensor("F32", [3], 0, 8)}, 8, "safetensors.size_mismatch"),
    "unknown_dtype": ({"a": _tensor("Q4", [2], 0, 8)}, 8, "safetensors.dtype"),
    "gap": ({"a": _tensor("F32", [2], 8, 16)}, 16, "safetensors.gap"),
    "trailing": ({"a": _tensor("F32", [2], 0, 8)}, 64, "safetensors.trailing_data"),
    "reversed": ({"a": _tensor("F32", [0], 8, 0)}, 8, "safetensors.offsets"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(SAFETENSORS_CASES))
def test_safetensors_header_abuse(case: str, scan: Scan) -> None:
    header, data_size, finding_id = SAFETENSORS_CASES[case]
    scanned = scan(b.safetensors_bytes(header, b"\x00" * data_size), "m.safetensors")
    assert finding_id in scanned.ids, scanned.result.findings


def test_safetensors_lengths_json_and_metadata(scan: Scan, canary: str) -> None:
    assert scan(b.safetensors_bytes(GOOD, b"\x00" * 16), "m.safetensors").result.findings == []
    huge = scan(b.safetensors_bytes(GOOD, b"\x00" * 16, length=1 << 40), "m.safetensors")
    assert "safetensors.header_too_large" in huge.ids and not huge.result.complete
    long = scan(b.safetensors_bytes(GOOD, b"\x00" * 16, length=4000), "m.safetensors")
    assert "safetensors.header_length" in long.ids
    dup = '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'  # noqa: E501
    assert (
        "safetensors.duplicate_key"
        in scan(b.safetensors_bytes(dup, b"\x00" * 8), "m.safetensors").ids
    )
    bad_json = scan(b.safetensors_bytes('{"a": [', b"\x00" * 8), "m.safetensors")
    assert "safetensors.header_json" in bad_json.ids and not bad_json.result.complete
    code = {"__metadata__": {"note": f"import os; os.system('touch {canary}')"}, **GOOD}
    found = scan(b.safetensors_bytes(code, b"\x00" * 16), "m.safetensors")
    assert "safetensors.metadata.code" in found.ids and found.worst == SEVERITY["medium"]
    plain = {"__metadata__": {"format": "pt", "note": "trained on imports of goods data"}, **GOOD}
    assert scan(b.safetensors_bytes(plain, b"\x00" * 16), "m.safetensors").result.findings == []


# ---------------------------------------------------------------- skops


def test_skops_schema_types(scan: Scan, canary: str) -> None:
    def schema(module: str, cls: str) -> bytes:
        node = {
            "__class__": cls,
            "__module__": module,
            "__loader__": "FunctionNode",
            "content": {"args": [f"touch {canary}"]},
        }
        top = {
            "__class__": "Pipeline",
            "__module__": "sklearn.pipeline",
            "__loader__": "ObjectNode",
            "content": {"steps": node},
            "protocol": 1,
        }
        return b.zip_bytes([b.Member("schema.json", json.dumps(top).encode())])

    evil = scan(schema("os", "system"), "m.skops")
    assert evil.fmt == "skops" and "skops.dangerous_type" in evil.ids
    benign = scan(schema("sklearn.preprocessing", "StandardScaler"), "m.skops")
    assert benign.result.findings == []


def test_hdf5_reader_hang_and_crash_are_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    from modelward.engine.scan.formats import hdf5 as formats_hdf5

    data = io.BytesIO(_h5_bytes(_keras_config(BENIGN_LAYER)))
    assert formats_hdf5.read_root_attribute(data, "model_config", 1 << 20).value is not None
    monkeypatch.setattr(formats_hdf5, "_read", lambda *a: time.sleep(30))
    hung = formats_hdf5.read_root_attribute(data, "model_config", 1 << 20, timeout=0.5)
    assert hung.timed_out and hung.error
    monkeypatch.setattr(formats_hdf5, "_read", lambda *a: os._exit(3))
    crashed = formats_hdf5.read_root_attribute(data, "model_config", 1 << 20, timeout=5)
    assert crashed.error and not crashed.timed_out

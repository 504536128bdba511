"""ONNX models, parsed with the onnx protobuf classes (external data is never loaded).

Every graph is walked (``onnx_graphs``): main graph, training graphs, model-local functions and
subgraphs at any depth. Findings: external-data locations that are absolute or climb out of
the model's directory, operators that run Python, and operator domains that need a custom-op
library.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, BinaryIO, Final

from modelward.engine.facts import Severity
from modelward.engine.scan.context import ScanContext, parse_protobuf
from modelward.engine.scan.formats.onnx_graphs import Walk, text, walk
from modelward.engine.scan.result import FileScan

STANDARD_DOMAINS: Final = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training"})
#: Contrib ops built into ONNX Runtime itself: no library is loaded for them.
VENDOR_DOMAINS: Final = frozenset(
    {"com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental"}
)
#: onnxruntime-extensions: its native ops, and Python functions the loading process registers.
EXTENSIONS_DOMAIN: Final = "ai.onnx.contrib"
#: The native operators onnxruntime-extensions 0.15 implements (tokenizers, string, audio and
#: image ops). An op of its domain outside this list is a Python function (``@onnx_op``).
EXTENSIONS_NATIVE: Final = frozenset({
    "AudioDecoder", "AudioDecoderEx", "BasicTokenizer", "BertPreTokenizer", "BertTokenizer",
    "BertTokenizerDecoder", "BlingFireSentenceBreaker", "BpeDecoder", "CLIPTokenizer",
    "ConvertRGB", "DecodeImage", "DrawBoundingBoxes", "EncodeImage", "GaussianBlur",
    "GPT2Tokenizer", "GPTNeoXTokenizer", "HfBertTokenizer", "HfJsonTokenizer", "ImageDecoder",
    "ImageReader", "Inverse", "MaskedFill", "MergeSignalSegments", "Phi3Tokenizer",
    "RaggedTensorToDense", "RaggedTensorToSparse", "RobertaTokenizer", "SegmentExtraction",
    "SegmentSum", "SentencepieceDecoder", "SentencepieceTokenizer", "SplitSignalSegments",
    "SpmTokenizer", "StftNorm", "StringConcat", "StringECMARegexReplace",
    "StringECMARegexSplitWithOffsets", "StringEqual", "StringHash", "StringHashFast",
    "StringJoin", "StringLength", "StringLower", "StringMapping", "StringRaggedTensorToDense",
    "StringRegexReplace", "StringRegexSplitWithOffsets", "StringSplit", "StringStrip",
    "StringToHashBucket", "StringToHashBucketFast", "StringToVector", "StringUpper",
    "TrieDetokenizer", "TrieTokenizer", "VectorToString", "WhisperTokenizer",
    "WordpieceTokenizer",
})  # fmt: skip
#: ONNX Runtime's PyOp (imports the module its attributes name), ORTModule's PythonOp, and
#: the like: op types that hand the tensors to Python.
PYTHON_OP = re.compile(r"^(Py|Python)(Op|Func|Function)")
#: Domains named for Python operators (ONNX Runtime's examples use ``pyopmulti_1``).
PYTHON_DOMAIN = re.compile(r"^(pyop|pyfunc|python)", re.IGNORECASE)
PYTHON_ATTRS: Final = ("module", "class_name", "compute", "func_name")
EXTERNAL: Final = 1
MAX_REPORTED: Final = 50
_DRIVE = re.compile(r"^[A-Za-z]:")


def escapes(location: str) -> bool:
    """True if ``location`` is absolute or leaves the directory it is relative to."""
    path = location.replace("\\", "/")
    if "\x00" in path or path.startswith("/") or _DRIVE.match(path):
        return True
    normal = posixpath.normpath(path)
    return normal == ".." or normal.startswith("../")


def _locations(tensor: Any) -> list[str]:
    return [text(e.value) for e in tensor.external_data if text(e.key) == "location"]


def _external_findings(found: Walk, ctx: ScanContext, result: FileScan) -> None:
    reported: set[str] = set()
    for tensor, where in found.tensors:
        if tensor.data_location != EXTERNAL:
            continue
        for location in _locations(tensor):
            if not escapes(location) or location in reported or len(reported) >= MAX_REPORTED:
                continue
            reported.add(location)
            result.findings.append(
                ctx.finding(
                    "onnx.external_data.traversal",
                    "high",
                    f"tensor {text(tensor.name)!r} ({where}) reads external data from "
                    f"{location!r}, outside the model's directory",
                    technique="ONNX external data path traversal",
                )
            )


def _python_detail(node: Any) -> str | None:
    """What makes ``node`` a Python operator, or None."""
    attrs = {text(a.name): a for a in node.attribute}
    named = {k: text(attrs[k].s) for k in PYTHON_ATTRS if k in attrs and attrs[k].s}
    domain, op = text(node.domain), text(node.op_type)
    python_domain = any(PYTHON_DOMAIN.match(part) for part in domain.split("."))
    if (
        PYTHON_OP.match(op)
        or python_domain
        or {"module", "class_name"} <= named.keys()
        or (domain == EXTENSIONS_DOMAIN and op not in EXTENSIONS_NATIVE)
    ):
        return ", ".join(f"{k}={v!r}" for k, v in named.items()) or "no module named"
    return None


def _python_findings(found: Walk, ctx: ScanContext, result: FileScan) -> None:
    count = 0
    for node, where in found.nodes:
        detail = _python_detail(node)
        if detail is None or count >= MAX_REPORTED:
            continue
        count += 1
        domain, op = text(node.domain), text(node.op_type)
        result.findings.append(
            ctx.finding(
                "onnx.op.python",
                "high",
                f"operator {domain or 'ai.onnx'}:{op} (node {text(node.name)!r}, {where}) runs "
                f"Python when the model runs ({detail})",
                technique="ONNX Python operator",
            )
        )


def _domain_message(domain: str, ops: set[str]) -> tuple[str, Severity, str]:
    listed = ", ".join(sorted(ops)[:20]) or "declared only"
    if domain in VENDOR_DOMAINS:
        return "onnx.vendor_domain", "low", f"({listed}) needs ONNX Runtime contrib ops"
    if domain == EXTENSIONS_DOMAIN:
        return "onnx.extensions_domain", "low", f"({listed}) needs onnxruntime-extensions"
    # Running the model runs a native library nobody reviewed, in the serving process.
    return "onnx.custom_domain", "high", f"({listed}) runs a custom operator library"


def _domain_findings(model: Any, found: Walk, ctx: ScanContext, result: FileScan) -> None:
    local = {text(f.domain) for f in model.functions}
    used: dict[str, set[str]] = {}
    for node, _where in found.nodes:
        used.setdefault(text(node.domain), set()).add(text(node.op_type))
    for opset in model.opset_import:
        used.setdefault(text(opset.domain), set())
    foreign = [(d, ops) for d, ops in sorted(used.items()) if d not in STANDARD_DOMAINS | local]
    for domain, ops in foreign[:MAX_REPORTED]:
        id_, severity, reason = _domain_message(domain, ops)
        result.findings.append(
            ctx.finding(id_, severity, f"operator domain {domain!r} {reason}",
                        technique="ONNX custom operator")
        )  # fmt: skip
    if len(foreign) > MAX_REPORTED:
        reason = f"{len(foreign) - MAX_REPORTED} more operator domains need custom libraries"
        result.findings.append(ctx.finding("onnx.custom_domain", "high", reason,
                                           technique="ONNX custom operator"))  # fmt: skip


def scan_onnx(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Parse an ONNX model and check external data, Python operators and operator domains."""
    from onnx import ModelProto

    result = FileScan()
    model = ModelProto()
    if not parse_protobuf(model, fp, size, ctx, result, finding_id="onnx.parse_error",
                          subject="the ONNX model", technique="ONNX model"):  # fmt: skip
        return result
    found = walk(model)
    if found.limit is not None:
        ctx.incomplete(
            result,
            ctx.finding("onnx.limit", "medium", f"{found.limit}; the rest was not analysed",
                        technique="resource limit"),
        )  # fmt: skip
    _external_findings(found, ctx, result)
    _python_findings(found, ctx, result)
    _domain_findings(model, found, ctx, result)
    return result

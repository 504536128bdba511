"""Keras model configurations: ``config.json`` in ``.keras`` archives and ``model_config`` in HDF5.

The configuration is parsed as JSON and walked; Lambda layers (which carry code) and objects
from modules outside Keras (which the loader imports) are findings. Nothing is deserialized.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.result import FileScan

#: Keras itself and the reviewed libraries of Keras layers (keras_hub, formerly keras_nlp and
#: keras_cv): the loader imports classes from these without running anything a model brings.
KERAS_MODULES: Final = (
    "keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras", "keras_hub", "keras_nlp",
    "keras_cv",
)  # fmt: skip
_KERAS_PREFIXES: Final = tuple(m + "." for m in KERAS_MODULES)
#: Modules whose objects give process, file, network or interpreter access.
DANGEROUS_MODULES: Final = frozenset({
    "os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "importlib", "runpy",
    "shutil", "socket", "pickle", "marshal", "ctypes", "code", "codeop", "pty", "types",
    "webbrowser", "requests", "urllib", "http", "commands", "platform", "pydoc", "pkgutil",
})  # fmt: skip
LAMBDA_CLASSES: Final = frozenset({"Lambda", "__lambda__"})
MAX_DEPTH: Final = 200
MIN_PAYLOAD_CHARS: Final = 16


def json_objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``value``, depth-first (bounded depth)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from json_objects(child, depth + 1)
    elif isinstance(value, list):
        for child in value:
            yield from json_objects(child, depth + 1)


def _snippet(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def scan_config(config: Any, ctx: ScanContext) -> FileScan:
    """Findings for Lambda layers and non-Keras objects in a parsed model configuration."""
    result = FileScan()
    covered: set[int] = set()  # function objects already reported with their Lambda layer
    for node in json_objects(config):
        class_name = node.get("class_name")
        module = node.get("module")
        is_lambda = class_name in LAMBDA_CLASSES or node.get("function_type") == "lambda"
        if is_lambda and id(node) not in covered:
            inner = node.get("config")
            code = inner.get("function", inner.get("code")) if isinstance(inner, dict) else None
            covered.add(id(code))
            result.findings.append(
                ctx.finding(
                    "keras.lambda",
                    "high",
                    f"Lambda layer carries code the loader runs: {_snippet(code)}",
                    technique="Keras Lambda layer",
                )
            )
        if isinstance(module, str) and isinstance(class_name, str):
            _module_finding(module, class_name, node, ctx, result)
    result.merge(_embedded_payloads(config, ctx))
    return result


def _embedded_payloads(config: Any, ctx: ScanContext) -> FileScan:
    """Serialized objects in configuration strings: Keras hands ``__bytes__`` values (a torch
    module wrapper's ``torch.save`` output, say) back to their deserializer when it loads."""
    from modelward.engine.scan.embedded import scan_string

    result = FileScan()
    for path, value in _strings(config):
        result.merge(scan_string(value, f"configuration value {path}", ctx, active=True))
    return result


def _strings(value: Any, path: str = "$", depth: int = 0) -> Iterator[tuple[str, str]]:
    """(JSON path, string) of every long string in ``value`` (bounded depth)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        if len(value) >= MIN_PAYLOAD_CHARS:
            yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _strings(child, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _strings(child, f"{path}[{index}]", depth + 1)


def _module_finding(
    module: str, class_name: str, node: dict[str, Any], ctx: ScanContext, result: FileScan
) -> None:
    root = module.split(".")[0]
    name = node.get("registered_name") or class_name
    if root in DANGEROUS_MODULES:
        result.findings.append(
            ctx.finding(
                "keras.dangerous_module",
                "high",
                f"object {module}.{name} comes from a module with system access",
                technique="Keras custom object",
            )
        )
    elif module not in KERAS_MODULES and not module.startswith(_KERAS_PREFIXES):
        # Keras imports the module and builds the object from the configuration: the loader
        # runs code nobody reviewed (allowed_imports accepts a site's own layers).
        result.findings.append(
            ctx.finding(
                "keras.custom_object",
                "high",
                f"the loader imports {module} and builds {name} from the configuration: code "
                "from outside Keras runs when the model loads",
                technique="Keras custom object",
                symbol=f"{module}.{class_name}",
            )
        )


def scan_keras_config(data: bytes, ctx: ScanContext) -> FileScan:
    """``config.json`` of a ``.keras`` archive (ignored unless it looks like a Keras config)."""
    try:
        config = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return FileScan()
    if not isinstance(config, dict) or "class_name" not in config:
        return FileScan()
    return scan_config(config, ctx)


def scan_hdf5(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """Keras HDF5: the root ``model_config`` attribute, read in isolation (see ``hdf5``)."""
    from modelward.engine.scan.formats.hdf5 import read_root_attribute

    result = FileScan()
    read = read_root_attribute(fp, "model_config", ctx.limits.max_header_bytes)
    if read.error is not None:
        reason = "timed out" if read.timed_out else "cannot be read"
        return ctx.incomplete(
            result,
            ctx.finding(
                "hdf5.unreadable",
                "medium",
                f"the HDF5 model_config attribute {reason}: {read.error}",
                technique="corrupt file",
            ),
        )
    if read.value is None:
        return result
    try:
        config = json.loads(read.value)
    except (ValueError, RecursionError) as exc:
        return ctx.incomplete(
            result,
            ctx.finding(
                "keras.config_invalid",
                "medium",
                f"model_config is not valid JSON: {exc}",
                technique="Keras configuration",
            ),
        )
    result.merge(scan_config(config, ctx))
    return result

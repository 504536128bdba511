"""skops archives: the types ``schema.json`` asks the loader to import.

skops refuses types the user has not trusted, so an unfamiliar type is low; a type from a module
with system access is high, because trusting it (as users are prompted to) runs it.
"""

from __future__ import annotations

import json
from typing import Final

from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.formats.keras import DANGEROUS_MODULES, json_objects
from modelward.engine.scan.result import FileScan

FAMILIAR_ROOTS: Final = frozenset({"sklearn", "numpy", "scipy", "skops", "collections"})
SAFE_BUILTINS: Final = frozenset({
    "dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool", "bytes",
    "bytearray", "complex", "slice", "NoneType", "type", "object", "range",
})  # fmt: skip


def scan_skops_schema(data: bytes, ctx: ScanContext) -> FileScan:
    """Findings for the (module, class) pairs a skops ``schema.json`` references."""
    result = FileScan()
    try:
        schema = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return result
    seen: set[tuple[str, str]] = set()
    for node in json_objects(schema):
        module, name = node.get("__module__"), node.get("__class__")
        if isinstance(module, str) and isinstance(name, str) and (module, name) not in seen:
            seen.add((module, name))
            _judge(module, name, ctx, result)
    return result


def _judge(module: str, name: str, ctx: ScanContext, result: FileScan) -> None:
    root = module.split(".")[0]
    if (module == "builtins" and name in SAFE_BUILTINS) or root in FAMILIAR_ROOTS:
        return
    if root in DANGEROUS_MODULES:
        result.findings.append(
            ctx.finding(
                "skops.dangerous_type",
                "high",
                f"schema references {module}.{name}, which gives system access once trusted",
                technique="skops untrusted type",
            )
        )
        return
    result.findings.append(
        ctx.finding(
            "skops.untrusted_type",
            "low",
            f"schema references {module}.{name}, which the loader refuses until it is trusted",
            technique="skops untrusted type",
            symbol=f"{module}.{name}",
        )
    )

"""Strict JSON Schema validation of a raw CycloneDX document against the version it declares.

Only the schemas bundled with ``cyclonedx-python-lib`` are used (offline); the document is never
loaded into the library's object model, which drops ``modelCard`` and other fields it does not
model.

The validator is imported on first use: its format checkers take seconds to import, which only
a scan that has a BOM should pay.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from cyclonedx.validation.json import JsonStrictValidator

#: CycloneDX versions with a JSON schema (1.2 is the first); ML-BOMs need 1.5 or later.
SUPPORTED_VERSIONS: Final = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
MAX_ERRORS: Final = 20
MAX_MESSAGE_CHARS: Final = 240


def validate(raw: str, spec_version: str) -> list[str]:
    """Schema errors of ``raw`` for ``spec_version`` (empty when valid), as ``path: message``."""
    if spec_version not in SUPPORTED_VERSIONS:
        supported = ", ".join(SUPPORTED_VERSIONS)
        return [f"specVersion: {spec_version!r} is not a supported version ({supported})"]
    result = _validator(spec_version).validate_str(raw, all_errors=True)
    if result is None:
        return []
    errors: list[str] = []
    for error in result if isinstance(result, Iterable) else [result]:
        text = _describe(error.data)
        if text not in errors:
            errors.append(text)
        if len(errors) >= MAX_ERRORS:
            errors.append(f"(more errors not shown; the first {MAX_ERRORS} are listed)")
            break
    return errors


@lru_cache(maxsize=len(SUPPORTED_VERSIONS))
def _validator(spec_version: str) -> JsonStrictValidator:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    return JsonStrictValidator(SchemaVersion.from_version(spec_version))


def _describe(data: object) -> str:
    """``components[0].licenses: <message>`` for a jsonschema error, never the whole schema."""
    message = getattr(data, "message", None)
    if not isinstance(message, str):
        message = str(data).split("\n", 1)[0]
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 3] + "..."
    path = json_path(getattr(data, "absolute_path", ()))
    return f"{path}: {message}" if path else message


def json_path(parts: Iterable[object]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out

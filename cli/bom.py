"""``modelward bom``: not implemented yet."""

from __future__ import annotations

from modelward.engine.errors import Error


def bom_command() -> None:
    """Write a CycloneDX ML-BOM for a model (not implemented yet)."""
    raise Error("not implemented yet")

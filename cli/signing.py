"""``modelward sign`` and ``modelward verify``: not implemented yet."""

from __future__ import annotations

from modelward.engine.errors import Error


def sign_command() -> None:
    """Sign a model (not implemented yet)."""
    raise Error("not implemented yet")


def verify_command() -> None:
    """Verify a model signature (not implemented yet)."""
    raise Error("not implemented yet")

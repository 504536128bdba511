"""Terminal colour for the table report: only on a terminal, never when ``NO_COLOR`` is set."""

from __future__ import annotations

import os
from typing import TextIO

RESET = "\x1b[0m"
OUTCOME_CODES = {"allow": "32;1", "deny": "31;1", "warn": "33;1", "error": "35;1"}
SEVERITY_CODES = {"critical": "31;1", "high": "31", "medium": "33", "low": "36", "info": "2"}


def wants_colour(stream: TextIO) -> bool:
    """Colour when ``stream`` is a terminal and ``NO_COLOR`` is unset or empty (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Style:
    """Wraps text in ANSI colour codes, or leaves it alone when colour is off."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def outcome(self, text: str, outcome: str) -> str:
        return self._paint(text, OUTCOME_CODES.get(outcome))

    def severity(self, text: str, severity: str) -> str:
        return self._paint(text, SEVERITY_CODES.get(severity))

    def _paint(self, text: str, code: str | None) -> str:
        return f"\x1b[{code}m{text}{RESET}" if self.colour and code else text

"""The outcome of a backdoor analysis, as the facts record it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MethodResult:
    """One family of evidence: its calibrated score (0..1), time spent, and what it points at."""

    name: str
    score: float
    seconds: float
    suspected_target: str | None = None
    trigger: str | None = None
    complete: bool = True
    note: str | None = None


@dataclass(frozen=True)
class BackdoorResult:
    """The combined evidence. `complete` is False when a method was skipped or cut short."""

    score: float
    suspected_target: str | None
    trigger: str | None
    methods: tuple[MethodResult, ...] = field(default_factory=tuple)
    complete: bool = True
    note: str | None = None

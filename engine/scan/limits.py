"""Bounds on the work hostile input can cause. Hitting one is a finding, never a silent pass."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_decompressed_bytes: int = 4 << 30
    max_archive_members: int = 100_000
    max_nesting_depth: int = 4
    max_pickle_bytes: int = 1 << 30
    max_pickle_ops: int = 10_000_000
    max_memo_entries: int = 1_000_000
    max_stack_depth: int = 100_000
    max_header_bytes: int = 100 << 20


DEFAULT_LIMITS = Limits()

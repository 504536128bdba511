"""Bounds on the work hostile input can cause. Hitting one is a finding, never a silent pass.

The pickle bounds have a fixed floor and may grow with the size of the pickle: every opcode
takes at least one byte, so work proportional to the file lets any pickle a loader reads in
seconds through, while a file built to make the analysis explode is still cut off.
``DEFAULT_LIMITS`` scales; ``Limits()`` alone keeps every bound fixed at its floor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Limits:
    max_decompressed_bytes: int = 4 << 30
    max_archive_members: int = 100_000
    max_nesting_depth: int = 4
    #: Pickle data read into memory (archive members, decompressed data); files are mapped.
    max_pickle_bytes: int = 1 << 30
    max_pickle_ops: int = 10_000_000
    max_memo_entries: int = 1_000_000
    max_stack_depth: int = 100_000
    max_header_bytes: int = 100 << 20
    #: Growth of the pickle bounds per byte of pickle (0: fixed at the floor above).
    pickle_ops_per_byte: float = 0.0
    pickle_memo_per_byte: float = 0.0
    pickle_stack_per_byte: float = 0.0

    def for_pickle(self, size: int) -> Limits:
        """The bounds for a ``size``-byte pickle: the floor, or proportional to ``size``."""
        return replace(
            self,
            max_pickle_ops=max(self.max_pickle_ops, int(size * self.pickle_ops_per_byte)),
            max_memo_entries=max(self.max_memo_entries, int(size * self.pickle_memo_per_byte)),
            max_stack_depth=max(self.max_stack_depth, int(size * self.pickle_stack_per_byte)),
        )


#: Opcodes: the whole file twice (nested streams, joblib's plain reading). Memo and stack: one
#: entry per two bytes, more than ``pickle.dumps`` output ever needs (an object and its PUT).
DEFAULT_LIMITS = Limits(pickle_ops_per_byte=2.0, pickle_memo_per_byte=0.5,
                        pickle_stack_per_byte=0.5)  # fmt: skip

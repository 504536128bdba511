"""Bounds on what unpacking a registry artifact may cost: layers, members and bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MIB: Final = 1 << 20
GIB: Final = 1 << 30


@dataclass(frozen=True)
class UnpackLimits:
    """A compressed layer may expand to ``ratio`` times its size (at least ``layer_floor``,
    at most ``layer_ceiling``); an uncompressed tar to no more than its own size."""

    max_layers: int = 512
    max_members: int = 100_000
    max_total_members: int = 500_000
    ratio: int = 100
    layer_floor: int = 256 * MIB
    layer_ceiling: int = 256 * GIB
    total_ceiling: int = 1024 * GIB

    def layer_bytes(self, size: int, compressed: bool) -> int:
        """How many bytes one layer of ``size`` bytes may produce."""
        if not compressed:
            return min(size, self.layer_ceiling)
        return min(self.layer_ceiling, max(self.layer_floor, size * self.ratio))


DEFAULT_LIMITS: Final = UnpackLimits()

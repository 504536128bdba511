"""The (N, channels, height, width) view of image-like probes, and a coarse block grid over it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from modelward.engine.behaviour.methods.common import BudgetExhausted, Context, FloatArray
from modelward.engine.behaviour.model import InputSpec

MAX_GRID = 8  # at most 8x8 blocks: keeps the search cost independent of the resolution


@dataclass(frozen=True)
class ImageView:
    """Converts between the model's input layout and (N, C, H, W), and describes the block grid."""

    spec: InputSpec
    block: int
    rows: int
    cols: int
    low: float
    high: float

    @classmethod
    def of(cls, spec: InputSpec, probes: FloatArray) -> ImageView:
        assert spec.image is not None
        _, h, w = spec.image
        block = max(1, math.ceil(max(h, w) / MAX_GRID))
        low, high = spec.value_range or (float(probes.min()), float(probes.max()))
        if high <= low:
            high = low + 1.0
        return cls(spec, block, math.ceil(h / block), math.ceil(w / block), low, high)

    @property
    def blocks(self) -> int:
        return self.rows * self.cols

    def to_chw(self, batch: FloatArray) -> FloatArray:
        assert self.spec.image is not None
        c, h, w = self.spec.image
        if self.spec.layout == "hwc":
            return batch.reshape(-1, h, w, c).transpose(0, 3, 1, 2).astype(np.float64)
        return batch.reshape(-1, c, h, w).astype(np.float64)

    def from_chw(self, batch: FloatArray) -> FloatArray:
        shape = (-1, *self.spec.shape)
        if self.spec.layout == "hwc":
            return batch.transpose(0, 2, 3, 1).reshape(shape)
        return batch.reshape(shape)

    def mask(self, block_index: int) -> tuple[slice, slice]:
        r, c = divmod(block_index, self.cols)
        b = self.block
        return slice(r * b, (r + 1) * b), slice(c * b, (c + 1) * b)

    def block_map(self, values: FloatArray) -> FloatArray:
        """Expand one value per block to a full (C, H, W) plane."""
        assert self.spec.image is not None
        c, h, w = self.spec.image
        grid = values.reshape(self.rows, self.cols)
        full = np.kron(grid, np.ones((self.block, self.block)))[:h, :w]
        return np.broadcast_to(full, (c, h, w)).copy()

    def describe_blocks(self, blocks: list[int], values: list[float]) -> str:
        rs = [divmod(i, self.cols)[0] * self.block for i in blocks]
        cs = [divmod(i, self.cols)[1] * self.block for i in blocks]
        box = (min(rs), min(cs), max(rs) + self.block - 1, max(cs) + self.block - 1)
        bright = sum(1 for v in values if v >= (self.low + self.high) / 2)
        return (
            f"{len(blocks)} block(s) of {self.block}px in rows {box[0]}-{box[2]}, "
            f"cols {box[1]}-{box[3]} ({bright} set to max, {len(blocks) - bright} to min)"
        )


Found = TypeVar("Found")


def search_each_class(
    ctx: Context,
    name: str,
    probes: FloatArray,
    n_probes: int,
    search: Callable[[ImageView, FloatArray, int], Found],
) -> tuple[ImageView, dict[int, Found], bool]:
    """``search(view, x, cls)`` for every class, ``x`` being up to ``n_probes`` probes the model
    assigns to another class (in the (N, C, H, W) view); whether every class was searched before
    the budget ran out."""
    view = ImageView.of(ctx.model.spec, probes)
    x_all = view.to_chw(probes)
    pred = np.argmax(ctx.probabilities(view.from_chw(x_all)), axis=1)
    n_classes = len(ctx.model.labels)
    found: dict[int, Found] = {}
    for cls in range(n_classes):
        ctx.report(name, cls / n_classes)
        x = x_all[pred != cls][:n_probes]
        if len(x) == 0:
            continue
        try:
            found[cls] = search(view, x, cls)
        except BudgetExhausted:
            return view, found, False
    return view, found, True

"""What the backdoor methods may ask of a classifier: its input description and its outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

InputKind = Literal["tensor", "text"]


@dataclass(frozen=True)
class InputSpec:
    """The model's single input, per sample (the batch dimension left out).

    `shape` is the per-sample shape, e.g. (64,), (1, 28, 28) or (28, 28, 3). `image` is the
    (channels, height, width) view of one sample when the input is image-like, with `layout`
    saying where channels sit ("chw", "hwc" or "flat" for a square vector read as one channel),
    and None for inputs that are not images. `value_range` is (min, max) over the probe inputs.
    """

    kind: InputKind
    shape: tuple[int, ...]
    dtype: str
    image: tuple[int, int, int] | None
    layout: Literal["chw", "hwc", "flat"] | None
    value_range: tuple[float, float] | None


class ProbedClassifier(Protocol):
    """A classifier the analysis can only query: never its code, only its answers.

    `probabilities` returns float64 of shape (len(batch), len(labels)), rows summing to ~1 (scores
    or labels are turned into that by the implementation). A tensor batch has shape
    (N, *spec.shape); a text batch is a sequence of strings. `vocabulary` is every string the
    graph itself carries as a token (e.g. TfIdfVectorizer pool strings), empty when none.
    `weights` is the largest 2-D float initializer feeding the output (rows or columns per class),
    or None when the graph has none (trees, k-NN).
    """

    spec: InputSpec
    labels: tuple[str, ...]
    vocabulary: tuple[str, ...]

    def probabilities(
        self, batch: npt.NDArray[np.floating] | Sequence[str]
    ) -> npt.NDArray[np.float64]: ...

    def weights(self) -> npt.NDArray[np.float64] | None: ...

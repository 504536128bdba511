"""``HfResolver``: not implemented yet."""

from __future__ import annotations

from modelward.engine.errors import UnsupportedReference
from modelward.engine.refs import ModelRef
from modelward.engine.source import ModelSource


class HfResolver:
    def resolve(self, ref: ModelRef) -> ModelSource:
        raise UnsupportedReference(ref.raw, ref.scheme)

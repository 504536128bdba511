"""``SignatureCollector``: not implemented yet."""

from __future__ import annotations

from modelward.engine.collectors import CollectContext, CollectorSkipped
from modelward.engine.source import ModelSource


class SignatureCollector:
    name = "signature"

    def collect(self, source: ModelSource, ctx: CollectContext) -> None:
        raise CollectorSkipped("not implemented yet")

"""``PublisherCollector``: who published a Hub model, what the Hub says of it, and whether the
bytes scanned are the bytes the Hub says it serves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelward.engine.collectors import CollectContext, CollectorSkipped
from modelward.engine.facts import HubFileIssue, HubScan, PublisherFacts
from modelward.engine.source import ModelSource


class PublisherCollector:
    name = "publisher"

    def collect(self, source: ModelSource, ctx: CollectContext) -> PublisherFacts:
        hub = source.metadata.get("hub")
        if not isinstance(hub, Mapping):
            raise CollectorSkipped("not a hub model")
        from modelward.engine.collectors.lookalike import WELL_KNOWN_PUBLISHERS, lookalike_of
        from modelward.engine.resolvers.hf.integrity import hub_mismatches

        repo = _text(hub.get("repo")) or source.ref.location
        org = repo.split("/", 1)[0] if "/" in repo else None
        author = _text(hub.get("author")) or org
        trusted = (*ctx.options.trusted_publishers, *WELL_KNOWN_PUBLISHERS)
        names = dict.fromkeys(n for n in (author, org) if n)
        hashes = ctx.sections.get("hashes")
        return PublisherFacts(
            source="huggingface",
            repo=repo,
            author=author,
            gated=hub.get("gated") if isinstance(hub.get("gated"), bool | str) else None,
            private=_flag(hub.get("private")),
            disabled=_flag(hub.get("disabled")),
            created_at=_text(hub.get("created_at")),
            last_modified=_text(hub.get("last_modified")),
            downloads=_count(hub.get("downloads")),
            hub_scan=_hub_scan(hub.get("security")),
            lookalike_of=next((hit for n in names if (hit := lookalike_of(n, trusted))), None),
            lfs_mismatches=hub_mismatches(source, hub, getattr(hashes, "files", None)),
        )


def _hub_scan(security: Any) -> HubScan:
    if not isinstance(security, Mapping):
        return HubScan(status="unavailable")
    status = security.get("status")
    if status not in ("safe", "unsafe", "unscanned", "unavailable"):
        return HubScan(status="unavailable")
    issues = [
        HubFileIssue(path=i["path"], level=i["level"])
        for i in security.get("files_with_issues") or []
        if isinstance(i, Mapping) and isinstance(i.get("path"), str)
        and isinstance(i.get("level"), str)
    ]  # fmt: skip
    return HubScan(status=status, files_with_issues=issues)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

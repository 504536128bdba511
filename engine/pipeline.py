"""Reference -> resolver -> collectors -> facts -> policy decision."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from modelward.engine import __version__
from modelward.engine.collectors import CollectContext, CollectOptions, Collector, CollectorSkipped
from modelward.engine.collectors.bom import BomCollector
from modelward.engine.collectors.card import CardCollector
from modelward.engine.collectors.code import CodeCollector
from modelward.engine.collectors.dependencies import DependenciesCollector
from modelward.engine.collectors.files import FilesCollector
from modelward.engine.collectors.hashes import Hashes, HashesCollector
from modelward.engine.collectors.publisher import PublisherCollector
from modelward.engine.collectors.scan import ScanCollector
from modelward.engine.collectors.signature import SignatureCollector
from modelward.engine.decision import Decision
from modelward.engine.facts import (
    Collection,
    CollectorStatus,
    Facts,
    FileFacts,
    OriginFacts,
    ScanFacts,
    Subject,
)
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators import Evaluator
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve
from modelward.engine.source import ModelSource

#: The collectors every scan runs, in order (later ones may read earlier sections).
DEFAULT_COLLECTORS: tuple[Callable[[], Collector], ...] = (
    FilesCollector,
    HashesCollector,
    ScanCollector,
    SignatureCollector,
    PublisherCollector,
    CardCollector,
    BomCollector,
    CodeCollector,
    DependenciesCollector,
)
#: Sections that map one to one onto a field of the facts document.
PROVENANCE_SECTIONS = ("signature", "publisher", "card", "bom", "code", "dependencies", "behaviour")


def collect_facts(
    ref: str | ModelRef | ModelSource,
    *,
    progress: Callable[[int], None] | None = None,
    options: CollectOptions | None = None,
    collectors: Sequence[Callable[[], Collector]] = DEFAULT_COLLECTORS,
) -> Facts:
    """Resolve ``ref`` (unless it is already a source) and run every collector.

    Collector failures are recorded in the facts, not raised.
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    source = ref if isinstance(ref, ModelSource) else resolve(_as_ref(ref))
    ctx = CollectContext(options=options or CollectOptions())
    if progress is not None:
        ctx.progress = progress
    statuses: dict[str, CollectorStatus] = {}
    for make in (*collectors, *_requested(ctx.options)):
        collector = make()
        statuses[collector.name] = _run(collector, source, ctx)
    return _assemble(
        source,
        ctx.sections,
        Collection(
            tool=f"modelward {__version__}",
            started_at=started_at,
            collectors=statuses,
        ),
    )


def _requested(options: CollectOptions) -> tuple[Callable[[], Collector], ...]:
    """Opt-in collectors, imported only when asked for (the behaviour analysis)."""
    if options.behaviour is None:
        return ()
    from modelward.engine.collectors.behaviour import BehaviourCollector

    return (BehaviourCollector,)


def _as_ref(ref: str | ModelRef) -> ModelRef:
    return ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)


def policy_input(facts: Facts, context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"model": facts.to_json_dict(), "context": context or {"source": "cli"}}


def decide(
    facts: Facts, bundle: PolicyBundle, evaluator: Evaluator, context: dict[str, Any] | None = None
) -> Decision:
    return evaluator.evaluate(bundle, policy_input(facts, context))


def _run(collector: Collector, source: ModelSource, ctx: CollectContext) -> CollectorStatus:
    started = time.perf_counter()
    try:
        ctx.sections[collector.name] = collector.collect(source, ctx)
    except CollectorSkipped as skipped:
        return CollectorStatus(status="skipped", seconds=_since(started), reason=str(skipped))
    except Exception as exc:  # a collector failure is a fact; policies fail closed on it
        return CollectorStatus(
            status="error",
            seconds=time.perf_counter() - started,
            reason=str(exc) or type(exc).__name__,
        )
    return CollectorStatus(status="ok", seconds=_since(started))


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 6)


def _assemble(source: ModelSource, sections: dict[str, Any], collection: Collection) -> Facts:
    files: list[FileFacts] = [f.model_copy() for f in sections.get("files", [])]
    hashes: Hashes | None = sections.get("hashes")
    if hashes is not None:
        for f in files:
            f.sha256 = hashes.files.get(f.path)
    ref = source.ref
    subject = Subject(
        ref=ref.raw,
        scheme=ref.scheme,
        location=ref.location,
        revision=ref.revision,
        resolved_revision=source.metadata.get("resolved_revision"),
        pinned=ref.pinned,
        digest=f"sha256:{hashes.manifest.digest}" if hashes else None,
    )
    scan = sections.get("scan") or ScanFacts(complete=False, findings=list(source.findings))
    provenance = {name: sections.get(name) for name in PROVENANCE_SECTIONS}
    origin = source.metadata.get("origin")
    return Facts(
        **provenance,
        subject=subject,
        origin=OriginFacts.model_validate(origin) if origin is not None else None,
        files=files,
        formats=sorted({f.format for f in files}),
        manifest=hashes.manifest if hashes else None,
        scan=scan,
        collection=collection,
    )

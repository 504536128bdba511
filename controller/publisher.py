"""The trusted side in the cluster: validate a worker's result, decide again, sign, publish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators import Evaluator
from modelward.engine.verdicts.freshness import parse_time
from modelward.engine.verdicts.keys import key_id
from modelward.engine.verdicts.registry import Registry
from modelward.engine.verdicts.registry.modelverdict import resource_name
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from modelward.engine.verdicts.signed import SignedVerdict, sign_with_key
from modelward.engine.vetting.accept import Accepted, accept_result
from modelward.engine.vetting.result import decode_result
from modelward.engine.vetting.worker import TOOL


class Publisher:
    """Holds the signing key, the policy bundle and the registry; nothing here reads models."""

    def __init__(
        self,
        bundle: PolicyBundle,
        evaluator: Evaluator,
        private_key: Any,
        registry: Registry,
        max_age: timedelta,
    ) -> None:
        self.bundle = bundle
        self.evaluator = evaluator
        self._key = private_key
        self.registry = registry
        self.max_age = max_age
        self.key_id = key_id(private_key.public_key())

    @property
    def bundle_revision(self) -> str:
        return self.bundle.revision

    @property
    def scanner(self) -> str:
        return TOOL

    def accept(self, line: str, reference: str) -> Accepted:
        """Raises ``MalformedResult``, ``SourceFailed`` or ``ResultRejected``."""
        return accept_result(
            decode_result(line), reference, self.bundle, self.evaluator, self.max_age
        )

    def current_verdict(
        self, reference: str, max_age: timedelta
    ) -> tuple[SignedVerdict, str] | None:
        """Our newest verdict for ``reference`` when it is still current: signed by our key,
        with this bundle and scanner, younger than ``max_age``."""
        signed = None if self._nothing_stored_yet() else self.registry.get(reference)
        if signed is None or signed.key_id != self.key_id:
            return None
        if stale_reason(signed, self.bundle_revision, self.scanner, max_age) is not None:
            return None
        return signed, resource_name(reference)

    def stored(self) -> list[SignedVerdict]:
        """Every verdict in the registry (the newest per reference)."""
        return [] if self._nothing_stored_yet() else self.registry.list()

    def _nothing_stored_yet(self) -> bool:
        # A SQLite registry's file appears with its first verdict; reading it before then fails.
        return isinstance(self.registry, SqliteRegistry) and not self.registry.path.exists()

    def publish(self, accepted: Accepted) -> tuple[SignedVerdict, str]:
        """Sign and store; returns the verdict and the name it is stored under."""
        signed = sign_with_key(accepted.verdict, self._key)
        self.registry.put(signed)
        return signed, resource_name(signed.reference)


def stale_reason(
    signed: SignedVerdict, bundle_revision: str, scanner: str, max_age: timedelta
) -> str | None:
    """Why a verdict should be vetted again (another bundle, another scanner, age), or None."""
    verdict = signed.unverified_verdict()
    if verdict is None:
        return "Unreadable"
    if verdict.decision.bundle_revision != bundle_revision:
        return "PolicyChanged"
    if verdict.facts.get("collection", {}).get("tool") != scanner:
        return "ScannerChanged"
    created = parse_time(verdict.created_at)
    if created is None or datetime.now(UTC) - created > max_age:
        return "Aged"
    return None

"""The admission core: one AdmissionReview in, one AdmissionReview response out.

``review`` is a pure function of the review and an ``AdmissionEnv`` (verdict lookup, keys, policy
evaluation, namespace labels), so it runs the same in the webhook, in ``modelward admission
review`` and in tests. The HTTP server only parses, calls and serialises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelward.admission.config import WebhookConfig
from modelward.engine.decision import Decision
from modelward.engine.verdicts import SignedVerdict, VerdictKeys

MAX_BODY_BYTES = 3 * 1024 * 1024  # the API server's own request limit is 3 MiB


@dataclass(frozen=True)
class AdmissionEnv:
    config: WebhookConfig
    lookup: Callable[[str], SignedVerdict | None]  # may raise RegistryUnavailable
    keys: VerdictKeys
    evaluate: Callable[[dict[str, Any]], Decision]  # policy input -> decision
    namespace_labels: Callable[[str], Mapping[str, str] | None]  # None: not known


@dataclass(frozen=True)
class ReviewResult:
    response: dict[str, Any]  # the AdmissionReview to send back (same apiVersion as the request)
    audit: dict[str, Any]  # one JSON-lines audit record for this decision


def parse_review(body: bytes) -> dict[str, Any]:
    """Parse a request body; raise ``InvalidReview`` (HTTP 400) when it is not a review."""
    raise NotImplementedError


def review(admission_review: Mapping[str, Any], env: AdmissionEnv) -> ReviewResult:
    """Decide one parsed review; never raises for a well-formed review (fail closed: deny)."""
    raise NotImplementedError


def deny_review(admission_review: Mapping[str, Any], reason: str) -> ReviewResult:
    """A deny for ``admission_review`` with ``reason`` (deadline passed, internal error)."""
    raise NotImplementedError

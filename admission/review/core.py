"""The admission core: one AdmissionReview in, one AdmissionReview response out.

``review`` is a pure function of the review and an ``AdmissionEnv`` (verdict lookup, keys, policy
evaluation, namespace labels), so it runs the same in the webhook, in ``modelward admission
review`` and in tests. The HTTP server only parses, calls and serialises.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelward.admission.config import WebhookConfig
from modelward.admission.errors import InvalidReview, MalformedObject
from modelward.admission.review.context import request_context
from modelward.admission.review.judge import ModelResult, failure, judge_all, unique
from modelward.admission.review.modes import NamespacePolicy, namespace_policy
from modelward.admission.review.parts import PartEvaluation
from modelward.admission.review.records import audit_record, bare_record
from modelward.admission.review.request import (
    API_VERSIONS,
    JUDGED_OPERATIONS,
    MAX_BODY_BYTES,
    AdmissionRequest,
    kind_mismatch,
    load_body,
    read_request,
)
from modelward.admission.review.responses import (
    MAX_MESSAGE_BYTES,
    clean,
    cut_bytes,
    deny_message,
    response,
    warning_lines,
)
from modelward.admission.review.steps import Evaluation, Steps, run
from modelward.admission.review.vetting import (
    VettingRequest,
    vetting_message,
    vetting_requests,
    vetting_warnings,
)
from modelward.admission.workloads.extract import ModelReference, extract_references
from modelward.admission.workloads.fields import LimitExceeded, TooManyReferences
from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.verdicts.signed import SignedVerdict, VerdictKeys

__all__ = [
    "MAX_BODY_BYTES",
    "AdmissionEnv",
    "ReviewResult",
    "deny_review",
    "parse_review",
    "review",
]

MALFORMED_OBJECT = "malformed-object"
KIND_MISMATCH = "kind-mismatch"
INTERNAL_ERROR = "internal-error"
TOO_MANY_MODELS = "too-many-models"


@dataclass(frozen=True)
class AdmissionEnv:
    config: WebhookConfig
    lookup: Callable[[str], SignedVerdict | None]  # may raise RegistryUnavailable
    keys: VerdictKeys
    evaluate: Callable[[dict[str, Any]], Decision]  # policy input -> decision
    namespace_labels: Callable[[str], Mapping[str, str] | None]  # None: not known
    parts: PartEvaluation | None = None  # set: decide in two parts instead of with ``evaluate``


@dataclass(frozen=True)
class ReviewResult:
    response: dict[str, Any]  # the AdmissionReview to send back (same apiVersion as the request)
    audit: dict[str, Any]  # one JSON-lines audit record for this decision
    vetting: tuple[VettingRequest, ...] = ()  # for the server to create after answering

    @property
    def allowed(self) -> bool:
        return bool(self.response["response"]["allowed"])


def parse_review(body: bytes) -> dict[str, Any]:
    """Parse a request body; raise ``InvalidReview`` (HTTP 400) when it is not a review."""
    return load_body(body)


def review(admission_review: Mapping[str, Any], env: AdmissionEnv) -> ReviewResult:
    """Decide one parsed review; never raises for a well-formed review (fail closed: deny).

    A review that is not well formed raises ``InvalidReview``.
    """
    return run(review_steps(admission_review, env), lambda step: perform(step, env))


def perform(step: Evaluation, env: AdmissionEnv) -> Decision:
    """One evaluation with the environment's (blocking) evaluators."""
    if step.document is not None:
        return env.evaluate(step.document)
    if env.parts is None:
        raise RuntimeError("a part evaluation without a part evaluator")
    return env.parts.evaluate_json(step.input_json, step.entry)


def review_steps(admission_review: Mapping[str, Any], env: AdmissionEnv) -> Steps[ReviewResult]:
    """``review`` as steps that yield each policy evaluation (see ``steps.Steps``)."""
    started = time.perf_counter()
    request = read_request(admission_review)
    try:
        return (yield from _review(request, env, started))
    except Exception as exc:  # whatever went wrong, the answer is a deny, never an allow
        reason = f"internal error: {type(exc).__name__}: {exc}"
        try:
            problem = failure(INTERNAL_ERROR, reason)
            return _decided(request, _mode(env, request), [], [problem], started)
        except Exception:
            return deny_review(admission_review, reason)


def deny_review(admission_review: Mapping[str, Any], reason: str) -> ReviewResult:
    """A deny for ``admission_review`` with ``reason`` (deadline passed, internal error)."""
    try:
        request = read_request(admission_review)
    except InvalidReview:
        message = cut_bytes(clean(reason), MAX_MESSAGE_BYTES)
        api_version, uid = _envelope(admission_review)
        return ReviewResult(
            response(api_version, uid, allowed=False, message=message),
            bare_record(admission_review, message=message),
        )
    message = cut_bytes(clean(f"{request.workload} is denied: {reason}"), MAX_MESSAGE_BYTES)
    answer = response(request.api_version, request.uid, allowed=False, message=message)
    record = audit_record(
        request, mode=None, exempt=False, allowed=False, would_deny=True, message=message
    )
    return ReviewResult(answer, record)


def _review(request: AdmissionRequest, env: AdmissionEnv, started: float) -> Steps[ReviewResult]:
    namespace = _mode(env, request)
    if request.operation not in JUDGED_OPERATIONS or namespace.exempt:
        return _decided(request, namespace, [], [], started)
    refs, problem = _references(request, env.config)
    if problem is not None:
        return _decided(request, namespace, [], [problem], started)
    if not refs:
        return _decided(request, namespace, [], [], started)
    context = request_context(request, namespace, env.config.environment_label)
    judged = yield from judge_all(refs, context, env)
    vetting = vetting_requests(env.config.auto_vetting, request, namespace.labels, judged.models)
    return _decided(request, namespace, judged.models, judged.problems, started, vetting)


def _references(
    request: AdmissionRequest, config: WebhookConfig
) -> tuple[list[ModelReference], PolicyFinding | None]:
    """The object's references, read as ``request.kind``; or the deny that ends the review
    before any lookup: a kind mismatch, a malformed object or more than ``max_references``."""
    mismatch = kind_mismatch(request)
    if mismatch is not None:
        reason = f"the object is not the {request.kind} the request names: {mismatch}"
        return [], failure(KIND_MISMATCH, reason)
    limit = config.max_references
    options = {"kind": request.kind, "annotation": config.reference_annotation}
    try:
        refs = unique(extract_references(request.object or {}, max_references=limit, **options))
    except TooManyReferences:
        return [], _too_many(f"at least {limit + 1}", limit)
    except LimitExceeded as exc:
        reason = f"the {request.kind} is over a limit admission enforces: {exc}"
        return [], failure(MALFORMED_OBJECT, reason)
    except MalformedObject as exc:
        reason = f"the {request.kind} has a field of the wrong type: {exc}"
        return [], failure(MALFORMED_OBJECT, reason)
    if len(refs) > limit:
        return [], _too_many(str(len(refs)), limit)
    return refs, None


def _too_many(count: str, limit: int) -> PolicyFinding:
    reason = f"{count} model references, more than the {limit} one object may carry"
    return failure(TOO_MANY_MODELS, f"{reason} (max_references)")


def _mode(env: AdmissionEnv, request: AdmissionRequest) -> NamespacePolicy:
    return namespace_policy(env.config, request.namespace, env.namespace_labels)


def _decided(
    request: AdmissionRequest,
    namespace: NamespacePolicy,
    models: Sequence[ModelResult],
    problems: Sequence[PolicyFinding],
    started: float,
    vetting: tuple[VettingRequest, ...] = (),
) -> ReviewResult:
    """Apply the mode to the findings and build the answer and its audit record."""
    would_deny = bool(problems) or any(m.deny for m in models)
    mode = namespace.mode
    allowed = not would_deny or mode != "enforce"
    message = ""
    if would_deny:
        next_step = vetting_message(vetting)
        message = deny_message(request.workload, models, problems, after_summary=next_step)
    notes = [namespace.note] if namespace.note else []
    notes.extend(vetting_warnings(vetting))
    warnings = (
        []
        if mode == "dry-run"
        else warning_lines(models, deny_as_warnings=mode == "warn", problems=problems, notes=notes)
    )
    answer = response(
        request.api_version, request.uid, allowed=allowed, message=message, warnings=warnings
    )
    record = audit_record(
        request,
        mode=mode,
        exempt=namespace.exempt,
        allowed=allowed,
        would_deny=would_deny,
        models=models,
        message=message,
        problems=[p.id for p in problems],
        vetting_requested=[v.reference for v in vetting],
        seconds=time.perf_counter() - started,
    )
    return ReviewResult(answer, record, vetting)


def _envelope(admission_review: Any) -> tuple[str, str]:
    """The apiVersion and uid to answer with, from a review that may be malformed."""
    if not isinstance(admission_review, Mapping):
        return "admission.k8s.io/v1", ""
    api_version = admission_review.get("apiVersion")
    request = admission_review.get("request")
    uid = request.get("uid") if isinstance(request, Mapping) else None
    version = api_version if api_version in API_VERSIONS else API_VERSIONS[0]
    return str(version), uid if isinstance(uid, str) else ""

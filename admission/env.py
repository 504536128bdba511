"""Build an ``AdmissionEnv`` from the webhook configuration: bundle, evaluator, keys, registry.

The verdict lookup is the trust layer over a registry: ``NewestVerdictLookup`` picks the newest
verdict whose signature verifies (by signed time), and the keys' ``Freshness`` (expiry and, in
the webhook, per-reference high-water marks) decides whether it is still trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modelward.admission.config import WebhookConfig, registry_url
from modelward.admission.lookupcache import FileLookupCache
from modelward.admission.review.core import AdmissionEnv
from modelward.admission.review.parts import EvaluateJson, PartEvaluation
from modelward.engine.policy.bundle import PolicyBundle, load_bundle
from modelward.engine.policy.evaluators.factory import close_evaluator, make_evaluator
from modelward.engine.policy.parts import split_problem
from modelward.engine.verdicts.freshness import Freshness, HighWaterMarks
from modelward.engine.verdicts.registry import RegistryUnavailable, open_registry, sqlite_path
from modelward.engine.verdicts.registry.newest import NewestVerdictLookup
from modelward.engine.verdicts.signed import SignedVerdict, VerdictKeys

Lookup = Callable[[str], SignedVerdict | None]
Candidates = Callable[[str], Sequence[SignedVerdict]]
LabelsOf = Callable[[str], Mapping[str, str] | None]
log = logging.getLogger("modelward.admission.env")


def build_env(
    config: WebhookConfig,
    *,
    lookup: Lookup | None = None,
    candidates: Candidates | None = None,
    keys: VerdictKeys | None = None,
    namespace_labels: LabelsOf | None = None,
) -> tuple[AdmissionEnv, Callable[[], None]]:
    """The environment the core decides in, and a function that releases it (the evaluator).

    ``lookup`` defaults to the newest verified verdict among ``candidates`` (default: the
    configured registry's); ``keys`` to ``verdict_keys(config)``.
    """
    bundle = load_bundle(config.policies, config.data)
    keys = keys or verdict_keys(config)
    if lookup is None:
        lookup = NewestVerdictLookup(candidates or registry_candidates(config), keys)
    evaluator = make_evaluator(config.engine, config.opa_url)
    env = AdmissionEnv(
        config=config,
        lookup=lookup,
        keys=keys,
        evaluate=lambda policy_input: evaluator.evaluate(bundle, policy_input),
        namespace_labels=namespace_labels or _labels_not_known,
        parts=part_evaluation(
            bundle, lambda text, entry: evaluator.evaluate_json(bundle, text, entry)
        ),
    )
    return env, lambda: close_evaluator(evaluator)


def part_evaluation(bundle: PolicyBundle, evaluate_json: EvaluateJson) -> PartEvaluation | None:
    """Two-part evaluation when the bundle allows it (``split_problem``); None otherwise."""
    problem = split_problem(bundle)
    if problem is not None:
        log.warning("each review evaluates the whole policy bundle: %s", problem)
        return None
    return PartEvaluation(evaluate_json)


def verdict_keys(config: WebhookConfig, *, remember: bool = False) -> VerdictKeys:
    """The configured keys and freshness; ``remember``: keep high-water marks (the webhook)."""
    settings = config.verdict_freshness
    marks = HighWaterMarks(settings.remembered_references) if remember else None
    freshness = Freshness(settings.max_age, marks)
    return VerdictKeys.from_paths(list(config.verdict_keys), freshness=freshness)


def sqlite_lookup(config: WebhookConfig, keys: VerdictKeys) -> Lookup:
    """The webhook's SQLite lookup: newest verified verdict, answers kept while the file is
    unchanged (``FileLookupCache``); ``keys`` judges freshness on every review."""
    candidates = registry_candidates(config)
    url = registry_url(config)
    path = sqlite_path(url)
    if path is None:
        raise RegistryUnavailable(f"{url}: not a SQLite registry")
    return FileLookupCache(NewestVerdictLookup(candidates, keys), path)


def registry_candidates(config: WebhookConfig) -> Candidates:
    """``candidates`` of the configured registry (SQLite file, or ModelVerdict resources)."""
    url = registry_url(config)
    if config.registry.type == "sqlite":
        return open_registry(url).candidates
    return open_registry(url, api_client=_api_client(config)).candidates


def _api_client(config: WebhookConfig) -> Any:
    from modelward.engine.kubeclient import KubeAccessError, api_client

    where = f"kubernetes://{config.registry.namespace}"
    try:
        client = api_client(config.kubernetes.access, config.kubernetes.kubeconfig)
    except KubeAccessError as exc:
        raise RegistryUnavailable(f"{where}: {exc}") from None
    if client is None:
        raise RegistryUnavailable(f"{where}: no Kubernetes credentials (kubernetes.access)")
    return client


def _labels_not_known(namespace: str) -> Mapping[str, str] | None:
    return None

"""Build an ``AdmissionEnv`` from the webhook configuration: bundle, evaluator, keys, registry."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from modelward.admission.config import WebhookConfig
from modelward.admission.core import AdmissionEnv
from modelward.admission.parts import EvaluateJson, PartEvaluation
from modelward.engine.bundle import PolicyBundle, load_bundle
from modelward.engine.evaluators.factory import close_evaluator, make_evaluator
from modelward.engine.policy_parts import split_problem
from modelward.engine.registry import RegistryUnavailable, open_registry
from modelward.engine.verdicts import SignedVerdict, VerdictKeys

Lookup = Callable[[str], SignedVerdict | None]
LabelsOf = Callable[[str], Mapping[str, str] | None]
log = logging.getLogger("modelward.admission.env")


def build_env(
    config: WebhookConfig,
    *,
    lookup: Lookup | None = None,
    namespace_labels: LabelsOf | None = None,
) -> tuple[AdmissionEnv, Callable[[], None]]:
    """The environment the core decides in, and a function that releases it (the evaluator)."""
    bundle = load_bundle(config.policies, config.data)
    keys = VerdictKeys.from_paths(list(config.verdict_keys))
    if lookup is None:
        lookup = registry_lookup(config)
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


def registry_lookup(config: WebhookConfig) -> Lookup:
    """``get`` of the configured registry (SQLite file, or ModelVerdict resources)."""
    registry_config = config.registry
    if registry_config.type == "sqlite":
        return open_registry(str(registry_config.path)).get
    client = _api_client(config)
    url = f"kubernetes://{registry_config.namespace}"
    return open_registry(url, api_client=client).get


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

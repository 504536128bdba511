"""Builders for admission core tests: real facts, real signed verdicts, real policies.

The verdict registry is a dict; everything else is what the webhook uses: the built-in policy
library on the embedded engine, ECDSA verdict keys, the facts of a real model.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from modelward.admission.config import WebhookConfig
from modelward.admission.review.core import AdmissionEnv
from modelward.engine.decision import Decision
from modelward.engine.pipeline import collect_facts
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.verdicts.signed import (
    SignedVerdict,
    Verdict,
    VerdictKeys,
    generate_keypair,
    sign_verdict,
    utc_now,
)

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / ".cache" / "models" / "all-minilm-l6-v2"
REVISION = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"
REPO_ID = "sentence-transformers/all-MiniLM-L6-v2"
REFERENCE = f"hf://{REPO_ID}@{REVISION}"
EVALUATOR = EmbeddedEvaluator()


@functools.cache
def builtin_bundle() -> PolicyBundle:
    return PolicyBundle.builtin()


def bundle_with(**config: Any) -> PolicyBundle:
    bundle = PolicyBundle.builtin()
    bundle.config = {**copy.deepcopy(bundle.config), **config}
    return bundle


@functools.cache
def _facts() -> dict[str, Any]:
    """The facts of a real model, as vetting ``REFERENCE`` would record them."""
    facts = collect_facts(str(MODEL_DIR)).to_json_dict()
    facts["subject"].update(
        ref=REFERENCE, scheme="hf", location=REPO_ID, revision=REVISION, pinned=True
    )
    return facts


def real_facts() -> dict[str, Any]:
    return copy.deepcopy(_facts())


@functools.cache
def vetting_keys() -> tuple[bytes, bytes]:
    """The vetting service's key pair (private PEM, public PEM)."""
    return generate_keypair()


@functools.cache
def other_keys() -> tuple[bytes, bytes]:
    """A key pair the webhook does not trust."""
    return generate_keypair()


def trusted_keys() -> VerdictKeys:
    return VerdictKeys.from_pems([vetting_keys()[1]])


def signed_verdict(
    reference: str = REFERENCE,
    *,
    facts: dict[str, Any] | None = None,
    decision: Decision | None = None,
    private_pem: bytes | None = None,
) -> SignedVerdict:
    """A verdict for ``reference``, decided by the built-in policies unless ``decision`` given."""
    facts = facts if facts is not None else real_facts()
    if decision is None:
        decision = EVALUATOR.evaluate(
            builtin_bundle(), {"model": facts, "context": {"source": "ci"}}
        )
    verdict = Verdict(
        reference=reference,
        digest=facts["subject"].get("digest"),
        created_at=utc_now(),
        decision=decision,
        facts=facts,
    )
    return sign_verdict(verdict, private_pem or vetting_keys()[0])


class Recorder:
    """An ``evaluate`` that runs real policies and remembers every input it was given."""

    def __init__(self, bundle: PolicyBundle | None = None) -> None:
        self.bundle = bundle or builtin_bundle()
        self.inputs: list[dict[str, Any]] = []

    def __call__(self, policy_input: dict[str, Any]) -> Decision:
        self.inputs.append(copy.deepcopy(policy_input))
        return EVALUATOR.evaluate(self.bundle, policy_input)


class DictRegistry:
    """``lookup`` over a dict, counting calls."""

    def __init__(self, verdicts: Mapping[str, SignedVerdict] | None = None) -> None:
        self.verdicts = dict(verdicts or {})
        self.calls: list[str] = []

    def __call__(self, reference: str) -> SignedVerdict | None:
        self.calls.append(reference)
        return self.verdicts.get(reference)


def make_env(
    verdicts: Mapping[str, SignedVerdict] | None = None,
    *,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    config: WebhookConfig | None = None,
    evaluate: Callable[[dict[str, Any]], Decision] | None = None,
    lookup: Callable[[str], SignedVerdict | None] | None = None,
) -> AdmissionEnv:
    known = labels or {}
    return AdmissionEnv(
        config=config or WebhookConfig(),
        lookup=lookup or DictRegistry(verdicts),
        keys=trusted_keys(),
        evaluate=evaluate or Recorder(),
        namespace_labels=lambda namespace: known.get(namespace),
    )


def container(name: str, *, model: str | None = None, **extra: Any) -> dict[str, Any]:
    """A container; ``model`` becomes a vLLM ``--model`` argument."""
    spec: dict[str, Any] = {"name": name, "image": "vllm/vllm-openai:v0.6.0", **extra}
    if model is not None:
        spec["args"] = ["--model", model, *spec.get("args", [])]
    return spec


def pod(*containers: dict[str, Any], name: str = "server", **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, **metadata},
        "spec": {"containers": list(containers) or [{"name": "web", "image": "nginx"}]},
    }


def deployment(*containers: dict[str, Any], name: str = "llm") -> dict[str, Any]:
    template = pod(*containers)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": template["spec"]},
        },
    }


def review_of(
    obj: dict[str, Any] | None,
    *,
    operation: str = "CREATE",
    namespace: str = "ml",
    api_version: str = "admission.k8s.io/v1",
    uid: str = "705ab4f5-6393-11e8-b7cc-42010a800002",
    **request: Any,
) -> dict[str, Any]:
    kind = (obj or {}).get("kind", "Pod")
    group, _, version = str((obj or {}).get("apiVersion", "v1")).rpartition("/")
    body: dict[str, Any] = {
        "uid": uid,
        "kind": {"group": group, "version": version, "kind": kind},
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "alice@example.com", "groups": ["ml-engineers"]},
        "object": obj,
        **request,
    }
    return {"apiVersion": api_version, "kind": "AdmissionReview", "request": body}

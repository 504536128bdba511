"""The untrusted half: resolve one reference, collect its facts, say what the policies decide.

This is what a vetting Job's container runs (``modelward vetting run``) and what each process of
``modelward vet --from`` runs. It holds no signing key; its decision is a claim the trusted side
re-evaluates.
"""

from __future__ import annotations

import re
import time

from modelward.engine import __version__
from modelward.engine.collectors import CollectOptions
from modelward.engine.errors import Error, InvalidReference, UnsupportedReference
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators import Evaluator
from modelward.engine.refs import ModelRef
from modelward.engine.vetting.result import VettingResult

TOOL = f"modelward {__version__}"
#: Source errors worth another attempt: the network or the service, not the reference.
TRANSIENT = re.compile(
    r"timed? ?out|timeout|connection|temporar|unreachable|reset by peer|name resolution|"
    r"HTTP (429|5\d\d)\b|\b(429|50[0-4])\b|too many requests|service unavailable|throttl",
    re.IGNORECASE,
)


def vet_reference(
    reference: str,
    options: CollectOptions,
    bundle: PolicyBundle,
    evaluator: Evaluator,
) -> VettingResult:
    """Facts and the claimed decision for ``reference``, or the source error; never raises for
    anything the reference or the network does."""
    started = time.perf_counter()
    try:
        ref = ModelRef.parse(reference)
    except InvalidReference as exc:
        return _source_error(reference, exc, started, transient=False)
    try:
        facts = collect_facts(ref, options=options)
    except (InvalidReference, UnsupportedReference) as exc:
        return _source_error(ref.canonical, exc, started, transient=False)
    except (Error, OSError) as exc:
        return _source_error(ref.canonical, exc, started, transient=is_transient(exc))
    decision = decide(facts, bundle, evaluator)
    return VettingResult(
        reference=ref.canonical,
        status="scanned",
        tool=TOOL,
        facts=facts.to_json_dict(),
        decision=decision,
        seconds=round(time.perf_counter() - started, 3),
    )


def is_transient(exc: BaseException) -> bool:
    """A timeout, a refused or reset connection, HTTP 429 or 5xx: retrying may help."""
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    return bool(TRANSIENT.search(str(exc)))


def _source_error(
    reference: str, exc: BaseException, started: float, *, transient: bool
) -> VettingResult:
    text = exc.diagnostics() if isinstance(exc, Error) else (str(exc) or type(exc).__name__)
    return VettingResult(
        reference=reference,
        status="source-error",
        tool=TOOL,
        error=text[:2000],
        transient=transient,
        seconds=round(time.perf_counter() - started, 3),
    )

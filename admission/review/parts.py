"""Admission decisions in two parts: the model part once per verdict, the request part each time.

``data.modelward.main.deny`` is ``model_deny | request_deny`` (and likewise ``warn``). The model
part judges the verdict's facts (or the stub of an unvetted reference); it is evaluated on
``{"model", "admission": {"verdict": {"trusted", "revoked"}, "reference": {"unresolvable"}}}`` and
remembered by that input's JSON text, so a thousand pods of one vetted model cost one evaluation
of the model policies. The request part (the admission category) sees the whole input on every
request. ``engine.policy.parts.split_problem`` decides at start whether a bundle allows this.

A remembered model part is dropped at the next UTC midnight (exemptions end with their expiry
day) and after ``max_age`` seconds at most; failed evaluations are never remembered. Model parts
of stubs (references without a trusted verdict) are remembered apart, in a smaller cache, so
references nobody vetted, which anyone can invent by the thousand, never push a verdict's model
part out.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelward.admission.review.steps import Evaluation, Steps
from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.policy.evaluators import MODEL_PART, REQUEST_PART, Entry

DAY = 86_400
MAX_AGE = 300.0
MAX_ENTRIES = 1024
MAX_STUBS = 256
FACTS_TEXTS = 256

EvaluateJson = Callable[[str, Entry], Decision]


class ModelPartCache:
    """Model-part decisions by input text; bounded, thread-safe, with wall-clock expiry."""

    def __init__(
        self,
        *,
        max_entries: int = MAX_ENTRIES,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries: OrderedDict[str, tuple[Decision, float]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: str) -> Decision | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if self._clock() >= found[1]:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: str, decision: Decision) -> None:
        if decision.outcome == "error":
            return
        now = self._clock()
        expires = min(now + self._max_age, (now // DAY + 1) * DAY)
        with self._lock:
            self._entries[key] = (decision, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class PartEvaluation:
    """Decides one policy input as model part (remembered) plus request part; ``evaluate_json``
    performs a part's evaluation where evaluations block (``run``)."""

    evaluate_json: EvaluateJson
    cache: ModelPartCache = field(default_factory=ModelPartCache)
    stubs: ModelPartCache = field(default_factory=lambda: ModelPartCache(max_entries=MAX_STUBS))
    _texts: dict[int, tuple[Any, str]] = field(default_factory=dict)

    def steps(self, policy_input: dict[str, Any]) -> Steps[Decision]:
        """The decision on ``policy_input``: the model part from the cache or evaluated, then
        the request part."""
        model = self._json(policy_input["model"])
        admission = policy_input["admission"]
        reduced = {
            "verdict": {
                "trusted": admission["verdict"]["trusted"],
                "revoked": admission["verdict"].get("revoked"),
            },
            "reference": {"unresolvable": admission["reference"]["unresolvable"]},
        }
        model_text = f'{{"model":{model},"admission":{json.dumps(reduced)}}}'
        cache = self.cache if reduced["verdict"]["trusted"] is True else self.stubs
        model_part = cache.get(model_text)
        if model_part is None:
            model_part = yield Evaluation(MODEL_PART, model_text)
            cache.put(model_text, model_part)
        context, admission_text = json.dumps(policy_input["context"]), json.dumps(admission)
        request_text = f'{{"model":{model},"context":{context},"admission":{admission_text}}}'
        request_part = yield Evaluation(REQUEST_PART, request_text)
        return merge(model_part, request_part)

    def _json(self, facts: dict[str, Any]) -> str:
        """``json.dumps(facts)``, remembered while the same facts object comes back.

        A trusted verdict's facts are one object for as long as the verdict check is
        remembered; holding it here keeps its ``id`` from being reused by another object.
        """
        known = self._texts.get(id(facts))
        if known is not None and known[0] is facts:
            return known[1]
        text = json.dumps(facts)
        if len(self._texts) >= FACTS_TEXTS:
            self._texts.clear()
        self._texts[id(facts)] = (facts, text)
        return text


def merge(model: Decision, request: Decision) -> Decision:
    """The decision of both parts: an error in either is an error (never an allow)."""
    meta = {"engine": request.engine, "bundle_revision": request.bundle_revision}
    for part, name in ((model, "model"), (request, "request")):
        if part.outcome == "error":
            reason = f"{part.error or 'the policy engine gave no reason'} ({name} part)"
            return Decision.failed(reason, seconds=request.seconds, **meta)
    deny = _union(model.deny, request.deny)
    return Decision(
        outcome="deny" if deny else "allow",
        deny=deny,
        warn=_union(model.warn, request.warn),
        seconds=request.seconds,
        **meta,
    )


def _union(*parts: list[PolicyFinding]) -> list[PolicyFinding]:
    unique = {f.model_dump_json(): f for part in parts for f in part}
    return sorted(unique.values(), key=lambda f: (f.id, f.msg))

"""``EmbeddedEvaluator``: the in-process Rego engine (regorus)."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from typing import Any

# regorus appends a Rust backtrace to every error message when this is 1; it is read once.
os.environ["RUST_BACKTRACE"] = "0"

import regorus

from modelward.engine.decision import Decision
from modelward.engine.errors import PolicyError
from modelward.engine.policy.bundle import PolicyBundle, RegoModule
from modelward.engine.policy.evaluators import DECISION, Entry, defines


class EmbeddedEvaluator:
    """regorus engines are bound to the thread that made them: one prepared engine per thread
    and bundle revision."""

    name = "embedded"

    def __init__(self) -> None:
        self._local = threading.local()

    def prepare(self, bundle: PolicyBundle) -> None:
        """Load ``bundle`` into this thread's engine now; ``PolicyError`` when it cannot be."""
        self._engine(bundle, DECISION)

    def evaluate(
        self, bundle: PolicyBundle, policy_input: dict[str, Any], entry: Entry = DECISION
    ) -> Decision:
        return self.evaluate_json(bundle, json.dumps(policy_input), entry)

    def evaluate_json(
        self, bundle: PolicyBundle, input_json: str, entry: Entry = DECISION
    ) -> Decision:
        """``evaluate`` for an input that is already JSON text."""
        meta = {"engine": self.name, "bundle_revision": bundle.revision}
        started = time.perf_counter()
        try:
            engine = self._engine(bundle, entry)
            engine.set_input_json(input_json)
            deny, warn = _results(engine, entry)
        except PolicyError:
            raise
        except BaseException as exc:  # pyo3 panics are BaseException; none may become "allow"
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            return Decision.failed(_first_line(exc), seconds=time.perf_counter() - started, **meta)
        return Decision.from_results(deny, warn, seconds=time.perf_counter() - started, **meta)

    def _engine(self, bundle: PolicyBundle, entry: Entry) -> regorus.Engine:
        cache: dict[str, regorus.Engine] = self._local.__dict__.setdefault("engines", {})
        defined: set[tuple[str, Entry]] = self._local.__dict__.setdefault("entries", set())
        if bundle.revision not in cache:  # parsed first: a syntax error names file:line
            cache[bundle.revision] = prepare_engine(bundle, bundle.policies)
        if (bundle.revision, entry) not in defined:
            if not defines(bundle, entry):  # such a bundle would allow everything
                raise PolicyError(f"the policy bundle defines no {entry.deny_rule} rule")
            defined.add((bundle.revision, entry))
        return cache[bundle.revision]


def prepare_engine(bundle: PolicyBundle, modules: list[RegoModule]) -> regorus.Engine:
    """An engine loaded with ``modules`` and the bundle's data; syntax errors raise PolicyError."""
    engine = regorus.Engine()
    for module in modules:
        try:
            engine.add_policy(module.path, module.source)
        except RuntimeError as exc:
            raise PolicyError(rego_error_location(bundle.name, module.path, str(exc))) from None
    engine.add_data_json(json.dumps(bundle.data()))
    return engine


def query(entry: Entry) -> str:
    """One query for both sets: the policies are evaluated once, not once per rule."""
    return f"deny := {entry.deny_rule}; warn := [w | some w in {entry.warn_rule}]"


def _results(
    engine: regorus.Engine, entry: Entry
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    answer = json.loads(engine.eval_query_as_json(query(entry)))["result"]
    if not answer:
        return [], []  # deny is undefined: no policy matched (a set rule with no members)
    bindings = answer[0]["bindings"]
    sets = bindings.get("deny") or [], bindings.get("warn") or []
    for name, value in zip(("deny", "warn"), sets, strict=True):
        if not isinstance(value, list) or not all(isinstance(f, dict) for f in value):
            raise TypeError(f"{name} must be a set of finding objects, got {type(value).__name__}")
    return sets


def _first_line(exc: BaseException) -> str:
    text = _strip_backtrace(str(exc)).strip() or type(exc).__name__
    return f"policy evaluation failed: {text}"


def _strip_backtrace(text: str) -> str:
    return text.split("\nStack backtrace:", 1)[0]


_LOCATION = re.compile(r"-->\s*(?:\S*?)(?::(\d+):(\d+))")
_MESSAGE = re.compile(r"^error:\s*(.+)$", re.M)


def rego_error_location(bundle: str, path: str, text: str) -> str:
    """Turn a regorus parse error into ``bundle/path:line:col: message``."""
    text = _strip_backtrace(text)
    where, message = _LOCATION.search(text), _MESSAGE.findall(text)
    line_col = f":{where.group(1)}:{where.group(2)}" if where else ""
    detail = message[-1] if message else " ".join(text.split())
    return f"{bundle}/{path}{line_col}: {detail}"

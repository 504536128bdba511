"""``BehaviourCollector``: backdoor evidence from querying the model's ONNX classifier.

Opt-in (``--behaviour`` or ``behaviour.enabled`` in the policy configuration). The model runs
only in the sandboxed child (``engine.behaviour.sandbox``); this side picks the ONNX file,
validates what the child sends back and records why there is no result when there is none
(``backdoor.status``): the policy fails closed on that, the collector itself does not fail.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from modelward.engine.collectors import BehaviourOptions, CollectContext
from modelward.engine.facts import (
    BackdoorFacts,
    BehaviourFacts,
    BehaviourInputFacts,
    FileFacts,
    SandboxFacts,
)
from modelward.engine.source import ModelSource, SourceFile


class BehaviourCollector:
    name = "behaviour"

    def collect(self, source: ModelSource, ctx: CollectContext) -> BehaviourFacts:
        options = ctx.options.behaviour or BehaviourOptions()
        probes = str(options.probe_inputs) if options.probe_inputs is not None else None
        target = _onnx_file(source, ctx.sections.get("files") or [])
        if isinstance(target, str):
            return BehaviourFacts(
                probe_inputs=probes,
                backdoor=BackdoorFacts(status="unsupported", complete=False, reason=target),
            )
        return analyse_file(target, options, probes)


def analyse_file(
    target: SourceFile, options: BehaviourOptions, probes: str | None
) -> BehaviourFacts:
    """Run the sandboxed analysis of one ONNX file and turn its answer into facts."""
    from modelward.engine.behaviour.sandbox import Limits, run_analysis

    limits = Limits.for_budget(options.budget_seconds, target.size)
    outcome = run_analysis(target.real, options.probe_inputs, limits, options.progress)
    sandbox = SandboxFacts(
        network=_network(outcome.isolation),
        filesystem="landlock" if outcome.isolation.get("filesystem") is True else "none",
        wall_seconds=limits.wall_seconds,
        cpu_seconds=limits.cpu_seconds,
        memory_bytes=limits.memory_bytes,
    )
    base: dict[str, Any] = {
        "file": target.path, "probe_inputs": probes, "sandbox": sandbox,
        "seconds": outcome.seconds,
    }  # fmt: skip
    if outcome.result is None:
        reason = f"{target.path}: {outcome.reason}"
        return BehaviourFacts(**base, backdoor=_failed("error", reason))
    named = (target.real.name, *([options.probe_inputs.name] if options.probe_inputs else []))
    try:
        return BehaviourFacts(**base, **_facts(outcome.result, target.path, named))
    except (ValidationError, TypeError, ValueError, KeyError) as exc:
        reason = f"{target.path}: the analysis sent back an invalid result ({_short(exc)})"
        return BehaviourFacts(**base, backdoor=_failed("error", reason))


def _facts(result: dict[str, Any], path: str, named: tuple[str, ...]) -> dict[str, Any]:
    """The child's result line as BehaviourFacts fields (pydantic validates the values).

    A reason that does not start with the file it is about (the model or the probe inputs)
    is about the model, and says so.
    """
    status = result.get("status")
    if status != "ok":
        reason = str(result.get("reason") or "no reason given")[:2000]
        if not reason.startswith(tuple(f"{name}: " for name in named)):
            reason = f"{path}: {reason}"
        return {"backdoor": _failed(status if isinstance(status, str) else "error", reason)}
    found = result["result"]
    backdoor = BackdoorFacts.model_validate({**found, "status": "ok", "reason": None})
    probes = result.get("probes") or {}
    return {
        "backdoor": backdoor,
        "input": BehaviourInputFacts.model_validate(result["input"]),
        "labels": len(result.get("labels") or []),
        "probes": int(probes.get("count", 0)) if isinstance(probes, dict) else 0,
    }


def _failed(status: str, reason: str) -> BackdoorFacts:
    known = status if status in ("error", "refused", "unsupported") else "error"
    return BackdoorFacts(status=known, complete=False, reason=reason)


def _network(isolation: dict[str, Any]) -> Any:
    if isolation.get("network_namespace") is True:
        return "namespace"
    return "landlock" if isolation.get("tcp") is True else "none"


def _onnx_file(source: ModelSource, files: list[FileFacts]) -> SourceFile | str:
    """The one ONNX file to analyse (by content or by name: a runtime would try to load a
    file named .onnx, so the analysis refuses it rather than passing over it), or why there is
    none to pick."""
    onnx = {f.path for f in files if "onnx" in (f.format, f.extension_format)}
    found = [f for f in source.files if f.path in onnx]
    if len(found) == 1:
        return found[0]
    if not found:
        return "the model has no ONNX file (the behaviour analysis runs ONNX classifiers)"
    names = ", ".join(sorted(f.path for f in found)[:5])
    return f"the model has {len(found)} ONNX files ({names}); the analysis takes one classifier"


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300]

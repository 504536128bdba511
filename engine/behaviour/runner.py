"""The analysis child: ``python -m modelward.engine.behaviour.runner`` (started by ``sandbox``).

Reads one JSON request on stdin, confines itself (Landlock), checks the graph, loads the probes,
opens an onnxruntime session and runs the analysis. Every event, and the one result, is a JSON
line on the pipe that was stdout; what libraries print goes to stderr instead.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from importlib import import_module
from pathlib import Path
from typing import IO, Any, Final

import numpy as np

from modelward.engine.behaviour.confine import confine
from modelward.engine.behaviour.graph import GraphInfo, GraphRefused, GraphUnsupported, read_graph
from modelward.engine.behaviour.probes import ProbeError, Probes, read_probes
from modelward.engine.behaviour.session import OnnxClassifier, make_session, session_labels

MAX_REQUEST: Final = 64 * 1024
MEMORY_WORDS: Final = ("bad_alloc", "allocat", "out of memory", "memoryerror")


class Events:
    """JSON lines to the parent on a private copy of stdout."""

    def __init__(self) -> None:
        self._out: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)  # anything else written to stdout lands on stderr
        sys.stdout = sys.stderr

    def send(self, event: str, **fields: Any) -> None:
        self._out.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        self._out.flush()


def main() -> int:
    events = Events()
    started = time.monotonic()
    try:
        request = json.loads(sys.stdin.read(MAX_REQUEST))
        events.send("confined", **confine(Path.cwd()))
        outcome = analyse_request(request, events, started)
    except MemoryError:
        outcome = {"status": "error", "reason": "the analysis exceeded the sandbox memory limit"}
    except Exception as exc:  # the parent gets a reason, never a traceback
        outcome = {"status": "error", "reason": _reason(exc)}
    events.send("result", **outcome)
    return 0


def analyse_request(request: dict[str, Any], events: Events, started: float) -> dict[str, Any]:
    model = Path(request["model"])
    events.send("stage", stage="checking the graph")
    try:
        info, raw = read_graph(model)
    except GraphRefused as exc:
        return {"status": "refused", "reason": str(exc)}
    except GraphUnsupported as exc:
        return {"status": "unsupported", "reason": str(exc)}
    probes = None
    if request.get("probes"):
        events.send("stage", stage="reading the probe inputs")
        try:
            probes = read_probes(Path(request["probes"]), info.kind, info.dims)
        except ProbeError as exc:
            return {"status": "error", "reason": str(exc)}
    try:
        classifier = _classifier(raw, info, probes, int(request.get("threads", 2)), events)
    except GraphUnsupported as exc:
        return {"status": "unsupported", "reason": f"{model.name}: {exc}"}
    deadline = started + float(request["budget_seconds"])
    return _analyse(request, classifier, probes, deadline, events)


def _classifier(
    raw: bytes, info: GraphInfo, probes: Probes | None, threads: int, events: Events
) -> OnnxClassifier:
    """The session over the graph, its labels known, and one query made: a hostile graph
    (huge tensors, endless loops) shows here, before the analysis starts."""
    events.send("stage", stage="loading the model")
    session = make_session(raw, threads)
    shape = _shape(info, probes)
    value_range = None
    if probes is not None and probes.tensor is not None:
        value_range = (float(probes.tensor.min()), float(probes.tensor.max()))
    labels = session_labels(info, session)
    classifier = OnnxClassifier(session, info, shape, value_range, labels)
    sample = _sample(classifier, probes)
    events.send("stage", stage="querying the model")
    if not labels and info.probabilities is not None and not info.zipmap:
        width = classifier.score_width(sample)
        labels = tuple(str(i) for i in range(max(width, 2)))
    elif not labels and probes is not None:
        labels = tuple(sorted(set(classifier.raw_labels(probes.batch()))))
    if not labels:
        raise GraphUnsupported("the graph names no class labels (give probe inputs to learn them)")
    classifier = OnnxClassifier(session, info, shape, value_range, labels)
    classifier.probabilities(sample)
    return classifier


def _shape(info: GraphInfo, probes: Probes | None) -> tuple[int, ...]:
    if None not in info.dims:
        return tuple(d or 0 for d in info.dims)
    if info.kind == "text":
        return tuple(d or 1 for d in info.dims)
    if probes is not None and probes.tensor is not None:
        return tuple(int(d) for d in probes.tensor.shape[1:])
    raise GraphUnsupported("the input shape is not fixed in the graph; give probe inputs")


def _sample(classifier: OnnxClassifier, probes: Probes | None) -> Any:
    """A few probes, or one neutral sample."""
    if probes is not None:
        return probes.batch()[:4]
    if classifier.spec.kind == "text":
        return ["a"]
    return np.zeros((1, *classifier.spec.shape), dtype=classifier.spec.dtype)


def _analyse(
    request: dict[str, Any],
    classifier: OnnxClassifier,
    probes: Probes | None,
    deadline: float,
    events: Events,
) -> dict[str, Any]:
    module, _, name = str(request["analyse"]).partition(":")
    sys.path[:0] = [str(p) for p in request.get("import_path") or []]
    try:
        analyse = getattr(import_module(module), name)
    except (ImportError, AttributeError) as exc:
        return {"status": "error", "reason": f"the backdoor analysis is not installed ({exc})"}
    events.send("stage", stage="analysing")

    def progress(*args: Any, **kwargs: Any) -> None:
        values = [*args, *kwargs.values()]
        events.send("progress", fraction=_fraction(values), label=_label(values))

    result = analyse(
        classifier,
        probes.batch() if probes is not None else None,
        budget_seconds=max(deadline - time.monotonic(), 1.0),
        progress=progress,
        seed=int(request.get("seed", 0)),
    )
    spec = classifier.spec
    return {
        "status": "ok",
        "result": asdict(result),
        "input": {"kind": spec.kind, "shape": list(spec.shape), "dtype": spec.dtype,
                  "layout": spec.layout},
        "labels": list(classifier.labels[:1000]),
        "probes": None if probes is None else {"count": probes.count, "total": probes.total},
    }  # fmt: skip


def _fraction(values: list[Any]) -> float | None:
    """A fraction done from a progress call: ``(0.4)``, ``(done, total)`` or with a label."""
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) >= 2 and numbers[1] > 0:
        return numbers[0] / numbers[1]
    return numbers[0] if numbers else None


def _label(values: list[Any]) -> str | None:
    return next((v[:80] for v in values if isinstance(v, str)), None)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:500] if str(exc).strip() else type(exc).__name__
    if any(word in text.lower() for word in MEMORY_WORDS):
        return f"the model exceeded the sandbox memory limit ({text})"
    return f"{type(exc).__name__}: {text}"


if __name__ == "__main__":
    sys.exit(main())

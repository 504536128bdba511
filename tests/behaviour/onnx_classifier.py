"""The product's ProbedClassifier (``engine/behaviour/session.py``) loaded in-process, for tests
and the bench: the same graph reading, session, label and score handling the sandboxed child
uses, without the child process."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelward.engine.behaviour.graph import read_graph
from modelward.engine.behaviour.session import OnnxClassifier, make_session, session_labels


def load_classifier(
    path: Path, probes: np.ndarray | list[str] | None = None, threads: int = 1
) -> OnnxClassifier:
    """The classifier at ``path`` as the analysis sees it (labels learnt as the child does)."""
    info, raw = read_graph(path)
    session = make_session(raw, threads)
    tensor = probes if isinstance(probes, np.ndarray) and probes.size else None
    if None not in info.dims:
        shape = tuple(d or 0 for d in info.dims)
    elif info.kind == "text":
        shape = tuple(d or 1 for d in info.dims)
    else:
        assert tensor is not None, "the input shape is not fixed in the graph; give probes"
        shape = tuple(int(d) for d in tensor.shape[1:])
    value_range = None if tensor is None else (float(tensor.min()), float(tensor.max()))
    labels = session_labels(info, session)
    if not labels:
        first = OnnxClassifier(session, info, shape, value_range, ())
        sample = probes if probes is not None else ["a"]
        if info.probabilities is not None and not info.zipmap:
            labels = tuple(str(i) for i in range(max(first.score_width(sample[:1]), 2)))
        else:
            labels = tuple(sorted(set(first.raw_labels(sample))))
    return OnnxClassifier(session, info, shape, value_range, labels)

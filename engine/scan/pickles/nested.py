"""Pickles inside pickles: payloads passed to a loader, and payloads stored as data.

A payload a loader call receives (``pickle.loads(b"...")``) is analysed and its findings become
this file's findings. A payload that is only stored (bytes, base64 or hex text in a dict) is
analysed too; it is summarised as one ``pickle.embedded`` finding, since loading this file does
not run it, but code that later reads the field would.
"""

from __future__ import annotations

from typing import Final

from modelward.engine.facts import SEVERITY_RANK, Severity
from modelward.engine.scan.pickles.analysis import Analysis
from modelward.engine.scan.pickles.strings import (
    code_in_view,
    decode_text,
    is_code_like,
    looks_like_pickle,
    worth_checking,
)
from modelward.engine.scan.pickles.values import BigText, describe

NESTED: Final = "nested pickle"
_CODE_STRING: Final = "code stored as data"
_MIN_TEXT: Final = 8
_MAX_SCANNED: Final = 1 << 20
#: The most of an embedded pickle copied out of the data and analysed.
NESTED_SAMPLE: Final = 16 << 20


def note_text(analysis: Analysis, text: str, offset: int) -> None:
    """Keep a text constant for the data pass if it could hide code or a second stage."""
    if len(text) >= _MIN_TEXT and worth_checking(text):
        analysis.candidates.append((offset, text))


def note_bytes(analysis: Analysis, data: memoryview, offset: int) -> None:
    """Keep a byte constant for the data pass if it could be a pickle or encoded text."""
    if looks_like_pickle(data) or _MIN_TEXT <= len(data) <= _MAX_SCANNED:
        analysis.candidates.append((offset, data))


def analyse_nested(analysis: Analysis, payload: bytes | memoryview, offset: int, *,
                   active: bool, via: str) -> None:  # fmt: skip
    """Analyse ``payload`` as a pickle embedded at ``offset`` (``active``: a loader gets it).

    A payload larger than ``NESTED_SAMPLE`` is not copied whole: its first ``NESTED_SAMPLE``
    bytes are analysed and the rest is reported as not analysed.
    """
    size = len(payload)
    sample = payload if size <= NESTED_SAMPLE else payload[:NESTED_SAMPLE]
    data = sample if isinstance(sample, bytes) else sample.tobytes()
    key = (size, hash(data))
    if key in analysis.seen or not analysis.take_bytes(len(data), offset, "a nested pickle"):
        return
    analysis.seen.add(key)
    if analysis.depth + 1 > analysis.limits.max_nesting_depth:
        analysis.incomplete("pickle.limit.nesting", "medium", offset, "resource limit",
                           f"pickle embedded via {via} is nested deeper than "
                           f"{analysis.limits.max_nesting_depth} levels; not analysed")  # fmt: skip
        return
    if size > len(data):
        analysis.incomplete("pickle.limit.nested_size", "medium", offset, "resource limit",
                           f"pickle embedded via {via} is {size} bytes; only its first "
                           f"{len(data)} were analysed")  # fmt: skip
    child = analysis.child(offset, via)
    analysis.runner(child, data)
    rank = child.max_rank()
    if active:
        _merge(analysis, child)
        severity: Severity = "critical" if rank >= SEVERITY_RANK["high"] else "info"
        analysis.report("pickle.nested", severity, offset, NESTED,
                       f"{via} unpickles an embedded {size}-byte pickle; "
                       f"{_worst(child)}")  # fmt: skip
    elif rank >= SEVERITY_RANK["medium"]:
        severity = "high" if rank >= SEVERITY_RANK["critical"] else "medium"
        analysis.report("pickle.embedded", severity, offset, NESTED,
                       f"{via} holds a {size}-byte pickle stored as data; "
                       f"{_worst(child)}")  # fmt: skip


def _merge(analysis: Analysis, child: Analysis) -> None:
    analysis.result.findings.extend(child.result.findings)
    for fact in child.result.imports:
        analysis.add_import(fact.module, fact.name, fact.verdict)
    analysis.events += child.events
    if not child.result.complete:
        analysis.result.complete = False
        if analysis.where not in analysis.result.unanalysed:
            analysis.result.unanalysed.append(analysis.where)


def _worst(child: Analysis) -> str:
    if not child.result.findings:
        return "it imports nothing dangerous"
    worst = max(child.result.findings, key=lambda f: SEVERITY_RANK[f.severity])
    reason = worst.message.removeprefix(f"{child.where}: ")
    return f"its worst finding is {worst.id} ({worst.severity}): {reason}"


def examine_data(analysis: Analysis) -> None:
    """The data pass: code-like strings and embedded pickles among the constants."""
    for offset, value in analysis.candidates:
        if isinstance(value, str):
            _examine_text(analysis, value, offset, "a text constant")
        elif isinstance(value, memoryview):
            _examine_bytes(analysis, value, offset)
        elif isinstance(value, BigText) and code_in_view(value.raw):
            _code_string(analysis, offset, "a large text constant", "")
    analysis.candidates.clear()


def _examine_bytes(analysis: Analysis, data: memoryview, offset: int) -> None:
    if looks_like_pickle(data):
        analyse_nested(analysis, data, offset, active=False, via="a bytes constant")
        return
    try:
        text = str(data, "utf-8")
    except UnicodeDecodeError:
        return
    if is_code_like(text):
        _code_string(analysis, offset, "a bytes constant", describe(text))
    if worth_checking(text):
        _decoded(analysis, text, offset, "a bytes constant")


def _examine_text(analysis: Analysis, text: str, offset: int, what: str) -> None:
    if is_code_like(text):
        _code_string(analysis, offset, what, describe(text))
    raw = text.encode("latin-1", "replace")
    if looks_like_pickle(raw):
        analyse_nested(analysis, raw, offset, active=False, via=what)
        return
    _decoded(analysis, text, offset, what)


def _decoded(analysis: Analysis, text: str, offset: int, what: str) -> None:
    decoded = decode_text(text)
    if decoded is None:
        return
    encoding, data = decoded
    via = f"{encoding}-encoded {what.removeprefix('a ')}"
    if looks_like_pickle(data):
        analyse_nested(analysis, data, offset, active=False, via=via)
    elif is_code_like(data):
        _code_string(analysis, offset, via, describe(data.decode("latin-1")))


def _code_string(analysis: Analysis, offset: int, what: str, shown: str) -> None:
    analysis.report("pickle.string.code", "medium", offset, _CODE_STRING,
                   f"{what} holds code-like text {shown}", key=str(offset))  # fmt: skip

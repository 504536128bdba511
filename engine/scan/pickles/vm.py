"""Static pickle analysis: every stream of a file run through a symbolic pickle VM.

Nothing is unpickled. ``analyse_pickle`` runs each stream in turn (a file may hold several, as
legacy ``torch.save`` files do), keeps what it learned from the opcodes before a broken stream,
and then examines the constants for code and embedded second stages.
"""

from __future__ import annotations

import io
import mmap
import re
from typing import Final

from modelward.engine.facts import SEVERITY_RANK
from modelward.engine.identify.pickle_probe import probe
from modelward.engine.scan.limits import DEFAULT_LIMITS, Limits
from modelward.engine.scan.pickles.analysis import Analysis, OpBudget
from modelward.engine.scan.pickles.machine import LimitHit, StreamError, run_stream
from modelward.engine.scan.pickles.nested import analyse_nested, examine_data
from modelward.engine.scan.pickles.state import PickleData
from modelward.engine.scan.result import FileScan

__all__ = ["analyse_pickle"]

_LIMIT: Final = "resource limit"
_MAX_TRAILING: Final = 64
_DOTTED: Final = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*")


def analyse_pickle(
    data: PickleData | bytearray | memoryview,
    *,
    file: str,
    member: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    depth: int = 0,
) -> FileScan:
    """Analyse the pickle streams in ``data`` (one file or archive member) without loading them.

    The bounds grow with ``len(data)`` (``Limits.for_pickle``). A mapped file is never copied:
    large constants stay views of it, so memory follows the opcodes, not the bytes they hold.
    """
    limits = limits.for_pickle(len(data))
    analysis = Analysis(
        file=file, member=member, limits=limits, depth=depth,
        budget=_budget(limits, len(data)), runner=_analyse,
    )  # fmt: skip
    cap = max(limits.max_pickle_bytes, len(data) if isinstance(data, mmap.mmap) else 0)
    if len(data) > cap:
        analysis.incomplete("pickle.limit.bytes", "medium", cap, _LIMIT,
                           f"pickle data is {len(data)} bytes; only the first "
                           f"{cap} were analysed")  # fmt: skip
        data = data[:cap]
    if not isinstance(data, bytes | mmap.mmap):
        data = bytes(data)
    _analyse(analysis, data)
    analysis.finish()
    if analysis.joblib_skipped:
        _plain_reading(analysis, data)
    return analysis.result


def _budget(limits: Limits, size: int) -> OpBudget:
    """Opcodes, and bytes that may be decoded or re-read as nested pickles (twice the data)."""
    return OpBudget(limits.max_pickle_ops, 2 * max(limits.max_pickle_bytes, size))


def _plain_reading(analysis: Analysis, data: PickleData) -> None:
    """The same bytes as ``pickle.load`` reads them, array bytes as opcodes.

    joblib's layout was followed, so array bytes were skipped; a plain loader runs them as part
    of the stream. What that reading does that is high or critical is reported; its breaks are
    not (a plain loader failing on array bytes runs nothing more).
    """
    plain = Analysis(
        file=analysis.file, member=analysis.member, limits=analysis.limits,
        depth=analysis.depth, budget=_budget(analysis.limits, len(data)),
        runner=_analyse, prefix="read by pickle.load, array bytes as opcodes: ",
    )  # fmt: skip
    plain.joblib_layout = False
    _analyse(plain, data)
    # Array bytes read as opcodes are mostly noise that a real loader rejects (a computed
    # import of a non-string): a finding counts when it names a real import.
    known = {(f.id, f.symbol, f.offset) for f in analysis.result.findings}
    for finding in plain.result.findings:
        severe = SEVERITY_RANK[finding.severity] >= SEVERITY_RANK["high"]
        named = finding.symbol is not None and _DOTTED.fullmatch(finding.symbol) is not None
        fresh = (finding.id, finding.symbol, finding.offset) not in known
        if severe and named and fresh:
            analysis.result.findings.append(finding)


def _analyse(analysis: Analysis, data: PickleData) -> None:
    """Run every stream in ``data``, then the data pass over the constants it held."""
    _run_streams(analysis, data)
    examine_data(analysis)


def _run_streams(analysis: Analysis, data: PickleData) -> None:
    if not data:
        analysis.incomplete("pickle.stream.broken", "low", 0, "broken pickle stream",
                           "no pickle data (0 bytes)")  # fmt: skip
        return
    pos, index = 0, 0
    while pos < len(data):
        events = analysis.events
        try:
            pos = run_stream(analysis, data, pos, joblib=analysis.joblib_layout)
        except StreamError as exc:
            _broken(analysis, exc, index, noteworthy=analysis.events != events)
            if index > 0 and analysis.events == events:
                _trailing_pickles(analysis, data, pos)
            return
        except LimitHit as exc:
            analysis.incomplete(f"pickle.limit.{exc.kind}", "medium", exc.offset, _LIMIT,
                               f"analysis stopped: {exc.reason}")  # fmt: skip
            return
        index += 1


def _broken(analysis: Analysis, exc: StreamError, index: int, *, noteworthy: bool) -> None:
    """A stream that does not parse. If it imported or called anything first, a loader acted
    on it before failing: incomplete. A first stream that fails before doing anything is not a
    pickle any loader can act on (array bytes, another format): nothing of it runs."""
    if noteworthy:
        analysis.incomplete("pickle.stream.broken", "low", exc.offset, "broken pickle stream",
                           f"pickle stream {index + 1} is broken: {exc.reason}; the opcodes "
                           "before it were analysed")  # fmt: skip
        return
    if index == 0:
        analysis.report("pickle.not_a_pickle", "info", exc.offset, "not a pickle",
                        f"a pickle loader fails at offset {exc.offset} ({exc.reason}) before "
                        "importing or calling anything")  # fmt: skip
        return
    analysis.report("pickle.trailing_data", "info", exc.offset, "trailing data",
                   f"data after pickle stream {index} is not a pickle ({exc.reason}); "
                   "treated as raw bytes such as legacy torch storages")  # fmt: skip


def _trailing_pickles(analysis: Analysis, data: PickleData, start: int) -> None:
    """Pickles hidden in the raw bytes after the last stream, for a loader that seeks to them."""
    buf = io.BytesIO(data) if isinstance(data, bytes) else data
    pos, tried = start, 0
    while tried < _MAX_TRAILING:
        pos = data.find(b"\x80", pos)
        if pos < 0 or pos + 1 >= len(data):
            return
        if 2 <= data[pos + 1] <= 5:
            tried += 1
            seen = probe(buf, len(data), pos)
            if seen.is_pickle:
                end = seen.end if seen.stopped else len(data)
                analyse_nested(analysis, memoryview(data)[pos:end], pos, active=False,
                               via="bytes after the last pickle stream")  # fmt: skip
                pos = end - 1
        pos += 1

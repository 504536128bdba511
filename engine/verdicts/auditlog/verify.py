"""Offline verification of an exported audit log: signatures, sequence and chain.

The log is read in stored order. Every problem names the entry's ``seq`` and what is wrong:
``altered`` (the signature does not verify, or the payload is not an entry), ``missing`` (a
sequence number no entry holds: deleted), ``out of order`` (stored in another place than its
signed ``seq`` says), ``duplicate`` (two entries with one ``seq``: a forked chain) and
``chain broken`` (``prev`` is not the digest of the entry before). A problem that another one
explains (the link after an altered or deleted entry) is not reported twice.
"""

from __future__ import annotations

import base64
import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from modelward.engine.verdicts.auditlog.entry import (
    ECDSA_SCHEME,
    ENTRY_PAYLOAD_TYPE,
    GENESIS,
    LogEntry,
    digest_of,
)
from modelward.engine.verdicts.keys import key_id, load_public_key
from modelward.engine.verdicts.sslib import Envelope, Key, SSlibKey, VerificationError


@dataclass(frozen=True)
class Problem:
    seq: int
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}"


@dataclass(frozen=True)
class Record:
    """One stored entry as read: its position, claimed ``seq`` and state."""

    position: int
    seq: int
    entry: LogEntry | None  # None: altered
    digest: str
    why: str = ""


@dataclass
class LogReport:
    entries: int = 0
    head: str = GENESIS  # digest of the last entry by seq
    last_seq: int = -1
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


class LogKeys:
    """The public keys entries may be signed with."""

    def __init__(self, pems: list[tuple[bytes, str]]) -> None:
        self._keys: dict[str, SSlibKey] = {}
        for pem, source in pems:
            public = load_public_key(pem, source)
            kid = key_id(public)
            self._keys[kid] = SSlibKey.from_crypto(public, keyid=kid, scheme=ECDSA_SCHEME)

    def open(self, envelope: Any) -> LogEntry:
        """The entry ``envelope`` holds; ``ValueError`` with the reason when it does not verify."""
        if not isinstance(envelope, dict) or envelope.get("payloadType") != ENTRY_PAYLOAD_TYPE:
            raise ValueError("not an audit-log entry envelope")
        signatures = envelope.get("signatures")
        if not isinstance(signatures, list):
            raise ValueError("the envelope carries no signatures")
        claimed = [s.get("keyid") for s in signatures if isinstance(s, dict)]
        known: list[Key] = [
            self._keys[k] for k in claimed if isinstance(k, str) and k in self._keys
        ]
        if not known:
            raise ValueError("signed by no trusted key")
        try:
            Envelope.from_dict(copy.deepcopy(envelope)).verify(known, 1)
        except (VerificationError, KeyError, TypeError, ValueError):
            raise ValueError("the signature does not verify") from None
        try:
            return LogEntry.model_validate_json(base64.b64decode(envelope["payload"]))
        except (ValidationError, ValueError) as exc:
            raise ValueError(f"not a valid entry: {str(exc)[:120]}") from None


def verify_log(stored: list[tuple[int, Any]], keys: LogKeys) -> LogReport:
    """Check ``stored`` ((index seq, envelope) in stored order); never raises."""
    records = [_record(i, seq, envelope, keys) for i, (seq, envelope) in enumerate(stored)]
    report = LogReport(entries=len(records))
    report.problems += [Problem(r.seq, f"altered: {r.why}") for r in records if r.entry is None]
    report.problems += _duplicates(records)
    report.problems += _order(records)
    report.problems += _missing(records)
    report.problems += _links(records)
    report.problems.sort(key=lambda p: p.seq)
    good = [r for r in records if r.entry is not None]
    if good:
        last = max(good, key=lambda r: r.seq)
        report.head, report.last_seq = last.digest, last.seq
    return report


def _record(position: int, index_seq: int, envelope: Any, keys: LogKeys) -> Record:
    try:
        digest = digest_of(envelope)
    except (TypeError, ValueError):
        digest = ""
    try:
        entry = keys.open(envelope)
    except ValueError as exc:
        return Record(position, _claimed_seq(envelope, index_seq), None, digest, str(exc))
    return Record(position, entry.seq, entry, digest)


def _claimed_seq(envelope: Any, fallback: int) -> int:
    """The seq an altered entry claims (unverified), else its index."""
    try:
        seq = LogEntry.model_validate_json(base64.b64decode(envelope["payload"])).seq
    except Exception:  # whatever it holds, it is already reported as altered
        return fallback
    return seq


def _duplicates(records: list[Record]) -> list[Problem]:
    counts = Counter(r.seq for r in records)
    return [Problem(s, f"duplicate: {n} entries (a forked chain)") for s, n in counts.items()
            if n > 1]  # fmt: skip


def _order(records: list[Record]) -> list[Problem]:
    problems: list[Problem] = []
    later = Counter(r.seq for r in records)
    highest = -1
    for record in records:
        later[record.seq] -= 1
        skipped = [s for s in range(highest + 1, record.seq) if later[s] > 0]
        if record.seq <= highest and later[record.seq] == 0 and _unique(records, record.seq):
            problems.append(Problem(record.seq, f"out of order: stored after seq {highest}"))
        elif skipped:
            problems.append(Problem(record.seq, f"out of order: stored before seq {skipped[0]}"))
        highest = max(highest, record.seq)
    return problems


def _unique(records: list[Record], seq: int) -> bool:
    return sum(r.seq == seq for r in records) == 1


def _missing(records: list[Record]) -> list[Problem]:
    present = {r.seq for r in records}
    top = max(present, default=-1)
    return [Problem(s, "missing: no entry holds it (deleted)")
            for s in range(top + 1) if s not in present]  # fmt: skip


def _links(records: list[Record]) -> list[Problem]:
    by_seq: dict[int, list[Record]] = {}
    for record in records:
        by_seq.setdefault(record.seq, []).append(record)
    problems: list[Problem] = []
    for record in records:
        if record.entry is None:
            continue
        if record.seq == 0:
            if record.entry.prev != GENESIS:
                problems.append(Problem(0, "chain broken: the first entry does not start the log"))
            continue
        before = by_seq.get(record.seq - 1, [])
        if len(before) != 1 or before[0].entry is None:
            continue  # missing, forked or altered: reported there
        if record.entry.prev != before[0].digest:
            what = f"chain broken: prev is not the digest of seq {record.seq - 1}"
            problems.append(Problem(record.seq, what))
    return problems

"""Verdict freshness: how long a verdict is trusted, and the newest one seen per reference.

A verdict carries a signed ``expires_at`` (set at vetting from a maximum age); a verdict without
one (made before the field existed) is trusted for ``default_max_age`` after its signed
``created_at``. ``HighWaterMarks`` remembers, per reference, the newest signed ``created_at`` of
any verdict that verified, so that once a newer verdict was seen an older one is "superseded":
deleting or replacing the newer one cannot roll the reference back while the process runs.
Only signed times are ever compared; nothing here reads a registry's index.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelward.engine.verdicts.signed import Verdict

#: The maximum age of a verdict when nothing else is configured.
DEFAULT_MAX_AGE = timedelta(days=30)
#: The longest maximum age accepted (beyond it a verdict is effectively never re-checked).
LONGEST_MAX_AGE = timedelta(days=3660)
#: How many references ``HighWaterMarks`` remembers by default (least recently used go first).
MAX_MARKS = 65536

_DURATION = re.compile(r"\s*(\d{1,9})\s*(w|d|h|m|s)\s*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def utc_now_time() -> datetime:
    return datetime.now(UTC)


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 time with an offset (``...Z`` or ``+02:00``) as an aware UTC datetime."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:  # RFC 3339 requires an offset; a local time is ambiguous
        return None
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, as ``utc_now`` writes it."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_max_age(text: str | int | float | timedelta) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` (or a number of seconds) as a timedelta.

    Raises ``ValueError`` for anything else, zero, or more than ten years.
    """
    if isinstance(text, timedelta):
        age = text
    elif isinstance(text, int | float) and not isinstance(text, bool):
        age = timedelta(seconds=text)
    elif isinstance(text, str) and (match := _DURATION.fullmatch(text)):
        age = timedelta(**{_UNITS[match[2]]: int(match[1])})
    else:
        raise ValueError(f"{text!r} is not a maximum age (use e.g. 30d, 12h, 90m or 3600s)")
    if not timedelta(0) < age <= LONGEST_MAX_AGE:
        raise ValueError(f"{text!r}: a maximum age must be above zero and at most 3660d")
    return age


def format_max_age(age: timedelta) -> str:
    """``age`` in the largest whole unit ``parse_max_age`` reads (``30d``, ``90m``, ``45s``)."""
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Expiry:
    """``vet --expires``: a maximum age after signing, or a fixed moment."""

    age: timedelta | None = None
    until: datetime | None = None

    def after(self, created_at: str) -> str:
        """The ``expires_at`` of a verdict signed at ``created_at``."""
        if self.until is None:
            return expiry_after(created_at, self.age or DEFAULT_MAX_AGE)
        created = parse_time(created_at)
        if created is None or not created < self.until <= created + LONGEST_MAX_AGE:
            raise ValueError(f"{format_time(self.until)} is not after {created_at} (or too far)")
        return format_time(self.until)

    def lifetime(self) -> timedelta:
        """The maximum age (for a fixed moment: from now)."""
        if self.until is None:
            return self.age or DEFAULT_MAX_AGE
        return parse_max_age(self.until - utc_now_time())


def parse_expiry(text: str) -> Expiry:
    """A maximum age (``30d``, see ``parse_max_age``), a date (``2027-03-31``: the end of that
    day, UTC) or an RFC 3339 time; ``ValueError`` otherwise, or when it is not in the future."""
    if _DURATION.fullmatch(text):  # a duration: its own range error, if any
        return Expiry(age=parse_max_age(text))
    until = _end_of_day(text) or parse_time(text.strip())
    if until is None:
        raise ValueError(
            f"{text!r} is neither a maximum age (30d, 12h, 90m, 3600s) nor a date (2027-03-31) "
            "or an RFC 3339 time"
        )
    now = utc_now_time()
    if not now < until <= now + LONGEST_MAX_AGE:
        raise ValueError(f"{text!r}: the expiry must be in the future and at most 3660d away")
    return Expiry(until=until)


def _end_of_day(text: str) -> datetime | None:
    if not _DATE.fullmatch(text.strip()):
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return day + timedelta(days=1)


def expiry_after(created_at: str, max_age: timedelta) -> str:
    """The ``expires_at`` of a verdict made at ``created_at`` with ``max_age``."""
    created = parse_time(created_at)
    if created is None:
        raise ValueError(f"created_at {created_at!r} is not an RFC 3339 time")
    return format_time(created + max_age)


class HighWaterMarks:
    """Per reference, the newest signed ``created_at`` seen; a bounded LRU, thread-safe."""

    def __init__(self, size: int = MAX_MARKS) -> None:
        if size < 1:
            raise ValueError("HighWaterMarks needs room for at least one reference")
        self._size = size
        self._marks: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._marks)

    def get(self, reference: str) -> datetime | None:
        with self._lock:
            return self._marks.get(reference)

    def raise_to(self, reference: str, moment: datetime) -> datetime:
        """Raise the mark of ``reference`` to ``moment`` (never lower it); return the mark."""
        with self._lock:
            mark = self._marks.get(reference)
            if mark is None or moment > mark:
                mark = moment
            self._marks[reference] = mark
            self._marks.move_to_end(reference)
            while len(self._marks) > self._size:
                self._marks.popitem(last=False)
            return mark


@dataclass(frozen=True)
class Freshness:
    """When a verdict that verified is still trusted: not expired, not older than one seen."""

    default_max_age: timedelta = DEFAULT_MAX_AGE  # for verdicts without a signed expires_at
    marks: HighWaterMarks | None = None  # None: no memory (a one-shot command)
    clock: Callable[[], datetime] = field(default=utc_now_time, compare=False)

    def judge(self, verdict: Verdict, reference: str) -> str:
        """Why ``verdict`` (verified, for ``reference``) is not trusted now; "" when it is."""
        created = parse_time(verdict.created_at)
        if created is None:
            return f"the signed created_at {verdict.created_at[:64]!r} is not an RFC 3339 time"
        if self.marks is not None:
            mark = self.marks.raise_to(reference, created)
            if created < mark:
                return (
                    f"superseded: a newer verdict for this reference, signed at "
                    f"{format_time(mark)}, was seen; this one was signed at {format_time(created)}"
                )
        expires = self.expires(verdict, created)
        if expires is None:
            return f"the signed expires_at {str(verdict.expires_at)[:64]!r} is not an RFC 3339 time"
        if self.clock() >= expires:
            default = format_max_age(self.default_max_age)
            how = "" if verdict.expires_at else f", the default maximum age {default}"
            return (
                f"expired: the verdict expired at {format_time(expires)} (signed at "
                f"{format_time(created)}{how}); vet the model again"
            )
        return ""

    def expires(self, verdict: Verdict, created: datetime) -> datetime | None:
        """The signed ``expires_at``, else ``created`` + the default maximum age."""
        if verdict.expires_at is None:
            return created + self.default_max_age
        return parse_time(verdict.expires_at)

    def observe(self, verdict: Verdict) -> None:
        """Raise the mark of the verdict's (signed) reference to its signed ``created_at``."""
        created = parse_time(verdict.created_at)
        if self.marks is not None and created is not None:
            self.marks.raise_to(verdict.reference, created)

"""Paging backwards through a Pinning Service API listing, by ``created``, exactly once.

The spec pages with ``before=<time>`` (exclusive) set to the oldest ``created``
seen. Taken literally that skips pins: when a page ends part-way through a group
of pins that share one ``created`` (services print whole seconds, or
milliseconds, and bulk pins share them), ``before=<that time>`` excludes the
rest of the group. So :class:`PageWalk`:

1. asks for ``before=`` the oldest ``created`` **plus one unit of the precision
   it was printed with** (1 s for ``…:28Z``, 1 ms for ``…:28.123Z``, at least
   1 µs): the next page starts with the whole boundary group again, including
   the pins a coarser printed time hides;
2. drops, by ``requestid``, what it already yielded in that overlap (it keeps
   the ids of the pins created at or after the oldest time seen, until the
   walk moves past them: memory is bounded by the size of the boundary group);
3. when a whole full page lies inside the overlap (more pins share one time
   than a page holds), it asks again with the largest page the spec allows,
   :data:`MAX_PAGE_SIZE`; if even that is all one group, it stops with
   :class:`~.errors.SourceError` rather than skip pins silently.

A listing ends on an empty page, when ``count`` (the pins matching the query,
the overlap included) says this page holds the rest, or, if the service sends
no ``count``, on a page shorter than asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from .errors import SourceError

__all__ = [
    "MAX_PAGE_SIZE",
    "Created",
    "PageWalk",
    "after_bound",
    "before_bound",
    "format_time",
    "parse_created",
]

#: The largest ``limit`` the spec allows.
MAX_PAGE_SIZE: Final = 1000
_MICROSECOND: Final = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Created:
    """A ``created`` time as a service printed it."""

    text: str
    #: The time, in UTC, to the microsecond (finer digits are dropped).
    at: datetime
    #: One unit of the precision it was printed with (at least 1 µs).
    unit: timedelta


def parse_created(text: str) -> Created:
    """Read an RFC 3339 time (``Z`` or an offset; UTC if neither); ValueError if it is none."""
    value = text.strip()
    at = _utc(datetime.fromisoformat(value))
    # The digits after the seconds' decimal point, if any, fix the unit.
    time_part = value.partition("T")[2] or value.partition(" ")[2]
    digits = 0
    if "." in time_part:
        fraction = time_part.partition(".")[2]
        digits = len(fraction) - len(fraction.lstrip("0123456789"))
    unit = timedelta(seconds=1) / math.pow(10, min(digits, 6)) if digits else timedelta(seconds=1)
    return Created(text, at, max(unit, _MICROSECOND))


def before_bound(value: datetime | str | None) -> datetime | None:
    """The exclusive ``before`` that lists every pin printed as created at or before ``value``.

    A service truncates what it prints, so a pin printed as ``…:28Z`` may have
    been created up to one printed unit later.
    """
    if value is None:
        return None
    if isinstance(value, str):
        created = parse_created(value)
        return created.at + created.unit
    return _utc(value) + _MICROSECOND


def after_bound(value: datetime | str | None) -> datetime | None:
    """The exclusive ``after`` that lists every pin printed as created at or after ``value``."""
    if value is None:
        return None
    at = parse_created(value).at if isinstance(value, str) else _utc(value)
    return at - _MICROSECOND


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_time(at: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, microseconds only when there are some."""
    at = at.astimezone(UTC)
    spec = "microseconds" if at.microsecond else "seconds"
    return at.isoformat(timespec=spec).replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Listed:
    """What the walk needs of one ``PinStatus``."""

    requestid: str
    created: Created


class PageWalk:
    """The ``before``/``limit`` of each request, and which results of a page are new.

    ``before`` starts the walk at pins created before that time (exclusive, as the
    spec says; None: the newest). ``source`` names the listing in errors.
    """

    def __init__(self, *, page_size: int, before: datetime | None, source: str) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}")
        #: The next request's ``before`` (None: no bound).
        self.before = before
        #: The next request's ``limit``.
        self.limit = page_size
        #: True once the listing has been read to the end.
        self.done = False
        self._source = source
        #: requestid -> created, for the pins the next request may return again.
        self._overlap: dict[str, datetime] = {}

    def take(self, page: Sequence[Listed], count: int | None) -> list[int]:
        """Record one page (in the order served); the indexes of its pins not seen before."""
        if not page:
            self.done = True
            return []
        fresh = [i for i, pin in enumerate(page) if pin.requestid not in self._overlap]
        for pin in page:
            self._overlap[pin.requestid] = pin.created.at
        oldest = min(pin.created.at for pin in page)
        # The coarsest unit on the page: a wider overlap costs a few repeats,
        # which the requestids remove; a narrower one could skip pins.
        unit = max(pin.created.unit for pin in page)
        bound = oldest + unit
        if self.before is None or bound < self.before:
            self.before = bound
            self._overlap = {rid: at for rid, at in self._overlap.items() if at < bound}
            self.done = count <= len(page) if count is not None else len(page) < self.limit
        elif len(page) < self.limit:
            # No step back, but the service had nothing more before this bound.
            self.done = True
        elif self.limit < MAX_PAGE_SIZE:
            # A full page inside one boundary group: look at it whole.
            self.limit = MAX_PAGE_SIZE
        else:
            raise SourceError(
                f"{self._source}: more than {self.limit} pins share created times between "
                f"{format_time(oldest)} and {format_time(bound)}; the Pinning Service API "
                "cannot page past them without skipping some"
            )
        return fresh

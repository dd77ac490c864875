"""The counters every run over CIDs keeps (``pin``, ``verify``): taken, in flight, done, by outcome.

:class:`CidCounters` is the common part of :class:`~bulkpin.migrate.PinAccounting`
and :class:`~bulkpin.verify.VerifyAccounting`: the listing takes CIDs (and
meets bad lines), workers take and let go of them, and each ends once with an
outcome. What a run adds (jobs, bytes, files changed on disk) and its
snapshot are its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .snapshot import RunKind, Snapshot

__all__ = ["CidCounters"]

E = TypeVar("E")


class CidCounters(Generic[E]):
    """Counters for one run; ``emit`` is told of bad lines and outcomes (events ``E``)."""

    def __init__(self, emit: Callable[[E], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._emit: Callable[[E], None] = emit or (lambda event: None)
        self._clock = clock
        self.started = clock()
        self.listing_done = False
        self.found = 0
        self.finished = 0
        self.in_flight = 0
        self.outcomes: dict[str, int] = {}
        self.bad_lines = 0
        #: a stop was asked: the display says so (as a push's does)
        self.stopping = False

    def stop_asked(self) -> None:
        """The run was asked to stop: nothing new starts."""
        self.stopping = True

    def take(self) -> None:
        """The listing took a CID."""
        self.found += 1

    def bad_line(self, event: E) -> None:
        """The listing met an entry that is no CID."""
        self.bad_lines += 1
        self._emit(event)

    def begin(self) -> None:
        """A worker took a CID."""
        self.in_flight += 1

    def end(self) -> None:
        """The worker let go of it."""
        self.in_flight -= 1

    def finish(self, outcome: str, event: E) -> None:
        """A CID is done with: count its ``outcome`` and tell ``event``."""
        self.finished += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self._emit(event)

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return self._clock() - self.started

    def rate(self, elapsed: float) -> float:
        """CIDs done per second over ``elapsed`` seconds."""
        return self.finished / elapsed if elapsed > 0 else 0.0

    def snapshot_of(self, kind: RunKind, outcomes: tuple[str, ...], **fields: Any) -> Snapshot:
        """A snapshot of these counters: ``outcomes`` (and bad lines) are the kind's own
        counts (a ``-`` in an outcome's name is a ``_`` in the count's), ``fields`` the rest."""
        elapsed = self.elapsed()
        counts = {name.replace("-", "_"): self.outcomes.get(name, 0) for name in outcomes}
        counts.update(fields.pop("counts", {}), bad_lines=self.bad_lines)
        return Snapshot(
            kind=kind, elapsed=elapsed, source_done=self.listing_done, found=self.found,
            done=self.finished, in_flight=self.in_flight, items_rate=self.rate(elapsed),
            stopping=self.stopping, counts=counts, **fields,
        )

"""One accounting object for a verification: every counter the display and summary show.

The stages report each CID once (:meth:`VerifyAccounting.done`); renderers
read only :meth:`~VerifyAccounting.snapshot`. What it shares with ``pin``'s
is :class:`~bulkpin.core.cid_counters.CidCounters`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..core.cid_counters import CidCounters
from ..core.snapshot import Snapshot
from ._events import ChangedEvent, CidEvent, VerifyEvent
from ._outcomes import Retrievable

__all__ = ["VerifyAccounting"]


class VerifyAccounting(CidCounters[VerifyEvent]):
    """Counters for one run."""

    def __init__(self, emit: Callable[[VerifyEvent], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(emit, clock)
        self.changed = 0
        #: Block bytes received from gateways.
        self.bytes = 0

    def changed_file(self, event: ChangedEvent) -> None:
        """A pushed file is no longer what was pushed."""
        self.changed += 1
        self._emit(event)

    def done(self, event: CidEvent) -> None:
        """A CID is done with: its result."""
        if isinstance(event.outcome, Retrievable):
            self.bytes += event.outcome.bytes
        self.finish(event.result, event)

    def snapshot(self) -> Snapshot:
        """Everything at once (block bytes received are its own count, ``bytes``)."""
        return self.snapshot_of(
            "verify", ("retrievable", "incomplete", "corrupt", "wrong-size", "unreachable",
                       "proven"), counts={"changed": self.changed, "bytes": self.bytes},
        )

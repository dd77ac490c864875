"""What a ``pin`` run tells its caller while it runs: the ``on_event`` callback's types.

Notices are ``push``'s :class:`~bulkpin.core.events.NoticeEvent`; the rest is
about CIDs rather than files and bytes, so it has types of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core.events import NoticeEvent

__all__ = [
    "BadLineEvent", "MigrateEvent", "NoticeEvent", "PinEvent", "PinOutcome", "PinProgress",
    "PinSnapshot",
]

#: What became of one CID in the request stage:
#: ``requested`` (pinByHash accepted), ``recovered`` (an earlier run's request
#: had made a job), ``held`` (the account already holds it or has a job for it:
#: no request), ``unchanged`` (the journal has it pinned), ``failed``,
#: ``planned`` (a dry run would request it).
PinOutcome = Literal["requested", "recovered", "held", "unchanged", "failed", "planned"]


@dataclass(frozen=True, slots=True)
class PinEvent:
    """A CID reached an outcome."""

    cid: str
    outcome: PinOutcome
    name: str | None = None
    origin: str = ""
    job_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class BadLineEvent:
    """A source entry that is no CID: reported, and the run goes on."""

    origin: str
    line: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class PinSnapshot:
    """The state of a run at one instant."""

    elapsed: float
    listing_done: bool
    #: CIDs taken from the source (this shard's, each once)
    found: int
    #: ... of which the request stage is done with
    done: int
    in_flight: int
    requested: int
    recovered: int
    held: int
    unchanged: int
    #: CIDs the journal calls pinned (requested earlier runs' included)
    pinned: int
    failed: int
    bad_lines: int
    retries: int
    waiting_jobs: int
    #: CIDs done per second since the start
    rate: float
    #: of the waiting jobs, those failed that the service may still retry, and the
    #: seconds before the first of them is given up on (--wait-timeout)
    failing_jobs: int = 0
    gives_up_in: float | None = None


@dataclass(frozen=True, slots=True)
class PinProgress:
    """A periodic snapshot of the run's counters."""

    snapshot: PinSnapshot


MigrateEvent = PinEvent | BadLineEvent | PinProgress | NoticeEvent

"""What a verification tells its caller while it runs: the ``on_event`` callback's types.

Notices and bad lines are push's and pin's own
(:class:`~bulkpin.core.events.NoticeEvent`, :class:`~bulkpin.migrate.events.BadLineEvent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core.events import NoticeEvent
from ..migrate.events import BadLineEvent
from ._journal import OutcomeName
from ._outcomes import Outcome

__all__ = [
    "BadLineEvent", "ChangedEvent", "CidEvent", "NoticeEvent", "VerifyEvent", "VerifyProgress",
    "VerifySnapshot",
]


@dataclass(frozen=True, slots=True)
class CidEvent:
    """A CID is done with: checked now (``outcome`` set), or ``proven`` by an earlier run."""

    cid: str
    name: str
    result: OutcomeName | Literal["proven"]
    #: What the gateways showed (None for ``proven``).
    outcome: Outcome | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChangedEvent:
    """A pushed file's content on disk differs from what was pushed (``disk`` None: gone)."""

    name: str
    pushed: str
    disk: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class VerifySnapshot:
    """The state of a run at one instant."""

    elapsed: float
    listing_done: bool
    #: CIDs taken from the input (sampled, each once)
    found: int
    #: ... of which done: checked now, or proven by an earlier run
    done: int
    in_flight: int
    retrievable: int
    incomplete: int
    corrupt: int
    wrong_size: int
    unreachable: int
    #: proven retrievable by an earlier run: not checked again
    proven: int
    changed: int
    bad_lines: int
    #: block bytes received from gateways
    bytes: int
    #: CIDs done per second since the start
    rate: float


@dataclass(frozen=True, slots=True)
class VerifyProgress:
    """A periodic snapshot of the run's counters."""

    snapshot: VerifySnapshot


VerifyEvent = CidEvent | ChangedEvent | BadLineEvent | VerifyProgress | NoticeEvent

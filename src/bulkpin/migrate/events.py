"""What a ``pin`` run tells its caller while it runs: the ``on_event`` callback's types.

Notices and progress are every run's (:mod:`bulkpin.core.events`; a snapshot is a
:class:`~bulkpin.core.snapshot.Snapshot` of kind ``pin``); a CID's outcome and a
bad line are ``pin``'s own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core.events import NoticeEvent, ProgressEvent

__all__ = ["BadLineEvent", "MigrateEvent", "NoticeEvent", "PinEvent", "PinOutcome",
           "ProgressEvent"]

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


MigrateEvent = PinEvent | BadLineEvent | ProgressEvent | NoticeEvent

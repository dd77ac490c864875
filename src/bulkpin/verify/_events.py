"""What a verification tells its caller while it runs: the ``on_event`` callback's types.

Notices and progress are every run's (:mod:`bulkpin.core.events`; a snapshot is a
:class:`~bulkpin.core.snapshot.Snapshot` of kind ``verify``), bad lines are
pin's (:class:`~bulkpin.migrate.events.BadLineEvent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core.events import NoticeEvent, ProgressEvent
from ..migrate.events import BadLineEvent
from ._journal import OutcomeName
from ._outcomes import Outcome

__all__ = ["BadLineEvent", "ChangedEvent", "CidEvent", "NoticeEvent", "ProgressEvent",
           "VerifyEvent"]


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


VerifyEvent = CidEvent | ChangedEvent | BadLineEvent | ProgressEvent | NoticeEvent

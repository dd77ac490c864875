"""What a run tells its caller while it runs: the ``on_event`` callback's argument types.

:class:`ProgressEvent` and :class:`NoticeEvent` are every kind's; :class:`FileEvent`
is push's (``pin`` and ``verify`` add their own per-item events).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .snapshot import Snapshot, Transfer

__all__ = [
    "FileEvent", "FileOutcome", "NoticeEvent", "ProgressEvent", "PushEvent", "Snapshot",
    "Transfer",
]

FileOutcome = Literal[
    "uploaded", "pinned", "unchanged", "held", "deduplicated", "recovered", "failed", "skipped",
    "hashed", "gone",
]


@dataclass(frozen=True, slots=True)
class FileEvent:
    """A file reached an outcome (``hashed`` is the outcome of a dry run)."""

    path: str
    outcome: FileOutcome
    size: int
    cid: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """A periodic snapshot of the run's counters (every kind of run sends these)."""

    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class NoticeEvent:
    """Something the user should read once (which service is used, how to resume...)."""

    message: str
    level: Literal["info", "warning"] = "info"


PushEvent = FileEvent | ProgressEvent | NoticeEvent

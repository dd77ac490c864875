"""What a push tells its caller while it runs: the ``on_event`` callback's argument types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .accounting import Snapshot

FileOutcome = Literal[
    "uploaded", "pinned", "unchanged", "deduplicated", "recovered", "failed", "skipped", "hashed"
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
    """A periodic snapshot of the run's counters."""

    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class NoticeEvent:
    """Something the user should read once (which service is used, how to resume...)."""

    message: str
    level: Literal["info", "warning"] = "info"


PushEvent = FileEvent | ProgressEvent | NoticeEvent

"""What a push tells its caller while it runs: the ``on_event`` callback's argument types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FileEvent", "FileOutcome", "NoticeEvent", "ProgressEvent", "PushEvent", "Snapshot",
    "Transfer",
]

FileOutcome = Literal[
    "uploaded", "pinned", "unchanged", "held", "deduplicated", "recovered", "failed", "skipped",
    "hashed", "gone",
]


@dataclass(frozen=True, slots=True)
class Transfer:
    """One upload in flight: the file's display name, its size, its bytes sent so far."""

    name: str
    size: int
    sent: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of a run at one instant.

    ``bytes_done`` counts the files done (sent, held, unchanged, failed...);
    ``bytes_moving`` the bytes sent so far of the files still in flight, so the
    two together move while a large file is sent.
    """

    elapsed: float
    walk_done: bool
    files_found: int
    bytes_found: int
    files_done: int
    bytes_done: int
    bytes_sent: int
    in_flight: int
    uploaded: int
    pinned: int
    unchanged: int
    #: files whose content the account already held (or had a job for)
    held: int
    deduplicated: int
    failed: int
    skipped: int
    #: files deleted before they could be pinned
    gone: int
    retries: int
    waiting_jobs: int
    rate: float  # bytes sent per second, smoothed (core.rate.RATE_TIME_CONSTANT)
    files_rate: float  # files done per second since the start
    bytes_moving: int = 0
    #: the largest uploads in flight (at most accounting.TRANSFERS_SHOWN), largest first
    transfers: tuple[Transfer, ...] = ()
    #: a stop was asked: nothing new starts, the walk is no longer walking
    stopping: bool = False
    #: a dry run's files that a real run would send, and their bytes
    would_send: int = 0
    would_send_bytes: int = 0
    #: of the waiting jobs, those failed that the service may still retry, and the
    #: seconds before the first of them is given up on (--wait-timeout)
    failing_jobs: int = 0
    gives_up_in: float | None = None

    @property
    def bytes_progress(self) -> int:
        """Bytes of the files found that are done or sent so far."""
        return self.bytes_done + self.bytes_moving

    @property
    def eta(self) -> float | None:
        """Seconds until every byte found is sent, if the rate holds.

        None while the walk runs: the total is not known, and an ETA to the
        end of what was found so far would read as the end of the run.
        """
        left = self.bytes_found - self.bytes_progress
        if not self.walk_done or self.rate <= 0 or left <= 0:
            return None
        return left / self.rate


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

"""The push pipeline's exceptions, and how each ends a run.

::

    PushError
     └── RunAborted        the run cannot go on; ``exit_status`` says how it ends
    JournalError           the journal cannot be opened or written (exit 2; bulkpin.journal)
     └── JournalLocked     another run holds it

Errors of one item (a file that cannot be read, a request the service
refuses) are not exceptions here: they are recorded in the journal as that
item's outcome and the run goes on. What becomes of a service error is decided
by :func:`bulkpin.client.classify_item`, not in this package.
"""

from __future__ import annotations

from ..client import DecooError
from ..exit_status import ExitStatus
from ..journal.errors import JournalError, JournalLocked, is_damage

__all__ = [
    "ExitStatus", "JournalError", "JournalLocked", "PushError", "RunAborted", "ending",
    "is_damage",
    "reason_of",
]


class PushError(Exception):
    """Base of the errors that end a push early."""


class RunAborted(PushError):
    """The run cannot go on; ``exit_status`` says how the CLI should end."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = ExitStatus(exit_status)


def reason_of(exc: BaseException) -> str:
    """The few words that say why an item failed, for its journal row and manifest."""
    if isinstance(exc, DecooError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def ending(*, aborted: RunAborted | None, stopped: bool, poll_timed_out: bool,
           wait_timeout: float, failures: str | None,
           source_failed: str | None = None) -> tuple[ExitStatus, str]:
    """How a run ended, the same for every source and mover: its exit status and why.

    In order: an abort (its own status), a source that failed part-way
    (``source_failed``: resumable), a stop, jobs that never became final,
    items that failed (``failures`` says how many of what), else done.
    """
    if aborted is not None:
        return aborted.exit_status, str(aborted)
    if source_failed is not None:
        return ExitStatus.INTERRUPTED, source_failed
    if stopped:
        return ExitStatus.INTERRUPTED, "interrupted"
    if poll_timed_out:
        return ExitStatus.INTERRUPTED, (
            f"jobs still not final after waiting {wait_timeout:g} s with no progress"
        )
    if failures:
        return ExitStatus.FAILED, failures
    return ExitStatus.OK, "done"

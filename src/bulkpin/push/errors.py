"""The push pipeline's exceptions, and how each ends a run.

::

    PushError
     ├── RunAborted        the run cannot go on; ``exit_status`` says how it ends
     └── JournalError      the journal cannot be opened or written (exit 2)
          └── JournalLocked   another run holds it

Errors of one item (a file that cannot be read, a request the service
refuses) are not exceptions here: they are recorded in the journal as that
item's outcome and the run goes on. What becomes of a service error is decided
by :func:`bulkpin.client.classify_item`, not in this package.
"""

from __future__ import annotations

from ..client import DecooError
from ..exit_status import ExitStatus

__all__ = [
    "ExitStatus", "JournalError", "JournalLocked", "PushError", "RunAborted", "reason_of",
]


class PushError(Exception):
    """Base of the errors that end a push early."""


class RunAborted(PushError):
    """The run cannot go on; ``exit_status`` says how the CLI should end."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = ExitStatus(exit_status)


class JournalError(PushError):
    """The journal cannot be opened or written (locked, corrupt, disk full...)."""


class JournalLocked(JournalError):
    """Another run holds the journal."""


def reason_of(exc: BaseException) -> str:
    """The few words that say why an item failed, for its journal row and manifest."""
    if isinstance(exc, DecooError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)

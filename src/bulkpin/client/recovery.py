"""Lost-answer recovery: before sending a request again, ask whether the last one worked.

A ``pinFile`` or ``pinByHash`` request whose answer was lost after the whole
request went out (the connection broke, the answer was not JSON, a 2xx carried
an error) may have created a pin job. Sending it again blindly would make a
second job. So between attempts, :class:`LostAnswer` asks
``pinJobs?pin-hash=<cid>``; an existing ``queued``, ``pinning`` or ``pinned``
job is taken as the answer. Only when the service cannot be asked either does
the operation end with :class:`~.errors.OutcomeUnknown`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from .errors import DecooError, HTTPStatusError, InvalidResponse, OutcomeUnknown, TransportError
from .models import PinJob
from .redact import redact

__all__ = ["FindJob", "LostAnswer", "outcome_unknown"]

log = logging.getLogger(__name__)

#: Looks a CID up with ``pinJobs``: its newest active job, or None.
FindJob = Callable[[str], Awaitable[PinJob | None]]


def outcome_unknown(exc: DecooError, request_complete: bool) -> bool:
    """Whether the service may have acted on a request that failed with ``exc``."""
    if isinstance(exc, TransportError):
        return exc.request_sent and request_complete
    if isinstance(exc, HTTPStatusError) and exc.http_status is not None:
        # An error in the body of a 2xx answer: the service may have done the work.
        return 200 <= exc.http_status < 300
    # A 2xx answer that could not be read: the work was done.
    return isinstance(exc, InvalidResponse) and exc.status is not None and 200 <= exc.status < 300


class LostAnswer:
    """One operation's memory across its attempts: was the last outcome unknown?

    The operation reports each failed attempt with :meth:`failed`; before the
    next attempt, :meth:`recover` returns the job the lost request made, if any.
    """

    def __init__(self, operation: str, find_job: FindJob) -> None:
        self.operation = operation
        self._find_job = find_job
        self._unknown = False

    def failed(self, exc: DecooError, *, request_complete: bool) -> None:
        """An attempt failed with ``exc``; ``request_complete`` if its body went out whole."""
        self._unknown = outcome_unknown(exc, request_complete)

    async def recover(self, cid: str | None) -> PinJob | None:
        """The job the last, lost, request created; None to send it (again).

        Asks the service only after an unknown outcome, and once per such outcome.
        Raises :class:`~.errors.OutcomeUnknown` if the service cannot be asked.
        """
        if not self._unknown:
            return None
        self._unknown = False
        if cid is None:  # a streamed upload that failed before its CID was known
            return None
        try:
            job = await self._find_job(cid)
        except DecooError as exc:
            raise OutcomeUnknown(
                f"the answer was lost and the service could not be asked whether {cid} "
                f"was pinned ({redact(str(exc))}); uploading again is harmless",
                operation=self.operation,
                cid=cid,
            ) from None
        if job is None:
            log.debug("%s: answer lost and %s has no job; sending again", self.operation, cid)
        else:
            log.debug(
                "%s: answer lost, but %s already has job %s (%s)",
                self.operation,
                cid,
                job.id,
                job.status,
            )
        return job

"""One ``pinFile`` call across its attempts: a fresh body each time, recovery in between.

:meth:`~.client.DecooClient.pin_file` runs :meth:`PinFileAttempts.before` and
:meth:`PinFileAttempts.send` under its retry policy. What the attempts share
lives here: the :class:`~.multipart.MultipartUpload` they draw bodies from, the
Endpoint the last one went to, and the :class:`~.recovery.LostAnswer` that
turns a lost answer into a ``pinJobs`` lookup instead of a second upload.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from .errors import DecooError, PinHashMismatch
from .models import Endpoint, JobStatus, PinResult
from .multipart import MultipartUpload, UploadBody
from .recovery import LostAnswer
from .retry import Attempt
from .tokens import AccessToken

__all__ = ["OPERATION", "PinFileAttempts", "SendBody", "check_pin_hash"]

OPERATION = "pinFile"

#: Sends one body to an Endpoint; the answer's ``(PinHash, PinSize, PinDate)``.
SendBody = Callable[
    [Endpoint, AccessToken, UploadBody], Awaitable[tuple[str, int | None, datetime | None]]
]


class PinFileAttempts:
    """What one upload call shares between its attempts, whatever its bytes are read from.

    ``upload`` opens a fresh body per attempt and knows the CID sent.
    """

    def __init__(self, upload: MultipartUpload, send_body: SendBody, lost: LostAnswer) -> None:
        self.upload = upload
        self._send_body = send_body
        self._lost = lost
        #: The Endpoint the last attempt went to: a recovered answer names it.
        self._endpoint_url = ""

    async def before(self, state: Attempt) -> PinResult | None:
        """Before an attempt: the answer a lost upload left, found with ``pinJobs``."""
        upload = self.upload
        job = await self._lost.recover(upload.known_cid)
        if job is None:
            return None
        if upload.on_progress is not None and upload.size:
            upload.on_progress(upload.size)  # the failed attempt was rewound
        return self._result(self._endpoint_url, state.number, recovered=True,
                            job_id=job.id, job_status=job.status)

    async def send(self, state: Attempt, endpoint: Endpoint, token: AccessToken) -> PinResult:
        """One attempt: a fresh body to ``endpoint``; a failure rewinds its progress."""
        body = await self.upload.open()
        self._endpoint_url = endpoint.url
        try:
            pin_hash, service_size, date = await self._send_body(endpoint, token, body)
        except BaseException as exc:
            body.rewind_progress()
            if isinstance(exc, DecooError):
                self._lost.failed(exc, request_complete=body.complete)
            raise
        finally:
            await body.aclose()
        return self._result(
            endpoint.url, state.number, date=date, service_size=service_size, pin_hash=pin_hash
        )

    def _result(self, endpoint: str, attempts: int, *, recovered: bool = False,
                job_id: str | None = None, job_status: JobStatus | None = None,
                date: datetime | None = None, service_size: int | None = None,
                pin_hash: str | None = None) -> PinResult:
        upload = self.upload
        assert upload.known_cid is not None
        return PinResult(
            cid=upload.known_cid, size=upload.size or 0, mtime_ns=upload.mtime_ns or 0,
            profile=upload.profile.name, endpoint=endpoint, attempts=attempts,
            recovered=recovered, job_id=job_id, job_status=job_status, date=date,
            service_size=service_size, pin_hash=pin_hash,
        )


def check_pin_hash(result: PinResult) -> PinResult:
    """``result``, unless the service answered a ``PinHash`` other than the local CID.

    Then it pinned other bytes under this upload (or says so): raises
    :class:`~.errors.PinHashMismatch`, so no caller takes the file as pinned.
    """
    if result.pin_hash is not None and result.pin_hash != result.cid:
        raise PinHashMismatch(result.pin_hash, result.cid, operation=OPERATION)
    return result

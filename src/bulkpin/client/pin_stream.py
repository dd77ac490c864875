"""One streamed ``pinFile`` call across its attempts (:meth:`DecooClient.pin_stream`).

The stream's counterpart of :mod:`.pin_file`: each attempt opens the source
again and draws a fresh :class:`~.stream_body.StreamBody`; between attempts a
lost answer is looked up with ``pinJobs`` (:class:`~.recovery.LostAnswer`)
instead of sending the object a second time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from .errors import DecooError
from .models import Endpoint, PinResult
from .recovery import LostAnswer
from .retry import Attempt
from .stream_body import StreamBody, StreamUpload
from .tokens import AccessToken

__all__ = ["SendStream", "StreamAttempts"]

#: Sends one body to an Endpoint; the answer's ``(PinHash, PinSize, PinDate)``.
SendStream = Callable[
    [Endpoint, AccessToken, StreamBody], Awaitable[tuple[str, int | None, datetime | None]]
]


class StreamAttempts:
    """The state one ``pin_stream`` call shares between its attempts."""

    def __init__(self, upload: StreamUpload, send_body: SendStream, lost: LostAnswer) -> None:
        self.upload = upload
        self._send_body = send_body
        self._lost = lost
        self._endpoint_url = ""

    async def before(self, state: Attempt) -> PinResult | None:
        """Before an attempt: the job a lost upload left, found with ``pinJobs``."""
        job = await self._lost.recover(self.upload.known_cid)
        if job is None:
            return None
        size = self.upload.size
        if self.upload.on_progress is not None and size:
            self.upload.on_progress(size)  # the failed attempt was rewound
        return self._result(self._endpoint_url, state.number, recovered=True,
                            job_id=job.id, job_status=job.status)

    async def send(self, state: Attempt, endpoint: Endpoint, token: AccessToken) -> PinResult:
        """One attempt: the stream from its first byte to ``endpoint``."""
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
        return self._result(endpoint.url, state.number, date=date, service_size=service_size,
                            pin_hash=pin_hash)

    def _result(self, endpoint: str, attempts: int, **fields: Any) -> PinResult:
        upload = self.upload
        assert upload.known_cid is not None
        return PinResult(
            cid=upload.known_cid,
            size=upload.size or 0,
            mtime_ns=0,  # a stream has no modification time; its source has validators
            profile=upload.profile.name,
            endpoint=endpoint,
            attempts=attempts,
            **fields,
        )

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

from .models import Endpoint, PinResult
from .pin_file import Attempts
from .stream_body import StreamBody, StreamUpload
from .tokens import AccessToken

__all__ = ["SendStream", "StreamAttempts"]

#: Sends one body to an Endpoint; the answer's ``(PinHash, PinSize, PinDate)``.
SendStream = Callable[
    [Endpoint, AccessToken, StreamBody], Awaitable[tuple[str, int | None, datetime | None]]
]


class StreamAttempts(Attempts[StreamUpload, StreamBody]):
    """The state one ``pin_stream`` call shares between its attempts."""

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

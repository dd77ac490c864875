"""A remote object's byte stream that survives a broken connection by resuming where it broke.

A GET body can break part-way (a reset, a proxy cutting the answer, a read
timeout); by then the uploader has already hashed and sent the bytes before
the break, so starting over is not possible inside one upload. The reader
instead asks its source to *reopen at the byte it had reached* (S3:
``Range: bytes=N-`` with ``If-Match``; HTTP: ``Range`` with ``If-Range``),
under a precondition that makes the source itself refuse if the object
changed, and carries on. Requests are retried by the sources' own retry
policies; this module only decides that a broken *body* is continued, at most
``max_resumes`` times per object, and never past the listed size.

The end of the object is reported (``b""``) only after it has proved whole:
every listed byte arrived and, if the source has one, the ``confirm`` check
(is the object still the one that was read?) passed. An uploader that sends
the ``cid`` part only after seeing ``b""`` therefore never pins bytes that do
not match the listed object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from .remote import RemoteObject
from .remote_errors import ObjectChanged, SourceUnavailable

__all__ = [
    "DEFAULT_MAX_RESUMES",
    "Body",
    "BodyBroken",
    "Confirm",
    "Reopen",
    "ResumingReader",
    "check_resumed_range",
]

#: Resumes allowed per object before the reader gives up on it.
DEFAULT_MAX_RESUMES: Final = 5


class BodyBroken(Exception):
    """A body's connection failed part-way; raised by :class:`Body` adapters, caught here."""


class Body(Protocol):
    """One GET's body as a source adapts it: a transport failure is a :class:`BodyBroken`."""

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end of this body."""

    def close(self) -> None:
        """Release the connection (an unfinished body's connection is dropped)."""


#: Opens the object again from byte ``offset`` (> 0), or raises a
#: :class:`~.remote_errors.SourceError` (``ObjectChanged`` when the source refuses
#: because the object changed).
Reopen = Callable[[int], Awaitable[Body]]

#: Checks, after the last byte, that the object is still the one read.
Confirm = Callable[[], Awaitable[None]]


class ResumingReader:
    """A :class:`~.remote.RemoteReader` over a first body, resumed through ``reopen``.

    ``size`` is the number of bytes the object must have (None when the source
    does not say; then the body's own end is trusted). ``reopen`` is None when
    the source cannot resume; ``no_resume`` then says why, for the error.
    """

    def __init__(
        self,
        obj: RemoteObject,
        body: Body,
        *,
        size: int | None,
        reopen: Reopen | None,
        confirm: Confirm | None = None,
        max_resumes: int = DEFAULT_MAX_RESUMES,
        no_resume: str = "the source cannot resume a broken body",
    ) -> None:
        if max_resumes < 0:
            raise ValueError("max_resumes must not be negative")
        self._object = obj
        self._body = body
        self._size = size
        self._reopen = reopen
        self._confirm = confirm
        self._max_resumes = max_resumes
        self._no_resume = no_resume
        self._position = 0
        self._finished = False
        self._closed = False
        #: How many times the body was resumed after a break.
        self.resumes = 0

    @property
    def object(self) -> RemoteObject:
        """The object being read."""
        return self._object

    @property
    def position(self) -> int:
        """Bytes handed out so far."""
        return self._position

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` once the whole object was read and confirmed."""
        if n <= 0:
            # read(-1) would buffer a whole object: the one thing a stream must not do.
            raise ValueError("read(n) needs n > 0")
        if self._closed:
            raise RuntimeError("read() on a closed reader")
        if self._finished:
            return b""
        while True:
            want = n if self._size is None else min(n, self._size - self._position)
            if want == 0:
                break
            try:
                chunk = await self._body.read(want)
            except BodyBroken as exc:
                await self._resume(f"the connection broke ({exc})")
                continue
            if chunk:
                self._position += len(chunk)
                return chunk
            if self._size is None:
                break
            await self._resume("the body ended early")
        if self._confirm is not None:
            await self._confirm()
        self._finished = True
        return b""

    async def _resume(self, why: str) -> None:
        url = self._object.url
        where = f"at byte {self._position}" + (
            f" of {self._size}" if self._size is not None else ""
        )
        if self._reopen is None:
            raise SourceUnavailable(f"{url}: {why} {where}; {self._no_resume}",
                                    url=url, resumable=False)
        if self.resumes >= self._max_resumes:
            raise SourceUnavailable(
                f"{url}: {why} {where}, after {self.resumes} resumes", url=url
            )
        self.resumes += 1
        self._body.close()
        self._body = await self._reopen(self._position)

    def close(self) -> None:
        """Release the current body's connection."""
        if not self._closed:
            self._closed = True
            self._body.close()


def check_resumed_range(
    url: str, content_range: str | None, offset: int, size: int | None
) -> None:
    """Raise :class:`ObjectChanged` unless ``Content-Range`` continues at ``offset`` of ``size``.

    A resumed answer that starts elsewhere, or describes an object of another
    size, is not the rest of the bytes already read.
    """
    parsed = _parse_content_range(content_range)
    if parsed is None:
        raise ObjectChanged(
            f"{url}: the resumed answer has no usable Content-Range ({content_range!r})", url=url
        )
    start, total = parsed
    if start != offset or (size is not None and total is not None and total != size):
        raise ObjectChanged(
            f"{url}: resumed at byte {start} of {total}, wanted {offset} of {size}", url=url
        )


def _parse_content_range(value: str | None) -> tuple[int, int | None] | None:
    # "bytes 100-999/1000" or "bytes 100-999/*"
    if value is None:
        return None
    unit, _, rest = value.strip().partition(" ")
    span, _, total = rest.partition("/")
    first, _, _last = span.partition("-")
    if unit.lower() != "bytes":
        return None
    try:
        return int(first), (None if total.strip() == "*" else int(total))
    except ValueError:
        return None

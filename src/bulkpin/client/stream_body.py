"""The ``pinFile`` body read from an async byte stream instead of a file.

An S3 object or an HTTP URL is streamed straight into the multipart body, so
its bytes cross the machine once and never touch its disk. The parts and their
order are :mod:`.multipart`'s (``file``, ``decooMetadata``, ``cid``,
``secret``); what differs is where the file part's bytes come from:

- **a reader**, opened afresh for each attempt by the caller's ``opener`` (an
  async context manager yielding anything with ``read(n)``): a retried upload
  starts the object again from its source, since the bytes already sent are
  gone;
- **the length**: exact ``Content-Length`` when the size is known in advance
  (an S3 listing, an HTTP ``Content-Length``); a chunked request when it is not,
  because a length promised and then missed would corrupt the request;
- **the CID** is always computed from the bytes as they are sent, even when
  the caller already knows it (a small object hashed first): if the two
  disagree, or two attempts read different bytes, or the reader ends short of
  the size promised, the request is abandoned before its ``cid`` part, so
  nothing is pinned under a CID that is not the bytes sent.

The reader runs ahead of the sending by up to :data:`READ_AHEAD` chunks: the
source and the service are two network paths whose speeds wobble
independently, and with one chunk of slack each chunk costs the slower of its
read and its send, while with a few the transfer costs the slower of the two
legs as a whole. Memory is therefore at most :func:`buffer_bytes` (the queued
chunks, the one being read and the one being hashed and sent) plus the
socket's and the reader's buffers, whatever the object's size. Errors raised by
the reader (a source's own classes) are kept in :attr:`StreamBody.error` and
re-raised by the client instead of the connection error aiohttp would make of
them; the source has retried already, so they are not retried per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Final, Protocol

from aiohttp.abc import AbstractStreamWriter

from ..unixfs import DEFAULT_PROFILE, CidProfile, FileBuilder
from .errors import DecooError, FileChangedError, TransportError
from .multipart import (
    DEFAULT_CHUNK_SIZE,
    BodyStream,
    MultipartUpload,
    ProgressCallback,
    Throttle,
)

__all__ = ["MIN_PIECE", "READ_AHEAD", "ByteReader", "ReaderOpener", "StreamBody", "StreamUpload",
           "buffer_bytes"]

#: Chunks read from the source ahead of the one being sent.
READ_AHEAD: Final = 4
#: Bytes handed to a waiting sender without filling a whole chunk (a UnixFS chunk).
MIN_PIECE: Final = 256 * 1024


def buffer_bytes(chunk_size: int = DEFAULT_CHUNK_SIZE, read_ahead: int = READ_AHEAD) -> int:
    """The most chunk bytes one streamed upload holds: queued, being read, being sent."""
    return (read_ahead + 2) * chunk_size


class ByteReader(Protocol):
    """What a body reads from: ``read(n)`` gives up to ``n`` bytes, ``b""`` at the end."""

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` only once the stream is over (and proved whole)."""


#: Opens the stream again, from its first byte, for one attempt.
ReaderOpener = Callable[[], AbstractAsyncContextManager[ByteReader]]


class StreamUpload:
    """One stream's upload, from which each attempt draws a fresh :class:`StreamBody`.

    ``size`` is the number of bytes the stream must have (None: unknown, sent
    chunked). ``filename`` names the file part (the service's fallback name);
    ``name`` goes into ``decooMetadata``. ``cid``, if given, is what the bytes
    must hash to. Up to ``read_ahead`` chunks wait, read, for their turn to be sent.
    """

    def __init__(
        self,
        opener: ReaderOpener,
        *,
        size: int | None,
        filename: str,
        sign: Callable[[str], str],
        secret_length: int,
        cid: str | None = None,
        name: str | None = None,
        profile: CidProfile = DEFAULT_PROFILE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: ProgressCallback | None = None,
        stall_timeout: float | None = None,
        read_ahead: int = READ_AHEAD,
        throttle: Throttle | None = None,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        if read_ahead < 1:
            raise ValueError("read_ahead must be at least 1")
        if size is not None and size < 0:
            raise ValueError("size must not be negative")
        self._opener = opener
        # The parts around the file, their names and lengths, are a file
        # upload's: one definition of the form. Its path only names the part.
        self.parts = MultipartUpload(
            filename or "file", sign=sign, secret_length=secret_length, cid=cid,
            name=name, profile=profile,
        )
        self.profile = profile
        self.cid = cid
        self.chunk_size = chunk_size
        self.read_ahead = read_ahead
        self.on_progress = on_progress
        self.throttle = throttle
        self.stall_timeout = stall_timeout
        #: Bytes the stream has: as promised, or as the first complete attempt read.
        self.size = size
        self.promised = size is not None
        self.attempts = 0
        #: The CID the first complete read computed.
        self.computed_cid: str | None = None

    @property
    def known_cid(self) -> str | None:
        """The CID given, or the one computed by an attempt that read the whole stream."""
        return self.cid if self.cid is not None else self.computed_cid

    async def open(self) -> StreamBody:
        """Open the stream for one attempt; the source's errors propagate as they are."""
        stack = AsyncExitStack()
        try:
            reader = await stack.enter_async_context(self._opener())
        except BaseException:
            await stack.aclose()
            raise
        self.attempts += 1
        return StreamBody(self, reader, stack, self.attempts)

    def check_cid(self, cid: str) -> None:
        """Raise :class:`FileChangedError` unless ``cid`` agrees with earlier knowledge."""
        for earlier, what in ((self.cid, "the CID it was hashed to first"),
                              (self.computed_cid, "what an earlier attempt read")):
            if earlier is not None and cid != earlier:
                raise FileChangedError(
                    f"{self.parts.filename}: the bytes read hash to {cid}, not {earlier}"
                    f" ({what}): the source changed", operation="pinFile",
                )
        self.computed_cid = cid


class StreamBody(BodyStream):
    """One attempt's request body; ``size`` is None (chunked) when the length is unknown.

    :attr:`complete`, :attr:`sent`, :attr:`cid` and :attr:`error` mean what
    they mean on :class:`~.multipart.UploadBody`.
    """

    def __init__(
        self, upload: StreamUpload, reader: ByteReader, stack: AsyncExitStack, attempt: int
    ) -> None:
        self._upload = upload
        self._reader = reader
        self._stack = stack
        self.attempt = attempt
        super().__init__(upload.stall_timeout, on_progress=upload.on_progress,
                         throttle=upload.throttle)
        self._head_bytes = upload.parts._head(self._boundary)
        self._size = (
            len(self._head_bytes) + upload.size + upload.parts._trailer_length(self._boundary)
            if upload.promised and upload.size is not None else None
        )
        self._eof = False
        self._reading: asyncio.Task[None] | None = None

    async def _fill(self, hungry: Callable[[], bool]) -> bytes:
        """The next chunk: up to ``chunk_size`` bytes, ``b""`` at the end of the stream.

        Cut short at :data:`MIN_PIECE` bytes when ``hungry()`` says the sender
        has nothing queued: a slow source then does not keep the service
        waiting for a whole chunk at the start of every object.
        """
        want = self._upload.chunk_size
        least = min(want, MIN_PIECE)
        pieces: list[bytes] = []
        got = 0
        while got < want and not self._eof and not (got >= least and hungry()):
            try:
                piece = await self._reader.read(want - got)
            except (DecooError, asyncio.CancelledError):
                raise
            except Exception as exc:
                # A reader that leaked its transport's error: the source failed,
                # not the connection to the service.
                raise TransportError(f"the source failed: {exc}") from exc
            if not piece:
                self._eof = True
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    async def _read_ahead(self, queue: asyncio.Queue[bytes]) -> None:
        """Fill ``queue`` with chunks, ending with ``b""``; blocks while it is full."""
        while True:
            chunk = await self._fill(queue.empty)
            await queue.put(chunk)
            if not chunk:
                return

    async def _next(self, queue: asyncio.Queue[bytes]) -> bytes:
        """The next chunk read ahead, or the reader's error as soon as it is raised."""
        reading = self._reading
        assert reading is not None
        if queue.empty():
            getting = asyncio.ensure_future(queue.get())
            try:
                await asyncio.wait({getting, reading}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getting.done():
                    # A cancelled get leaves its item in the queue.
                    getting.cancel()
            if getting.done() and not getting.cancelled():
                return getting.result()
            if queue.empty():
                await reading  # it ended with nothing queued: raises the reader's error
                raise AssertionError("the read-ahead ended without its last chunk")
        return queue.get_nowait()

    async def _produce(self, writer: AbstractStreamWriter) -> None:
        upload = self._upload
        builder = FileBuilder(upload.profile)
        loop = asyncio.get_running_loop()
        await self._send(writer, self._head_bytes)
        total = 0
        # The source is read while earlier chunks are hashed (in a thread:
        # hashlib releases the GIL) and sent, at most read_ahead chunks ahead.
        queue: asyncio.Queue[bytes] = asyncio.Queue(upload.read_ahead)
        self._reading = asyncio.ensure_future(self._read_ahead(queue))
        while chunk := await self._next(queue):
            total += len(chunk)
            if upload.promised and upload.size is not None and total > upload.size:
                raise FileChangedError(f"{upload.parts.filename}: more than the {upload.size}"
                                       " bytes listed", operation="pinFile")
            hashing = loop.run_in_executor(None, builder.update, chunk)
            try:
                await self._send_file_bytes(writer, chunk)
            finally:
                await hashing
        await self._reading
        self._reading = None
        if upload.size is not None and total != upload.size:
            raise FileChangedError(
                f"{upload.parts.filename}: {total} bytes read, {upload.size} expected",
                operation="pinFile",
            )
        cid = builder.finish().cid
        upload.check_cid(cid)
        upload.size = total
        self.cid = cid
        parts = upload.parts
        secret = parts._sign(cid)
        trailer = parts._trailer(self._boundary, cid, secret)
        if len(trailer) != parts._trailer_length(self._boundary):
            raise AssertionError("the cid and secret parts differ from the length promised")
        await self._send(writer, trailer)
        self.complete = True

    async def aclose(self) -> None:
        """Stop a read still running, then close the reader. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        reading, self._reading = self._reading, None
        if reading is not None and not reading.done():
            reading.cancel()
        if reading is not None:
            # Waited for, not awaited: its own error (or cancellation) was
            # already reported, or does not matter once the attempt is over.
            await asyncio.wait([reading])
            if not reading.cancelled():
                reading.exception()
        await self._stack.aclose()

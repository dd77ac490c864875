"""A file's bytes handed from the page cache to a plain-TCP request body: ``sendfile(2)``.

A request body written through aiohttp goes file → buffer (a ``read``) →
socket (a ``send``), two copies through this process; ``sendfile(2)`` hands the
kernel the file range instead, and on loopback or a NIC with scatter-gather the
pages go out without either copy. asyncio exposes it as ``loop.sendfile``,
which waits for the transport's buffer to drain, sends, and gives the socket
back to the transport.

Only a transport that owns a plain socket can do this: TLS must encrypt
in this process, and a chunked or compressed aiohttp writer must frame or
transform every byte. :meth:`FileSender.for_writer` answers ``None`` for
those, and :meth:`FileSender.send` answers ``False`` (nothing sent) when the
loop or the file turns out not to support it, so the caller falls back to
writing the bytes itself.

aiohttp's writer counts the bytes that pass through it (``output_size``) and
how many the declared ``Content-Length`` still allows (``length``): bytes sent
around it are added to both, so its bookkeeping stays what it would be had the
bytes gone through ``write``.
"""

from __future__ import annotations

import asyncio
from typing import IO, cast

from aiohttp.abc import AbstractStreamWriter

__all__ = ["FileSender"]


class _Descriptor:
    """An open file as ``loop.sendfile`` uses it: its descriptor, opened for bytes."""

    mode = "rb"

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd


class FileSender:
    """Sends file ranges straight to one writer's socket; see the module docstring."""

    def __init__(self, writer: AbstractStreamWriter, transport: asyncio.Transport) -> None:
        self._writer = writer
        self._transport = transport
        #: False once the loop refused: later ranges go through the writer.
        self.available = True

    @classmethod
    def for_writer(cls, writer: AbstractStreamWriter) -> FileSender | None:
        """A sender for ``writer``, or ``None`` if its bytes cannot bypass it."""
        transport = getattr(writer, "transport", None)
        if not isinstance(transport, asyncio.Transport) or transport.is_closing():
            return None
        if transport.get_extra_info("sslcontext") is not None:
            return None  # TLS: the bytes must be encrypted here
        if transport.get_extra_info("socket") is None:
            return None
        if getattr(writer, "chunked", False) or getattr(writer, "_compress", None) is not None:
            return None  # the writer frames or transforms what it sends
        return cls(writer, transport)

    async def send(self, fd: int, offset: int, count: int) -> int | None:
        """Send ``count`` bytes of the file open as ``fd`` from ``offset``; the number sent.

        ``None`` when sendfile is not available here (nothing was sent): the
        caller writes the bytes itself, and this sender says so from then on.
        Fewer than ``count`` means the file ended early (it shrank).
        """
        if not self.available:
            return None
        if self._transport.is_closing():
            # What aiohttp's own write raises: a connection error, not ours.
            raise ConnectionResetError("the connection closed while the body was sent")
        loop = asyncio.get_running_loop()
        try:
            # The file's offset is moved (asyncio keeps it past what was sent);
            # the upload reads with pread, which ignores it.
            file = cast("IO[bytes]", _Descriptor(fd))
            sent = await loop.sendfile(self._transport, file, offset, count, fallback=False)
        except (asyncio.SendfileNotAvailableError, NotImplementedError, RuntimeError):
            # Not for this loop, transport or file ("fallback is disabled and
            # native sendfile is not supported"); or the socket failed before
            # its first byte, which the writer's own write will then report.
            self.available = False
            return None
        writer = self._writer
        writer.output_size += sent
        if writer.length is not None:
            writer.length = max(writer.length - sent, 0)
        return sent

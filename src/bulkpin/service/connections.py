"""Each listener's connections: a deadline for a request's headers, and a cap on how many.

aiohttp's server has neither. A client sending its headers a byte at a time
kept its connection (and a file descriptor) for as long as it liked, and the
accept loops took connections until the process ran out of descriptors, at
which point no listener could accept, so ``/ping`` went unanswered too.

- **Header deadline**: a request's headers must be complete ``header_timeout``
  seconds after the connection opens, or after the first byte of a later
  request on a kept-alive connection; otherwise the connection is closed (with
  a 408 if some of the request came). An idle kept-alive connection is
  aiohttp's ``keepalive_timeout``'s to close.
- **Cap**: each listener holds at most ``max_connections`` open. One past that
  is answered at once with a 503 (``Connection: close``, ``Retry-After``) and
  closed, without reading anything. Every listener has its own count, so a
  flood of one Endpoint leaves the Cloud (and ``/ping``) answering.

Bodies have their own rule (a minimum rate): see :mod:`.body_rate`.
"""

from __future__ import annotations

import asyncio
import json
import resource
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from .errors import JsonErrorAppRunner, JsonErrorRequestHandler

#: Descriptors kept for everything but connections: the database, blobs being
#: written, the listening sockets, the interpreter's own.
_RESERVED_FDS = 64
#: Bounds of the default cap per listener.
_MIN_DEFAULT_CAP = 16
_MAX_DEFAULT_CAP = 1024


def default_max_connections(listeners: int) -> int:
    """A cap per listener that keeps every listener's connections within the descriptor limit.

    An Endpoint connection may also hold an upload's temporary blob, so it
    counts twice: ``(RLIMIT_NOFILE - 64) / (1 + 2 * endpoints)``, within 16-1024.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _MAX_DEFAULT_CAP
    endpoints = max(1, listeners - 1)
    share = (soft - _RESERVED_FDS) // (1 + 2 * endpoints)
    return max(_MIN_DEFAULT_CAP, min(_MAX_DEFAULT_CAP, share))


def _raw_answer(status: int, reason: str, message: str, extra: str = "") -> bytes:
    body = json.dumps({"Code": status, "Message": message}, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    )
    return head.encode("ascii") + body


_REFUSAL = _raw_answer(
    503, "Service Unavailable", "too many connections to this listener; try again shortly",
    "Retry-After: 1\r\n",
)
_HEADERS_TOO_SLOW = _raw_answer(
    408, "Request Timeout", "the request's headers did not arrive in time"
)


@dataclass(frozen=True)
class ConnectionLimits:
    """What one listener allows its connections."""

    max_connections: int
    header_timeout: float


@dataclass
class ConnectionCounts:
    """One listener's connections: open now, and refused since it started."""

    open: int = 0
    refused: int = 0
    headers_timed_out: int = 0


class GuardedServer(web.Server):
    """aiohttp's low-level server with :class:`GuardedRequestHandler` connections.

    ``limits`` and ``counts`` are set by :class:`GuardedAppRunner`.
    """

    limits: ConnectionLimits
    counts: ConnectionCounts

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)


class GuardedRequestHandler(JsonErrorRequestHandler):
    """A connection that keeps to its listener's :class:`ConnectionLimits`."""

    def __init__(self, manager: GuardedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        # aiohttp forgets its manager when the connection goes; the count must not.
        self._guard = manager
        self._admitted = False
        self._deadline: asyncio.TimerHandle | None = None
        self._partial = False  # bytes of a request whose headers are not complete

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        counts = self._guard.counts
        if counts.open >= self._guard.limits.max_connections:
            # Answered before anything is read, so a flood costs no parsing; the
            # write is small enough to go out at once, and close() flushes it.
            counts.refused += 1
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(_REFUSAL)
            transport.close()
            return
        self._admitted = True
        counts.open += 1
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._admitted:
            return  # refused: aiohttp never knew of it
        self._admitted = False
        self._guard.counts.open -= 1
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data and self._deadline is None and self._idle():
            # The first bytes of another request on a kept-alive connection.
            self._arm()
        requests = self._request_count
        super().data_received(data)
        if self._request_count != requests:
            self._partial = False
            self._disarm()
        elif data and self._deadline is not None:
            self._partial = True

    def _idle(self) -> bool:
        """Between requests: none being handled, none parsed and waiting."""
        return not self._request_in_progress and not self._messages

    def _arm(self) -> None:
        self._deadline = self._loop.call_later(
            self._guard.limits.header_timeout, self._headers_overdue
        )

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_overdue(self) -> None:
        self._deadline = None
        transport = self.transport
        if transport is None or not self._idle():
            return  # the headers came just in time
        self._guard.counts.headers_timed_out += 1
        if self._partial:
            transport.write(_HEADERS_TOO_SLOW)
        self.force_close()


class GuardedAppRunner(JsonErrorAppRunner):
    """An :class:`~.errors.JsonErrorAppRunner` whose connections keep to ``limits``."""

    def __init__(self, app: web.Application, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.limits = limits
        self.counts = ConnectionCounts()

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # As in JsonErrorAppRunner: aiohttp has no hook for the connection class.
        server.__class__ = GuardedServer
        assert isinstance(server, GuardedServer)
        server.limits = self.limits
        server.counts = self.counts
        return server


__all__ = [
    "ConnectionCounts",
    "ConnectionLimits",
    "GuardedAppRunner",
    "GuardedRequestHandler",
    "GuardedServer",
    "default_max_connections",
]

"""A seeded TCP proxy on loopback, for the faults ``bulkpin serve`` cannot fake from inside.

The service's own ``--faults`` act per request, inside HTTP. This proxy acts on
the byte stream between a client and the service, per connection:

========= ==============================================================
pass      bytes go through untouched
reset     the connection is reset (RST) once ``at`` bytes of the request
          stream went through: a reset at a chosen byte
blackhole the connection is accepted, everything sent is read and dropped,
          nothing ever comes back (no upstream connection is made)
slow      both directions are paced to ``rate`` bytes per second
cut       the answer stream is cut (FIN) after ``at`` bytes: a response
          cut short
========= ==============================================================

Which fault a new connection gets is drawn by one :class:`random.Random`
seeded at construction, one draw per accepted connection, so a run that opens
its connections in the same order meets the same faults.

Two optional HTTP-aware hooks, for tests that need to see or change what is
said rather than how it travels:

- ``tap(chunk)`` receives every chunk of the request stream (to find the
  credentials a client sent, say);
- ``rewrite(request_line, response) -> response`` may replace an answer. The
  proxy then reads each answer as HTTP/1.1 (status line, headers, a
  ``Content-Length`` body; chunked answers pass untouched) and pairs it with
  the last request line seen on the connection, which is right for a client
  that does not pipeline (aiohttp does not).

With ``tls`` it terminates TLS, so the plain-HTTP service can be reached over
HTTPS with a certificate from a test authority.

With no faults set it is a plain relay: an HTTPS front for the plain-HTTP
service, or an Endpoint that can be made to go away (``stop``) while the
service runs on.

The proxy runs its own event loop in a daemon thread, so synchronous and async
tests, benchmarks and subprocesses under test can all use it; ``set_faults`` and the hooks may
be changed while it runs (they apply to new connections and answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import ssl
import struct
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urlsplit

__all__ = [
    "PASS",
    "ChaosProxy",
    "Fault",
    "FaultKind",
    "ProxyStats",
    "Response",
    "Rewrite",
    "Tap",
]

FaultKind = Literal["pass", "reset", "blackhole", "slow", "cut"]

_READ = 64 * 1024
_REQUEST_LINE = re.compile(rb"(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (\S+) HTTP/1\.[01]\r\n")


@dataclass(frozen=True, slots=True)
class Fault:
    """What happens to one connection; ``at`` in bytes, ``rate`` in bytes per second."""

    kind: FaultKind = "pass"
    at: int = 0
    rate: int = 0

    def __post_init__(self) -> None:
        if self.kind == "slow" and self.rate <= 0:
            raise ValueError("a slow link needs a positive rate")
        if self.at < 0:
            raise ValueError("at must not be negative")


PASS = Fault()


@dataclass(slots=True)
class Response:
    """One HTTP/1.1 answer as the rewrite hook sees it."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def with_header(self, name: str, value: str) -> Response:
        """A copy with ``name`` set to ``value`` (replacing any existing one)."""
        kept = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        return replace(self, headers=[*kept, (name, value)])

    def encode(self) -> bytes:
        """The answer on the wire, its ``Content-Length`` made to fit the body."""
        head = [f"HTTP/1.1 {self.status} {self.reason}"]
        head += [f"{k}: {v}" for k, v in self.headers if k.lower() != "content-length"]
        head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


Rewrite = Callable[[str, Response], Response]
Tap = Callable[[bytes], None]


@dataclass
class ProxyStats:
    """What the proxy did: connections by fault, requests, and bytes each way."""

    connections: Counter[str] = field(default_factory=Counter)
    #: Requests seen going through, by ``METHOD /path`` (request lines in the stream).
    requests: Counter[str] = field(default_factory=Counter)
    bytes_up: int = 0
    bytes_down: int = 0
    rewritten: int = 0


class _Reset(Exception):
    """The fault says: reset the connection now."""


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset rather than a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ChaosProxy:
    """Listens on a free loopback port and relays each connection to ``target_url``."""

    def __init__(self, target_url: str, *, seed: int = 0, port: int = 0,
                 rcvbuf: int | None = None, tls: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(target_url)
        assert parts.hostname is not None
        assert parts.port is not None
        self._target = (parts.hostname, parts.port)
        self._rng = random.Random(seed)  # noqa: S311 - replayable faults, not secrets
        self._faults: tuple[tuple[Fault, float], ...] = ()
        self._default = PASS
        self.tap: Tap | None = None
        self.rewrite: Rewrite | None = None
        self.stats = ProxyStats()
        self.port = port
        #: Caps the kernel's receive buffer of accepted connections (autotuning
        #: can buffer tens of MiB on loopback, hiding a slow link from the sender).
        self.rcvbuf = rcvbuf
        #: Terminates TLS with this context (the service behind speaks plain HTTP).
        self.tls = tls
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- configuration (any thread) --

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def set_fault(self, fault: Fault) -> None:
        """Every new connection gets ``fault``."""
        self._faults = ()
        self._default = fault

    def set_faults(self, faults: Sequence[tuple[Fault, float]], default: Fault = PASS) -> None:
        """New connections draw a fault from ``faults`` (with probabilities), else ``default``."""
        if sum(p for _, p in faults) > 1.0 + 1e-9:
            raise ValueError("fault probabilities add up to more than 1")
        self._faults = tuple(faults)
        self._default = default

    def _draw(self) -> Fault:
        if not self._faults:
            return self._default
        draw = self._rng.random()
        for fault, p in self._faults:
            if draw < p:
                return fault
            draw -= p
        return self._default

    # -- lifetime --

    def start(self) -> Self:
        """Start the loop thread and listen; returns once connections are accepted."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                listener = socket.socket()
                if self.rcvbuf is not None:
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
                listener.bind(("127.0.0.1", self.port))
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._accept, sock=listener, ssl=self.tls)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="chaos-proxy", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop listening, cut every connection and end the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        self._loop = self._thread = None

    def drop_connections(self) -> None:
        """Cut every open connection now (new ones are still accepted)."""
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._abort_all(), self._loop).result(30)

    async def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._abort_all()
        # Cut connections end their tasks; cancelling them instead makes asyncio's
        # stream callback log the CancelledError.
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- relaying (loop thread) --

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        fault = self._draw()
        self.stats.connections[fault.kind] += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            if fault.kind == "blackhole":
                while await reader.read(_READ):
                    pass
                return
            try:
                up_reader, upstream = await asyncio.open_connection(*self._target)
            except OSError:
                _rst(writer)
                return
            self._writers.add(upstream)
            conn = _Connection(self, fault, writer, upstream)
            await asyncio.gather(conn.up(reader), conn.down(up_reader))
        except _Reset:
            _rst(writer)
            if upstream is not None:
                _rst(upstream)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._writers.discard(w)
                    w.transport.abort()
            self._tasks.discard(task)


class _Connection:
    """Both directions of one relayed connection."""

    def __init__(self, proxy: ChaosProxy, fault: Fault, client: asyncio.StreamWriter,
                 upstream: asyncio.StreamWriter) -> None:
        self.proxy = proxy
        self.fault = fault
        self.client = client
        self.upstream = upstream
        self.sent_up = 0
        self.sent_down = 0
        self.request_line = ""
        self._carry = b""

    async def _pace(self, n: int) -> None:
        if self.fault.kind == "slow":
            await asyncio.sleep(n / self.fault.rate)

    def _chunk(self) -> int:
        if self.fault.kind == "slow":
            return max(1, min(_READ, self.fault.rate // 20))
        return _READ

    def _see_request(self, data: bytes) -> None:
        window = self._carry + data
        for match in _REQUEST_LINE.finditer(window):
            if match.end() <= len(self._carry):
                continue  # seen with the previous chunk
            self.request_line = match.group(0).decode("latin-1").strip()
            method, target = match.group(1).decode(), match.group(2).decode("latin-1")
            self.proxy.stats.requests[f"{method} {target.partition('?')[0]}"] += 1
        self._carry = window[-256:]
        if self.proxy.tap is not None:
            self.proxy.tap(data)

    async def up(self, reader: asyncio.StreamReader) -> None:
        """Client to service."""
        try:
            while data := await reader.read(self._chunk()):
                reset = self.fault.kind == "reset" and self.sent_up + len(data) >= self.fault.at
                if reset:
                    data = data[: self.fault.at - self.sent_up]
                self._see_request(data)
                if reset:
                    if data:
                        self.upstream.write(data)
                        self.proxy.stats.bytes_up += len(data)
                    raise _Reset
                await self._pace(len(data))
                self.upstream.write(data)
                await self.upstream.drain()
                self.sent_up += len(data)
                self.proxy.stats.bytes_up += len(data)
            if self.upstream.can_write_eof():
                self.upstream.write_eof()
        except (ConnectionError, OSError):
            self.client.transport.abort()
            self.upstream.transport.abort()

    async def down(self, reader: asyncio.StreamReader) -> None:
        """Service to client."""
        try:
            if self.proxy.rewrite is not None:
                await self._down_http(reader)
            else:
                while data := await reader.read(self._chunk()):
                    await self._send_down(data)
            if self.client.can_write_eof():
                self.client.write_eof()
        except _CutShort:
            self.client.close()
            self.upstream.transport.abort()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            self.client.transport.abort()
            self.upstream.transport.abort()

    async def _send_down(self, data: bytes) -> None:
        if self.fault.kind == "cut" and self.sent_down + len(data) >= self.fault.at:
            keep = data[: self.fault.at - self.sent_down]
            self.client.write(keep)
            self.proxy.stats.bytes_down += len(keep)
            await self.client.drain()
            raise _CutShort
        await self._pace(len(data))
        self.client.write(data)
        await self.client.drain()
        self.sent_down += len(data)
        self.proxy.stats.bytes_down += len(data)

    async def _down_http(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    await self._send_down(exc.partial)
                return
            lines = head.decode("latin-1").split("\r\n")
            version_status = lines[0].split(" ", 2)
            headers = [
                (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])
                if k
            ]
            response = Response(int(version_status[1]),
                                version_status[2] if len(version_status) > 2 else "", headers, b"")
            length = response.header("Content-Length")
            if length is None:
                # Chunked or close-delimited: relay untouched.
                await self._send_down(head)
                while data := await reader.read(_READ):
                    await self._send_down(data)
                return
            response.body = await reader.readexactly(int(length))
            hook = self.proxy.rewrite
            if hook is not None:
                changed = hook(self.request_line, response)
                if changed is not response:
                    self.proxy.stats.rewritten += 1
                response = changed
            await self._send_down(response.encode())


class _CutShort(Exception):
    """The fault says: end the answer stream here."""
